"""The README's example of another SAM application protecting its routes with this stack's authorizer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from infra.template import ROOT, Template

SECTION = "### Protect your own routes"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's example, as aws-sam-translator transforms it for CloudFormation."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme[readme.index(SECTION) :], re.DOTALL)
    assert block is not None
    path = Path(tmp_path_factory.mktemp("example")) / "template.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    document = dict(Template.load(path).document)
    # `sam deploy` uploads CodeUri first; the transform takes the S3 location it then holds.
    document["Resources"]["OrdersFunction"]["Properties"]["CodeUri"] = "s3://bucket/orders.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
        transformed = transform(document, {}, NoManagedPolicies())
    resources: dict[str, Any] = transformed["Resources"]
    return resources


def imported_authorizer(value: object) -> bool:
    return value == {"Fn::ImportValue": {"Fn::Sub": "${TokenServiceStack}-TokenAuthorizerFunctionArn"}}


def test_the_example_runs_this_stacks_exported_authorizer_before_its_route(example: dict[str, Any]) -> None:
    (api,) = [resource for resource in example.values() if resource["Type"] == "AWS::ApiGatewayV2::Api"]
    body = api["Properties"]["Body"]
    (scheme,) = body["components"]["securitySchemes"].values()
    authorizer = scheme["x-amazon-apigateway-authorizer"]

    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerResultTtlInSeconds"] == 10
    uri = authorizer["authorizerUri"]["Fn::Sub"]
    assert imported_authorizer(uri[1]["__FunctionArn__"])
    assert body["paths"]["/orders"]["get"]["security"] == [{"TokenAuthorizer": []}]


def test_the_example_lets_api_gateway_invoke_the_authorizer_for_its_api_only(example: dict[str, Any]) -> None:
    permissions = [
        resource["Properties"] for resource in example.values() if resource["Type"] == "AWS::Lambda::Permission"
    ]
    (for_authorizer,) = [permission for permission in permissions if imported_authorizer(permission["FunctionName"])]

    assert (for_authorizer["Action"], for_authorizer["Principal"]) == (
        "lambda:InvokeFunction",
        "apigateway.amazonaws.com",
    )
    assert "OrdersApi" in str(for_authorizer["SourceArn"])
