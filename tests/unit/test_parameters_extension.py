"""Key rings through the Parameters and Secrets Lambda Extension: no SDK, same rings, same failures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from infra.parameters_extension import ParametersExtension
from infra.template import Template
from tests.unit.conftest import Service
from tests.unit.http_calls import FORGED_TOKEN, USER_ID, call
from token_service import composition
from token_service.composition import Clients
from token_service.config import Settings
from token_service.handlers import issue, refresh, revoke, validate
from token_service.validation import AccessValidator

SESSION_TOKEN = "session-token-of-this-function"


@pytest.fixture
def extension(service: Service) -> Iterator[ParametersExtension]:
    with ParametersExtension(service.ssm, SESSION_TOKEN) as running:
        yield running


def through_extension(settings: Settings, port: int, token: str = SESSION_TOKEN) -> Settings:
    """The settings of a function whose template gives it the extension on `port`."""
    return replace(settings, parameters_extension_port=port, aws_session_token=token)


def validator_through(settings: Settings, port: int, token: str = SESSION_TOKEN) -> AccessValidator:
    return composition.validator(through_extension(settings, port, token))


def test_validate_reads_the_ring_through_the_extension(
    service: Service, settings: Settings, extension: ParametersExtension
) -> None:
    access = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID}).cookie_value(
        "accessToken"
    )
    validator = validator_through(settings, extension.port)

    answer = call(validate.handler, validator, "GET", "/tokens/validate", cookies=[f"accessToken={access}"])

    assert answer.status == 200


@pytest.mark.parametrize("problem", ["wrong session token", "nothing listening", "unknown parameter"])
def test_an_extension_failure_is_503(
    service: Service, settings: Settings, extension: ParametersExtension, problem: str
) -> None:
    if problem == "wrong session token":
        validator = validator_through(settings, extension.port, token="someone-else")
    elif problem == "nothing listening":
        validator = validator_through(settings, 9)
    else:
        service.ssm.delete_parameter(Name=settings.access_keys_parameter)
        validator = validator_through(settings, extension.port)

    answer = call(validate.handler, validator, "GET", "/tokens/validate", cookies=[f"accessToken={FORGED_TOKEN}"])

    assert answer.status == 503


LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"
# Powertools imports botocore's bare package (0.3 ms); the SDK's weight is in these.
SDK_MODULES = ("boto3", "botocore.session", "botocore.client")
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
status = handler({{}}, context)["statusCode"]
print(status, sorted(m for m in {sdk!r} if m in sys.modules), clients)
"""


def cold_start(function: str, name: str, *, count_clients: bool) -> str:
    """The first invocation of a function whose template gives it the extension layer (an empty event)."""
    template = Template.load(parameters={"ParametersExtensionLayerArn": LAYER}, resource_names={"SessionsTable": "t"})
    environment = template.function_environment(function)
    assert environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    script = COLD_START.format(count_clients=count_clients, name=name, sdk=SDK_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**environment, "AWS_SESSION_TOKEN": "t", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_validate_with_the_extension_never_imports_the_aws_sdk() -> None:
    assert cold_start("ValidateFunction", "validate", count_clients=False) == "400 [] []"


@pytest.mark.parametrize(
    ("function", "name"), [("IssueFunction", "issue"), ("RefreshFunction", "refresh"), ("RevokeFunction", "revoke")]
)
def test_session_functions_with_the_extension_create_their_dynamodb_client_only(function: str, name: str) -> None:
    # The script imports boto3 itself to watch clients being created: only the clients tell.
    assert cold_start(function, name, count_clients=True) == f"400 {sorted(SDK_MODULES)} ['dynamodb']"


def test_issue_refresh_and_revoke_read_their_rings_through_the_extension(
    service: Service, settings: Settings, extension: ParametersExtension
) -> None:
    extended = through_extension(settings, extension.port)
    sessions = composition.session_routes(extended, Clients(dynamodb=service.dynamodb))
    revocation = composition.revoke_route(extended, Clients(dynamodb=service.dynamodb))

    issued = call(issue.handler, sessions, "POST", "/tokens", json_body={"id": USER_ID})
    refreshed = call(
        refresh.handler,
        sessions,
        "POST",
        "/tokens/refresh",
        cookies=[f"refreshToken={issued.cookie_value('refreshToken')}"],
    )
    revoked = call(
        revoke.handler,
        revocation,
        "POST",
        "/tokens/revoke",
        cookies=[f"refreshToken={refreshed.cookie_value('refreshToken')}"],
    )

    assert (issued.status, refreshed.status, revoked.status) == (200, 200, 200)
