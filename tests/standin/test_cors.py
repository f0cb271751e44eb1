"""CORS as API Gateway answers it, from the template's AllowedOrigins: only listed origins, with credentials."""

from __future__ import annotations

from email.message import Message

import pytest

from tests.support.http_client import USER_ID, HttpClient
from tests.support.stack_fixtures import ALLOWED_ORIGIN

OTHER_ORIGINS = ["http://127.0.0.1:8080", "https://evil.example", "null", ALLOWED_ORIGIN + "0"]
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


def cors_headers(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower().startswith("access-control-")}


def test_a_preflight_from_an_allowed_origin_is_answered_with_its_grant(client: HttpClient) -> None:
    answer = client.request("OPTIONS", "/tokens", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})

    assert (answer.status, answer.body) == (204, b"")
    assert cors_headers(answer.headers) == {
        "access-control-allow-origin": ALLOWED_ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET,POST,DELETE",
        "access-control-allow-headers": "content-type,authorization",
        "access-control-max-age": "600",
    }


@pytest.mark.parametrize("origin", OTHER_ORIGINS)
def test_no_other_origin_gets_a_grant(client: HttpClient, origin: str) -> None:
    preflight = client.request("OPTIONS", "/tokens", headers={"Origin": origin, **PREFLIGHT})
    issued = client.post("/tokens", json_body={"id": USER_ID}, headers={"Origin": origin})

    assert (preflight.status, cors_headers(preflight.headers)) == (204, {})
    assert (issued.status, cors_headers(issued.headers)) == (200, {})


def test_an_allowed_origin_can_read_every_answer_with_credentials(client: HttpClient) -> None:
    origin = {"Origin": ALLOWED_ORIGIN}
    answers = [
        client.post("/tokens", json_body={"id": USER_ID}, headers=origin),
        client.get("/tokens/validate", headers=origin),
        client.post("/tokens/refresh", headers=origin),
        client.get("/tokens/validate", headers={**origin, "Cookie": "accessToken=forged"}),
    ]

    assert [answer.status for answer in answers] == [200, 200, 200, 401]
    for answer in answers:
        assert cors_headers(answer.headers) == {
            "access-control-allow-origin": ALLOWED_ORIGIN,
            "access-control-allow-credentials": "true",
        }


def test_an_allowed_origin_can_read_the_authorizers_refusals(client: HttpClient) -> None:
    origin = {"Origin": ALLOWED_ORIGIN}
    preflight = client.request(
        "OPTIONS", "/tokens/sessions/x", headers={**origin, "Access-Control-Request-Method": "DELETE"}
    )
    refusals = [
        client.get("/tokens/sessions", headers=origin),
        client.request("DELETE", "/tokens/sessions/x", headers={**origin, "Cookie": "accessToken=forged"}),
    ]

    assert "DELETE" in preflight.headers["Access-Control-Allow-Methods"].split(",")
    assert [answer.status for answer in refusals] == [401, 403]
    for answer in refusals:
        assert cors_headers(answer.headers) == {
            "access-control-allow-origin": ALLOWED_ORIGIN,
            "access-control-allow-credentials": "true",
        }
