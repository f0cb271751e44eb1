"""Bad input gets the contract's 4xx JSON error, never a 500 or a stack trace, and stores nothing."""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.events import http_api_event
from tests.support.bad_bodies import BAD_ISSUE_BODIES
from tests.support.handler_calls import call, expected_body
from tests.support.service import TABLE_NAME, Service
from token_service.handlers import issue
from token_service.http_api import messages

NOT_AN_OBJECT = expected_body("errorMessage", messages.BODY_NOT_JSON_OBJECT)


@pytest.mark.parametrize(("body", "message"), BAD_ISSUE_BODIES)
def test_issue_rejects_bad_bodies_with_400(service: Service, body: bytes | None, message: str) -> None:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", body=body)

    assert (answer.status, answer.body) == (400, expected_body("errorMessage", message))
    assert answer.cookies == []
    assert service.dynamodb.scan(TableName=TABLE_NAME)["Items"] == []


def test_issue_rejects_a_body_over_16_kib_with_413(service: Service) -> None:
    body = json.dumps({"id": "a", "padding": "x" * (16 * 1024)}).encode()
    answer = call(issue.handler, service.sessions, "POST", "/tokens", body=body)
    assert (answer.status, answer.body) == (413, expected_body("errorMessage", messages.BODY_TOO_LARGE))


def test_issue_accepts_a_body_of_exactly_16_kib(service: Service) -> None:
    prefix = b'{"id":"a","padding":"'
    body = prefix + b"x" * (16 * 1024 - len(prefix) - 2) + b'"}'
    assert len(body) == 16 * 1024
    assert call(issue.handler, service.sessions, "POST", "/tokens", body=body).status == 200


@pytest.mark.parametrize("user_id", ["a" * 128, "사용자-1", "user@example.com"])
def test_issue_accepts_ids_up_to_128_characters_of_any_script(service: Service, user_id: str) -> None:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": user_id})
    assert answer.status == 200


def test_issue_decodes_a_base64_encoded_body(service: Service) -> None:
    event = http_api_event(
        "POST", "/tokens", body=b'{"id": "64c4"}', headers={"content-type": "application/octet-stream"}
    )
    assert event["isBase64Encoded"] is True

    assert issue.handler.respond(event, service.sessions)["statusCode"] == 200


def test_issue_rejects_a_body_that_claims_base64_but_is_not(service: Service) -> None:
    event = http_api_event("POST", "/tokens", body=b"{}")
    event.update(body="%%%not base64%%%", isBase64Encoded=True)

    response = issue.handler.respond(event, service.sessions)

    assert (response["statusCode"], response["body"]) == (400, NOT_AN_OBJECT)


def test_issue_survives_an_event_with_nothing_in_it(service: Service) -> None:
    response = issue.handler.respond({}, service.sessions)
    assert response["statusCode"] == 400


def test_base64_body_over_the_limit_is_refused_before_decoding(service: Service) -> None:
    event = http_api_event("POST", "/tokens", body=b"{}")
    event.update(body=base64.b64encode(b"x" * (64 * 1024)).decode(), isBase64Encoded=True)
    assert issue.handler.respond(event, service.sessions)["statusCode"] == 413
