"""`template.yaml` read as data: the one source of routes, the table and the functions' environment.

The local stack and the tests take everything from here, so nothing copies the template.
Only the intrinsic functions the template uses are resolved: Ref, Fn::Sub, Fn::If,
Fn::Equals and Fn::GetAtt (resources resolve to the names the caller gives them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
_TAGS = ("Ref", "Condition")
_FN_TAGS = ("Sub", "If", "Equals", "GetAtt", "Join", "Select", "Split", "Not", "And", "Or", "FindInMap", "Base64")
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    function: str
    handler: str


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags turned into their long form."""


def _tag_constructor(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in _TAGS:
    _Loader.add_constructor(f"!{_tag}", _tag_constructor(_tag))
for _tag in _FN_TAGS:
    _Loader.add_constructor(f"!{_tag}", _tag_constructor(f"Fn::{_tag}"))


class Template:
    def __init__(
        self,
        document: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        resource_names: Mapping[str, str] | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.document = document
        declared = document.get("Parameters", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise KeyError(f"template has no parameters {sorted(unknown)}")
        self.parameters.update(parameters or {})
        self._resource_names = dict(resource_names or {})
        self._pseudo = {"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}

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

    def routes(self) -> list[Route]:
        """Every HttpApi event of every function, as API Gateway would route it."""
        routes = []
        for name, spec in self.resources_of_type("AWS::Serverless::Function").items():
            properties = spec["Properties"]
            for event in properties.get("Events", {}).values():
                if event["Type"] == "HttpApi":
                    details = event["Properties"]
                    routes.append(Route(details["Method"].upper(), details["Path"], name, properties["Handler"]))
        return routes

    def function_environment(self, function: str) -> dict[str, str]:
        """Globals' variables overlaid with the function's own, resolved."""
        variables = dict(self._globals().get("Environment", {}).get("Variables", {}))
        own = self.resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        variables.update(own)
        return {name: str(self.resolve(value)) for name, value in variables.items()}

    def resolve(self, value: Any) -> Any:  # noqa: C901, PLR0911 - one branch per intrinsic
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((key, argument),) = value.items()
        if key == "Ref":
            return self._ref(argument)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if key == "Fn::Equals":
            left, right = (str(self.resolve(item)) for item in argument)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::GetAtt":
            resource, attribute = argument
            return f"{self._resource_names.get(resource, resource)}.{attribute}"
        return {key: self.resolve(argument)}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.document["Conditions"][name]))

    def _globals(self) -> Mapping[str, Any]:
        function_globals: Mapping[str, Any] = self.document.get("Globals", {}).get("Function", {})
        return function_globals

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._resource_names:
            return self._resource_names[name]
        raise KeyError(f"cannot resolve Ref {name}: give the resource a name")

    def _sub(self, argument: str | list[Any]) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {name: str(self.resolve(value)) for name, value in variables.items()}
        return _SUB_VARIABLE.sub(lambda match: resolved.get(match[1]) or self._sub_variable(match[1]), text)

    def _sub_variable(self, name: str) -> str:
        """`${Name}` is a Ref, `${Resource.Attribute}` a GetAtt."""
        if "." in name and name not in self.parameters:
            return str(self.resolve({"Fn::GetAtt": name.split(".", 1)}))
        return self._ref(name)
