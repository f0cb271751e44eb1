"""Key rings through the Parameters and Secrets Lambda Extension: no SDK, same rings, same failures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra.parameters_extension import ParametersExtension
from infra.template import Template
from tests.unit.conftest import Service
from tests.unit.http_calls import USER_ID, call
from token_service.config import Settings
from token_service.handlers import issue, validate
from token_service.keys import ExtensionParameterSource, KeyRingStore
from token_service.validation import AccessValidator

SESSION_TOKEN = "session-token-of-this-function"


@pytest.fixture
def extension(service: Service) -> Iterator[ParametersExtension]:
    with ParametersExtension(service.ssm, SESSION_TOKEN) as running:
        yield running


def validator_through(settings: Settings, port: int, token: str = SESSION_TOKEN) -> AccessValidator:
    source = ExtensionParameterSource(port, token, host="127.0.0.1")
    return AccessValidator(settings, KeyRingStore(source, [settings.access_keys_parameter], 300))


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

    answer = call(validate.handler, validator, "GET", "/tokens/validate", cookies=["accessToken=a.b.c"])

    assert answer.status == 503


def test_validate_with_the_extension_never_imports_the_aws_sdk() -> None:
    """A cold start of the validate function whose template gives it the extension layer."""
    layer = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"
    template = Template.load(parameters={"ParametersExtensionLayerArn": layer}, resource_names={"SessionsTable": "t"})
    environment = template.function_environment("ValidateFunction")
    assert environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    # Powertools imports botocore's bare package (0.3 ms); the SDK's weight is in these.
    sdk = ("boto3", "botocore.session", "botocore.client")
    script = (
        f"SDK = {sdk!r}; "
        "import sys, types; import token_service.handlers.validate as v; "
        "context = types.SimpleNamespace(function_name='v', memory_limit_in_mb=512, "
        "invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:v', aws_request_id='r'); "
        "print(v.handler({}, context)['statusCode'], sorted(m for m in SDK if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**environment, "AWS_SESSION_TOKEN": "t", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "400 []"
