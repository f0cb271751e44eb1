"""Every example in examples/: another SAM application protecting its routes with this stack's authorizer.

Each `examples/*/template.yaml` is transformed with aws-sam-translator, as `sam deploy` transforms it,
and read as API Gateway and Lambda would get it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform

from infra.template import ROOT, Template

EXAMPLES = sorted((ROOT / "examples").glob("*/template.yaml"))
EXPORT = "${TokenServiceStack}-TokenAuthorizerFunctionArn"
# The header identity sources this stack's authorizer reads a token from (AuthorizerTokenSource).
IDENTITY_SOURCES = (["$request.header.Authorization"], ["$request.header.Cookie"])
# The shortest access-token lifetime the template allows: no cached answer may outlive a token.
SHORTEST_ACCESS_TOKEN_SECONDS = 30
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


@dataclass(frozen=True)
class Example:
    path: Path
    document: dict[str, Any]  # as written
    resources: dict[str, Any]  # as transformed for CloudFormation

    def of_type(self, kind: str) -> dict[str, Any]:
        return {name: resource for name, resource in self.resources.items() if resource["Type"] == kind}


def imports_this_stacks_authorizer(value: object) -> bool:
    return value == {"Fn::ImportValue": {"Fn::Sub": EXPORT}}


def authorizer_function(authorizer: dict[str, Any]) -> object:
    """The function an `x-amazon-apigateway-authorizer` invokes, as SAM writes its authorizerUri."""
    _, variables = authorizer["authorizerUri"]["Fn::Sub"]
    return variables.get("__FunctionArn__")


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda path: path.parent.name)
def example(request: pytest.FixtureRequest) -> Iterator[Example]:
    path: Path = request.param
    written = dict(Template.load(path).document)
    document = {**written, "Resources": {name: dict(resource) for name, resource in written["Resources"].items()}}
    for name, resource in document["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            # `sam deploy` uploads CodeUri first; the transform takes the S3 location it then holds.
            resource["Properties"] = {**resource["Properties"], "CodeUri": f"s3://bucket/{name}.zip"}
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
        transformed = transform(document, {}, NoManagedPolicies())
    yield Example(path, written, transformed["Resources"])


def test_there_is_an_example() -> None:
    assert EXAMPLES, "examples/*/template.yaml"


def test_cfn_lint_finds_nothing(example: Example) -> None:
    # The checks `sam validate --lint` runs on this stack's own template.
    assert [str(match) for match in lint_file(example.path)] == []


def test_each_route_runs_this_stacks_exported_authorizer_first(example: Example) -> None:
    apis = example.of_type("AWS::ApiGatewayV2::Api")
    assert apis
    for api in apis.values():
        body = api["Properties"]["Body"]
        schemes = body["components"]["securitySchemes"]
        ours = {
            name: scheme["x-amazon-apigateway-authorizer"]
            for name, scheme in schemes.items()
            if imports_this_stacks_authorizer(authorizer_function(scheme["x-amazon-apigateway-authorizer"]))
        }
        assert ours, "no security scheme runs the imported TokenAuthorizerFunctionArn"
        for authorizer in ours.values():
            assert authorizer["type"] == "request"
            assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
            assert authorizer["enableSimpleResponses"] is True
            assert authorizer["identitySource"] in IDENTITY_SOURCES
            assert 0 <= authorizer["authorizerResultTtlInSeconds"] <= SHORTEST_ACCESS_TOKEN_SECONDS
        routes = {
            (path, method): operation
            for path, operations in body["paths"].items()
            for method, operation in operations.items()
            if method in HTTP_METHODS
        }
        assert routes
        for route, operation in routes.items():
            assert operation.get("security") in [[{name: []}] for name in ours], route


def test_api_gateway_may_invoke_the_authorizer_for_the_examples_own_api_only(example: Example) -> None:
    permissions = [resource["Properties"] for resource in example.of_type("AWS::Lambda::Permission").values()]
    for_authorizer = [
        permission for permission in permissions if imports_this_stacks_authorizer(permission["FunctionName"])
    ]

    assert for_authorizer
    apis = set()
    for permission in for_authorizer:
        assert (permission["Action"], permission["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        source, variables = permission["SourceArn"]["Fn::Sub"]
        assert source.endswith(":${__ApiId__}/authorizers/*")
        apis.add(variables["__ApiId__"]["Ref"])
    assert apis == set(example.of_type("AWS::ApiGatewayV2::Api"))


def test_each_function_answers_a_request_the_authorizer_allowed(example: Example) -> None:
    functions = {
        name: resource["Properties"]
        for name, resource in example.document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions
    event = {
        "version": "2.0",
        "routeKey": "GET /orders",
        "rawPath": "/orders",
        "requestContext": {"authorizer": {"lambda": {"userId": "64c47134ad123e335d76fff5", "sessionId": "s" * 22}}},
    }
    for name, properties in functions.items():
        module_name, _, attribute = properties["Handler"].rpartition(".")
        source = example.path.parent / properties["CodeUri"] / f"{module_name.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(f"example_{name}", source)
        assert spec is not None, source
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        answer = getattr(module, attribute)(event, None)

        assert answer["statusCode"] == 200, name
        assert "64c47134ad123e335d76fff5" in answer["body"]
