"""template.yaml: lint-clean, and after the SAM transform it has the routes, table and permissions we promise."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from infra.template import ROOT, Template
from token_service.adapters.session_table import NEWEST_FIRST_INDEX, USER_INDEX

FUNCTIONS = tuple(Template.load().resources_of_type("AWS::Serverless::Function"))
READ_NO_RING = ("HealthFunction", "EndSessionFunction")
ROUTES = {
    ("GET", "/"): "HealthFunction",
    ("GET", "/tokens/validate"): "ValidateFunction",
    ("POST", "/tokens"): "IssueFunction",
    ("POST", "/tokens/refresh"): "RefreshFunction",
    ("POST", "/tokens/revoke"): "RevokeFunction",
    ("GET", "/tokens/sessions"): "ListSessionsFunction",
    ("DELETE", "/tokens/sessions/{sessionId}"): "EndSessionFunction",
}
# What the listing reads of each session beyond the index's keys: it shows the times, IP and user
# agent, and keeps live sessions only.
LISTING_READS = {"status", "expiresAt", "rotatedAt", "ip", "userAgent"}


@pytest.fixture(scope="module")
def transformed_template() -> Mapping[str, Any]:
    """aws-sam-translator's offline transform, as `sam validate` and CloudFormation run it."""
    document = dict(Template.load().document)
    document["Globals"]["Function"]["CodeUri"] = "s3://bucket/functions.zip"  # the transform wants S3 CodeUris

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the transform needs a region, nothing else
        template: Mapping[str, Any] = transform(document, {}, NoManagedPolicies())
    return template


@pytest.fixture(scope="module")
def transformed(transformed_template: Mapping[str, Any]) -> Mapping[str, Any]:
    resources: Mapping[str, Any] = transformed_template["Resources"]
    return resources


def operations(resources: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The API's routes as API Gateway imports them: (METHOD, path) -> the OpenAPI operation."""
    paths = resources["HttpApi"]["Properties"]["Body"]["paths"]
    return {(method.upper(), path): spec for path, methods in paths.items() for method, spec in methods.items()}


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_every_route_reaches_its_function_with_payload_format_2(transformed: Mapping[str, Any]) -> None:
    routes = {route: spec["x-amazon-apigateway-integration"] for route, spec in operations(transformed).items()}
    assert set(routes) == set(ROUTES)
    for route, function in ROUTES.items():
        assert routes[route]["payloadFormatVersion"] == "2.0"
        assert f"${{{function}.Arn}}" in routes[route]["uri"]["Fn::Sub"]
    # The authorizer runs before routes, never as one.
    assert not [spec for spec in routes.values() if "TokenAuthorizerFunction" in str(spec["uri"])]


@pytest.mark.parametrize(("config_env", "iam"), [("dev", False), ("prod", True)])
def test_issue_route_needs_sigv4_exactly_in_prod(transformed: Mapping[str, Any], config_env: str, iam: bool) -> None:
    overrides = tomllib.loads((ROOT / "samconfig.toml").read_text())[config_env]["global"]["parameters"]
    parameters = dict(pair.split("=", 1) for pair in overrides["parameter_overrides"].split())
    template = Template.load(parameters=parameters)

    security = template.resolve(transformed["HttpApi"]["Properties"]["Body"]["paths"]["/tokens"]["post"]["security"])

    assert security == ([{"sigv4": []}] if iam else [])
    scheme = transformed["HttpApi"]["Properties"]["Body"]["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_every_function_runs_python_3_13_on_the_chosen_architecture(transformed: Mapping[str, Any]) -> None:
    for function in FUNCTIONS:
        properties = transformed[function]["Properties"]
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == [{"Ref": "Architecture"}]


def test_sessions_table_has_ttl_user_index_recovery_and_encryption(transformed: Mapping[str, Any]) -> None:
    table = transformed["SessionsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "sessionId", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert {index["KeySchema"][0]["AttributeName"] for index in table["GlobalSecondaryIndexes"]} == {"userId"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def indexes(resources: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {index["IndexName"]: index for index in resources["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"]}


def test_the_indexes_are_the_ones_the_code_queries(transformed: Mapping[str, Any]) -> None:
    # Both stay: CloudFormation adds or removes one index per update, so replacing byUser would
    # fail the update of a deployed stack.
    assert set(indexes(transformed)) == {USER_INDEX, NEWEST_FIRST_INDEX}
    assert indexes(transformed)[USER_INDEX]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_the_newest_first_index_orders_a_users_sessions_by_creation(transformed: Mapping[str, Any]) -> None:
    index = indexes(transformed)[NEWEST_FIRST_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    definitions = transformed["SessionsTable"]["Properties"]["AttributeDefinitions"]
    assert {d["AttributeName"]: d["AttributeType"] for d in definitions}["createdAt"] == "N"  # epoch seconds


def test_the_newest_first_index_projects_what_the_listing_reads_and_no_token_id(transformed: Mapping[str, Any]) -> None:
    projection = indexes(transformed)[NEWEST_FIRST_INDEX]["Projection"]
    assert projection["ProjectionType"] == "INCLUDE"
    projected = set(projection["NonKeyAttributes"])
    assert projected >= LISTING_READS
    # ListSessionsFunction reads the table through this index only: it can never see a token id.
    assert not {"currentTokenId", "previousTokenId"} & projected


def test_environment_names_the_stage_rings_and_the_table() -> None:
    template = Template.load(parameters={"Stage": "prod"}, resource_names={"SessionsTable": "t"})
    environment = template.function_environment("RefreshFunction")
    assert environment["ACCESS_KEYS_PARAMETER"] == "/token-service/prod/access-keys"
    assert environment["REFRESH_KEYS_PARAMETER"] == "/token-service/prod/refresh-keys"
    assert environment["SESSIONS_TABLE"] == "t"
    assert (environment["ACCESS_TOKEN_TTL"], environment["REFRESH_TOKEN_TTL"]) == ("600", "86400")
    custom = Template.load(parameters={"AccessKeyRingName": "acme/ring"}, resource_names={"SessionsTable": "t"})
    assert custom.function_environment("IssueFunction")["ACCESS_KEYS_PARAMETER"] == "/acme/ring"


def test_outputs_give_the_https_url_the_table_and_the_authorizer(transformed_template: Mapping[str, Any]) -> None:
    outputs = transformed_template["Outputs"]
    assert outputs["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${HttpApi}.execute-api.")
    assert outputs["SessionsTableName"]["Value"] == {"Ref": "SessionsTable"}
    authorizer = outputs["TokenAuthorizerFunctionArn"]
    assert authorizer["Value"] == {"Fn::GetAtt": ["TokenAuthorizerFunction", "Arn"]}
    # Another stack attaches it with `!ImportValue <this stack>-TokenAuthorizerFunctionArn`.
    assert authorizer["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-TokenAuthorizerFunctionArn"}


@pytest.mark.parametrize("layer", ["", "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets:12"])
def test_every_function_gets_the_parameters_extension_exactly_when_its_layer_is_given(
    transformed: Mapping[str, Any], layer: str
) -> None:
    template = Template.load(parameters={"ParametersExtensionLayerArn": layer}, resource_names={"SessionsTable": "t"})
    for function in FUNCTIONS:
        chosen = template.resolve(transformed[function]["Properties"]["Layers"])
        if function in READ_NO_RING:  # never the extension
            assert chosen == {"Ref": "AWS::NoValue"}
        else:
            assert chosen == ([layer] if layer else [])
        port = template.function_environment(function)["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
        assert port == ("2773" if layer else "")
