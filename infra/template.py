"""`template.yaml` read as data: the one source of routes, authorizers, the table and the functions' environment.

Ref and Fn::Sub go through aws-sam-translator's resolver; the conditions are decided here.
Fn::GetAtt has no value before deployment and stays as written.
"""

from __future__ import annotations

import argparse
import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from samtranslator.public.intrinsics import IntrinsicsResolver

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    function: str
    handler: str
    authorizer: str | None = None  # the Lambda authorizer API Gateway runs first (its security scheme)


@dataclass(frozen=True, slots=True)
class Authorizer:
    """A security scheme's `x-amazon-apigateway-authorizer`, as the API's definition declares it."""

    name: str
    function: str | None  # the template's function the authorizerUri names; None for any other
    kind: str
    payload_format_version: str
    simple_responses: bool
    identity_source: tuple[str, ...]  # `$request.header.Cookie`, ...: what API Gateway caches answers on
    ttl_seconds: int


# authorizerUri as `!Sub ...functions/${Function.Arn}/invocations` leaves it before deployment.
_AUTHORIZER_URI = re.compile(r"/functions/\$\{(?P<function>[A-Za-z0-9]+)\.Arn\}/invocations$")


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, ...) read as their long form.

    aws-sam-translator's `yaml_helper` is outside its public API (`samtranslator.public`) and
    registers its tags on PyYAML's shared SafeLoader for the whole process.
    """


def _intrinsic(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        return {name: value.split(".", 1) if tag == "GetAtt" else value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _intrinsic)


class Template:
    def __init__(
        self,
        document: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        resource_names: Mapping[str, str] | None = None,
    ) -> None:
        self.document = document
        declared = document.get("Parameters", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise KeyError(f"template has no parameters {sorted(unknown)}")
        for name, value in (parameters or {}).items():
            allowed = [str(choice) for choice in declared[name].get("AllowedValues", [value])]
            if value not in allowed:  # CloudFormation refuses it too
                raise ValueError(f"parameter {name} must be one of {allowed}, not {value!r}")
        self.parameters.update(parameters or {})
        pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
        self._resolver = IntrinsicsResolver({**pseudo, **(resource_names or {}), **self.parameters})

    @classmethod
    def load(
        cls,
        path: Path = TEMPLATE_PATH,
        parameters: Mapping[str, str] | None = None,
        resource_names: Mapping[str, str] | None = None,
    ) -> Template:
        loader = _Loader(path.read_text(encoding="utf-8"))
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
        return cls(document, parameters, resource_names)

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.document["Resources"]
        return resources

    def resources_of_type(self, kind: str) -> dict[str, Mapping[str, Any]]:
        return {name: spec for name, spec in self.resources.items() if spec["Type"] == kind}

    def api_definition(self) -> Mapping[str, Any]:
        """The HttpApi's DefinitionBody with the template's parameters, its conditions decided."""
        (api,) = self.resources_of_type("AWS::Serverless::HttpApi").values()
        definition: Mapping[str, Any] = self.resolve(api["Properties"].get("DefinitionBody", {}))
        return definition

    def routes(self) -> list[Route]:
        """Every HttpApi event of every function, as API Gateway would route it, with the Lambda
        authorizer its operation in the API's definition requires (`security`), if any."""
        definition = self.api_definition()
        authorizers = self.authorizers(definition)
        routes = []
        for name, spec in self.resources_of_type("AWS::Serverless::Function").items():
            properties = spec["Properties"]
            for event in properties.get("Events", {}).values():
                if event["Type"] == "HttpApi":
                    method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
                    operation = definition.get("paths", {}).get(path, {}).get(method.lower(), {})
                    required = [scheme for requirement in operation.get("security", []) for scheme in requirement]
                    authorizer = next((scheme for scheme in required if scheme in authorizers), None)
                    routes.append(Route(method, path, name, properties["Handler"], authorizer))
        return routes

    def authorizers(self, definition: Mapping[str, Any] | None = None) -> dict[str, Authorizer]:
        """The Lambda authorizers among the API definition's security schemes, by name."""
        schemes = (definition or self.api_definition()).get("components", {}).get("securitySchemes", {})
        authorizers = {}
        for name, scheme in schemes.items():
            declared = scheme.get("x-amazon-apigateway-authorizer")
            if not declared:
                continue
            uri = declared.get("authorizerUri")
            named = _AUTHORIZER_URI.search(uri["Fn::Sub"]) if isinstance(uri, dict) and "Fn::Sub" in uri else None
            sources = declared.get("identitySource", ())
            authorizers[name] = Authorizer(
                name=name,
                function=named["function"] if named else None,
                kind=str(declared.get("type", "")).lower(),
                payload_format_version=str(declared.get("authorizerPayloadFormatVersion", "")),
                simple_responses=declared.get("enableSimpleResponses") is True,
                # The OpenAPI import takes a comma-separated string; the API's own field, a list.
                identity_source=tuple(
                    source.strip() for source in (sources.split(",") if isinstance(sources, str) else sources)
                ),
                ttl_seconds=int(declared.get("authorizerResultTtlInSeconds", 0)),
            )
        return authorizers

    def function_environment(self, function: str) -> dict[str, str]:
        """Globals' variables overlaid with the function's own, resolved."""
        variables = dict(self.function_globals.get("Environment", {}).get("Variables", {}))
        own = self.resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        variables.update(own)
        environment = {name: self.resolve(value) for name, value in variables.items()}
        unresolved = sorted(name for name, value in environment.items() if isinstance(value, dict))
        if unresolved:
            raise KeyError(f"cannot resolve {unresolved} of {function}: give the resources they name a name")
        return {name: str(value) for name, value in environment.items()}

    def resolve(self, value: Any) -> Any:
        # The translator resolves in place, and its Fn::Sub keeps the substituted text wrapped.
        return self._decide(self._resolver.resolve_parameter_refs(copy.deepcopy(value)))

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.document["Conditions"][name]))

    def _decide(self, value: Any) -> Any:
        """What the translator leaves to CloudFormation: conditions, and Fn::Sub's own variables."""
        if isinstance(value, list):
            return [decided for item in value if (decided := self._decide(item)) != _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: decided for key, item in value.items() if (decided := self._decide(item)) != _NO_VALUE}
        ((function, argument),) = value.items()
        if function == "Fn::If":  # only the chosen branch is decided, as CloudFormation does
            condition, when_true, when_false = argument
            return self._decide(when_true if self.condition(condition) else when_false)
        argument = self._decide(argument)
        decide = _DECIDED_ON_DECIDED_ARGUMENTS.get(function)
        return decide(argument) if decide else {function: argument}

    @property
    def function_globals(self) -> Mapping[str, Any]:
        function_globals: Mapping[str, Any] = self.document.get("Globals", {}).get("Function", {})
        return function_globals


