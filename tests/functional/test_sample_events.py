"""The sample events in tests/events/ (for `sam local invoke -e`) drive the real handlers as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.handler_calls import expected_body
from tests.support.service import Service
from token_service.handlers import authorizer, end_session, health, issue, list_sessions, refresh, revoke, validate
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint

EVENTS = Path(__file__).resolve().parent.parent / "events"
REFERENCE = json.loads((EVENTS / "http-api-proxy.json").read_text())


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@pytest.mark.parametrize(
    ("name", "endpoint", "dependency", "answer"),
    [
        ("health.json", health.handler, None, (200, messages.HEALTH)),
        ("issue.json", issue.handler, "sessions", (200, expected_body("message", messages.ISSUED))),
        (
            "validate-missing-cookie.json",
            validate.handler,
            "validator",
            (400, expected_body("errorMessage", messages.ACCESS_TOKEN_MISSING)),
        ),
        (
            "validate-invalid-token.json",
            validate.handler,
            "validator",
            (401, expected_body("errorMessage", messages.ACCESS_TOKEN_INVALID)),
        ),
        (
            "refresh-missing-cookie.json",
            refresh.handler,
            "sessions",
            (400, expected_body("errorMessage", messages.REFRESH_TOKEN_MISSING)),
        ),
        (
            "revoke-invalid-token.json",
            revoke.handler,
            "revocation",
            (401, expected_body("errorMessage", messages.REFRESH_TOKEN_INVALID)),
        ),
        (
            "list-sessions.json",
            list_sessions.handler,
            "listing",
            (200, "{" + f'"message":"{messages.SESSIONS_LISTED}","sessions":[]' + "}"),
        ),
        (
            "end-session-invalid-id.json",
            end_session.handler,
            "ending",
            (400, expected_body("errorMessage", messages.SESSION_ID_INVALID)),
        ),
    ],
)
def test_sample_event_gets_its_documented_answer(
    service: Service, name: str, endpoint: Endpoint[Any], dependency: str | None, answer: tuple[int, str]
) -> None:
    event = load(name)
    assert event.keys() <= REFERENCE.keys()
    assert event["requestContext"]["http"].keys() == REFERENCE["requestContext"]["http"].keys()

    response = endpoint.respond(event, getattr(service, dependency) if dependency else None)

    assert (response["statusCode"], response["body"]) == answer


def test_the_sample_authorizer_event_is_denied(service: Service) -> None:
    event = load("authorizer-invalid-token.json")
    # The request's event without its body, and what a Lambda authorizer's event adds.
    assert event.keys() <= (REFERENCE.keys() - {"body", "isBase64Encoded"}) | {"type", "routeArn", "identitySource"}
    assert event["identitySource"] == event["cookies"]

    assert authorizer.handler.respond(event, service.authorizer) == {"isAuthorized": False}
