"""Key rings through the Parameters and Secrets Lambda Extension: no SDK, same rings, same failures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from infra.local.parameters_extension import ParametersExtension
from tests.support.handler_calls import FORGED_TOKEN, USER_ID, call
from tests.support.service import Service
from token_service import composition
from token_service.composition import Clients
from token_service.config import Settings
from token_service.domain.access import AccessValidator
from token_service.handlers import issue, refresh, revoke, validate

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
