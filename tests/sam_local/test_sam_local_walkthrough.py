"""The tutorial's walkthrough and the 400 rows through the real `sam local start-api`.

Lambda containers built by `sam build` from template.yaml, reached over HTTP, their AWS calls
answered by the embedded endpoint: the same bytes as the local stack's own front.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from infra.sam_local import SamLocal
from tests.integration.browser import USER_ID, Browser, claims, error_body, message_body
from tests.integration.conftest import scan_sessions
from token_service import messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JWT = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
JSON_UTF8 = "application/json; charset=utf-8"
ISSUED = message_body("Token이 정상적으로 발급되었습니다.")
VALIDATED = message_body(f"{USER_ID}의 Payload를 가진 Token이 성공적으로 인증되었습니다.")
REFRESHED = message_body("Access Token을 새롭게 발급하였습니다.")
SESSION_UNKNOWN = error_body("Refresh Token의 정보가 서버에 존재하지 않습니다.")
ACCESS_MISSING = error_body("Access Token이 존재하지 않습니다.")
REFRESH_MISSING = error_body("Refresh Token이 존재하지 않습니다.")
NOT_AN_OBJECT = error_body(messages.BODY_NOT_JSON_OBJECT)
BAD_ID = error_body(messages.ID_INVALID)


def test_the_walkthrough(browser: Browser, sam_local: SamLocal, dynamodb: DynamoDBClient) -> None:
    # When the login backend asks for tokens
    issued = browser.post("/tokens", json_body={"id": USER_ID})
    # Then both cookies come back, HttpOnly and SameSite=Strict, without Secure on plain http
    assert (issued.status, issued.body) == (200, ISSUED)
    assert issued.headers["Content-Type"] == JSON_UTF8
    assert len(issued.set_cookies) == 2
    assert re.fullmatch(
        f"accessToken={JWT}; Path=/; Max-Age=600; HttpOnly; SameSite=Strict", issued.set_cookie("accessToken")
    )
    assert re.fullmatch(
        f"refreshToken={JWT}; Path=/tokens; Max-Age=86400; HttpOnly; SameSite=Strict", issued.set_cookie("refreshToken")
    )
    first_access, first_refresh = browser.cookie_value("accessToken"), browser.cookie_value("refreshToken")
    assert (browser.cookie("accessToken").path, browser.cookie("refreshToken").path) == ("/", "/tokens")
    session_id = claims(first_refresh)["sid"]
    stored = scan_sessions(dynamodb, sam_local.stack.table_name)[session_id]
    # Only userId and status: SAM's event carries a fixed requestContext user agent, not the client's.
    assert (stored["userId"], stored["status"]) == (USER_ID, "active")

    # When the access cookie is validated
    validated = browser.get("/tokens/validate")
    assert (validated.status, validated.body) == (200, VALIDATED)
    assert validated.headers["Content-Type"] == JSON_UTF8

    # When the refresh cookie (Path=/tokens) is presented to /tokens/refresh
    refreshed = browser.post("/tokens/refresh")
    # Then both tokens are new
    assert (refreshed.status, refreshed.body) == (200, REFRESHED)
    assert {cookie.split("=", 1)[0] for cookie in refreshed.set_cookies} == {"accessToken", "refreshToken"}
    new_access, new_refresh = browser.cookie_value("accessToken"), browser.cookie_value("refreshToken")
    assert (new_access != first_access, new_refresh != first_refresh) == (True, True)
    assert claims(new_refresh)["sid"] == session_id

    # And the new access token validates
    again = browser.get("/tokens/validate")
    assert (again.status, again.body) == (200, VALIDATED)

    # When someone who copied the first refresh token replays it
    thief = Browser(sam_local.url, user_agent="curl/8.5.0")
    replay = thief.post("/tokens/refresh", headers={"Cookie": f"refreshToken={first_refresh}"})
    assert (replay.status, replay.body) == (419, SESSION_UNKNOWN)
    assert replay.headers["Content-Type"] == JSON_UTF8
    assert replay.set_cookies == []
    # Then the whole session is revoked: the newest refresh token is refused too
    assert scan_sessions(dynamodb, sam_local.stack.table_name)[session_id]["status"] == "revoked"
    after = browser.post("/tokens/refresh")
    assert (after.status, after.body) == (419, SESSION_UNKNOWN)


def test_health_answers_hello_token(browser: Browser) -> None:
    answer = browser.get("/")
    assert (answer.status, answer.body) == (200, b"Hello Token!")
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_validate_without_the_access_cookie_is_400(browser: Browser) -> None:
    answer = browser.get("/tokens/validate")
    assert (answer.status, answer.body) == (400, ACCESS_MISSING)
    assert answer.headers["Content-Type"] == JSON_UTF8


def test_refresh_without_the_refresh_cookie_is_400(browser: Browser) -> None:
    answer = browser.post("/tokens/refresh")
    assert (answer.status, answer.body) == (400, REFRESH_MISSING)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(None, NOT_AN_OBJECT, id="no body"),
        pytest.param(b"{not json", NOT_AN_OBJECT, id="malformed JSON"),
        pytest.param(b"[]", NOT_AN_OBJECT, id="array"),
        pytest.param(b"{}", BAD_ID, id="id missing"),
        pytest.param(b'{"id": 64}', BAD_ID, id="id a number"),
        pytest.param(b'{"id": "a\\nb"}', BAD_ID, id="id with a control character"),
    ],
)
def test_issue_refuses_bad_bodies_with_400(browser: Browser, body: bytes | None, expected: bytes) -> None:
    answer = browser.post("/tokens", body=body, headers={"Content-Type": "application/json"})
    assert (answer.status, answer.body) == (400, expected)
    assert answer.set_cookies == []


def test_an_unknown_route_is_sams_403(browser: Browser) -> None:
    answer = browser.get("/nowhere")
    # SAM's own answer (API Gateway's wording, with a trailing newline), no function involved.
    assert (answer.status, json.loads(answer.body)) == (403, {"message": "Missing Authentication Token"})
