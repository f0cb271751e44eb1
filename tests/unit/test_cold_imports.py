"""What a cold start imports: validate, and the authorizer that trusts tokens alone, never load the AWS SDK
where they read their key ring through the Parameters and Secrets Lambda Extension."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.template import Template

LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"
# Powertools imports botocore's bare package for its user agent, whichever function imports it; the
# SDK itself (sessions, clients, endpoints, credentials) is every other module of these two.
POWERTOOLS_USER_AGENT = ["botocore"]
COLD_START = """
import sys, types, importlib
clients = []
if {count_clients}:
    import boto3
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "creating-client-class", lambda event_name, **_: clients.append(event_name.rsplit(".", 1)[1])
    )
handler = importlib.import_module("token_service.handlers.{name}").handler
context = types.SimpleNamespace(function_name="f", memory_limit_in_mb=512, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f")
answer = handler({{}}, context)
sdk = sorted(m for m in sys.modules if m.partition(".")[0] in ("boto3", "botocore"))
print(answer.get("statusCode", answer.get("isAuthorized")), sdk if not {count_clients} else "", clients)
"""


def cold_start(function: str, name: str, *, count_clients: bool = False, **parameters: str) -> str:
    """The first invocation of a function whose template gives it the extension layer (an empty event)."""
    template = Template.load(
        parameters={"ParametersExtensionLayerArn": LAYER, **parameters}, resource_names={"SessionsTable": "t"}
    )
    environment = template.function_environment(function)
    assert environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    script = COLD_START.format(count_clients=count_clients, name=name)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**environment, "AWS_SESSION_TOKEN": "t", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_validate_with_the_extension_loads_no_module_of_the_aws_sdk() -> None:
    assert cold_start("ValidateFunction", "validate") == f"400 {POWERTOOLS_USER_AGENT} []"


def test_the_authorizer_trusting_tokens_alone_with_the_extension_loads_no_module_of_the_aws_sdk() -> None:
    answer = cold_start("TokenAuthorizerFunction", "authorizer", AuthorizerChecksSession="false")

    assert answer == f"False {POWERTOOLS_USER_AGENT} []"


def test_the_authorizer_checking_sessions_creates_its_dynamodb_client_only() -> None:
    assert cold_start("TokenAuthorizerFunction", "authorizer", count_clients=True) == "False  ['dynamodb']"


@pytest.mark.parametrize(
    ("function", "name"), [("IssueFunction", "issue"), ("RefreshFunction", "refresh"), ("RevokeFunction", "revoke")]
)
def test_session_functions_with_the_extension_create_their_dynamodb_client_only(function: str, name: str) -> None:
    # The script imports boto3 itself to watch clients being created: only the clients tell.
    assert cold_start(function, name, count_clients=True) == "400  ['dynamodb']"