def add_parameter_option(parser: argparse.ArgumentParser, about: str) -> None:
    """`--parameter NAME=VALUE`, repeatable: a template parameter, as the commands take one."""

    def parameter(text: str) -> tuple[str, str]:
        name, equals, value = text.partition("=")
        if not equals or not name:
            raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
        return name, value

    parser.add_argument("--parameter", action="append", type=parameter, default=[], metavar="NAME=VALUE", help=about)


def _substituted(argument: str | list[Any]) -> Any:
    """Fn::Sub's text with its own variables in; still wrapped while it names a value known only once deployed."""
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    text = IntrinsicsResolver(variables).resolve_parameter_refs({"Fn::Sub": text})["Fn::Sub"]
    return {"Fn::Sub": text} if "${" in text else text


# What CloudFormation leaves out of the property or list that holds it.
_NO_VALUE = {"Ref": "AWS::NoValue"}
_DECIDED_ON_DECIDED_ARGUMENTS: dict[str, Callable[[Any], Any]] = {
    "Fn::Equals": lambda argument: str(argument[0]) == str(argument[1]),
    "Fn::Split": lambda argument: str(argument[1]).split(str(argument[0])),
    "Fn::Not": lambda argument: not argument[0],
    "Fn::Sub": _substituted,
}
