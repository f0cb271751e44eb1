"""The tutorial's Insomnia walkthrough over HTTP, for any front that serves the template's API.

Issue, validate, refresh, validate again, and a replay of the rotated refresh token, with a
client that keeps cookies by their Path, as Insomnia and browsers do; a user's sessions listed
and ended behind the authorizer; and `FrontBasics`, the answers every front gives before any
token is involved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from tests.support.http_client import USER_ID, HttpClient, claims, error_body, message_body

JWT = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
JSON_UTF8 = "application/json; charset=utf-8"
ISSUED = message_body("Token이 정상적으로 발급되었습니다.")
VALIDATED = message_body(f"{USER_ID}의 Payload를 가진 Token이 성공적으로 인증되었습니다.")
REFRESHED = message_body("Access Token을 새롭게 발급하였습니다.")
SESSION_UNKNOWN = error_body("Refresh Token의 정보가 서버에 존재하지 않습니다.")
ACCESS_MISSING = error_body("Access Token이 존재하지 않습니다.")
REFRESH_MISSING = error_body("Refresh Token이 존재하지 않습니다.")
SESSIONS_LISTED_START = b'{"message":"' + "로그인된 세션 목록입니다.".encode() + b'","sessions":['
SESSION_ENDED = message_body("세션이 정상적으로 종료되었습니다.")

Sessions = Callable[[], Mapping[str, Mapping[str, str]]]


def walk_through(client: HttpClient, base_url: str, sessions: Sessions) -> Mapping[str, str]:
    """Run the walkthrough, asserting every answer; returns the session as first stored."""
    # When the login backend asks for tokens
    issued = client.post("/tokens", json_body={"id": USER_ID})
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
    first_access, first_refresh = client.cookie_value("accessToken"), client.cookie_value("refreshToken")
    assert (client.cookie("accessToken").path, client.cookie("refreshToken").path) == ("/", "/tokens")
    session_id = claims(first_refresh)["sid"]
    stored = sessions()[session_id]
    assert (stored["userId"], stored["status"]) == (USER_ID, "active")

    # When the access cookie is validated
    validated = client.get("/tokens/validate")
    assert (validated.status, validated.body) == (200, VALIDATED)
    assert validated.headers["Content-Type"] == JSON_UTF8

    # When the refresh cookie (Path=/tokens) is presented to /tokens/refresh
    refreshed = client.post("/tokens/refresh")
    # Then both tokens are new, and the session keeps its absolute expiry
    assert (refreshed.status, refreshed.body) == (200, REFRESHED)
    assert {cookie.split("=", 1)[0] for cookie in refreshed.set_cookies} == {"accessToken", "refreshToken"}
    new_access, new_refresh = client.cookie_value("accessToken"), client.cookie_value("refreshToken")
    assert (new_access != first_access, new_refresh != first_refresh) == (True, True)
    assert claims(new_refresh)["sid"] == session_id
    max_age = int(re.search(r"Max-Age=(\d+)", refreshed.set_cookie("refreshToken"))[1])  # type: ignore[index]
    assert 86390 <= max_age <= 86400

    # And the new access token validates
    again = client.get("/tokens/validate")
    assert (again.status, again.body) == (200, VALIDATED)

    # When someone who copied the first refresh token replays it
    thief = HttpClient(base_url, user_agent="curl/8.5.0")
    replay = thief.post("/tokens/refresh", headers={"Cookie": f"refreshToken={first_refresh}"})
    assert (replay.status, replay.body) == (419, SESSION_UNKNOWN)
    assert replay.headers["Content-Type"] == JSON_UTF8
    assert replay.set_cookies == []
    # Then the whole session is revoked: the newest refresh token is refused too
    assert sessions()[session_id]["status"] == "revoked"
    after = client.post("/tokens/refresh")
    assert (after.status, after.body) == (419, SESSION_UNKNOWN)
    return stored


class FrontBasics:
    """Health and the missing-cookie rows, byte for byte; a suite collects them by subclassing,
    with its own `client` fixture for the front it tests."""

    def test_health_answers_hello_token(self, client: HttpClient) -> None:
        answer = client.get("/")
        assert (answer.status, answer.body) == (200, b"Hello Token!")
        assert answer.headers["Content-Type"].startswith("text/plain")

    def test_validate_without_the_access_cookie_is_400(self, client: HttpClient) -> None:
        answer = client.get("/tokens/validate")
        assert (answer.status, answer.body) == (400, ACCESS_MISSING)
        assert answer.headers["Content-Type"] == JSON_UTF8

    def test_refresh_without_the_refresh_cookie_is_400(self, client: HttpClient) -> None:
        answer = client.post("/tokens/refresh")
        assert (answer.status, answer.body) == (400, REFRESH_MISSING)
        assert answer.headers["Content-Type"] == JSON_UTF8


def sessions_walk_through(new_client: Callable[[], HttpClient], user_id: str) -> None:
    """A user logged in on two devices lists them, ends the other one, then the current one (logging out)."""
    laptop, phone = new_client(), new_client()
    for device in (laptop, phone):
        assert device.post("/tokens", json_body={"id": user_id}).status == 200
    laptop_session, phone_session = (claims(device.cookie_value("refreshToken"))["sid"] for device in (laptop, phone))

    # When the laptop lists the user's sessions
    listed = laptop.get("/tokens/sessions")
    assert (listed.status, listed.headers["Content-Type"]) == (200, JSON_UTF8)
    assert listed.body.startswith(SESSIONS_LISTED_START)
    shown = {session["sessionId"]: session["current"] for session in json.loads(listed.body)["sessions"]}
    # Then both are there, and only the laptop's is the current one
    assert shown == {laptop_session: True, phone_session: False}

    # When the laptop ends the phone's session
    ended = laptop.request("DELETE", f"/tokens/sessions/{phone_session}")
    assert (ended.status, ended.body, ended.set_cookies) == (200, SESSION_ENDED, [])
    # Then the phone can no longer refresh, and the listing no longer shows it
    assert (phone.post("/tokens/refresh").status, laptop.get("/tokens/sessions").status) == (419, 200)
    remaining = json.loads(laptop.get("/tokens/sessions").body)["sessions"]
    assert [session["sessionId"] for session in remaining] == [laptop_session]

    # When the laptop ends its own session, it is logged out: both cookies cleared
    own = laptop.request("DELETE", f"/tokens/sessions/{laptop_session}")
    assert (own.status, own.body) == (200, SESSION_ENDED)
    assert sorted(cookie.split(";")[0] for cookie in own.set_cookies) == ["accessToken=", "refreshToken="]
    assert list(laptop.jar) == []
    # And without its cookie the route is API Gateway's 401, before any function runs
    refused = laptop.get("/tokens/sessions")
    assert (refused.status, json.loads(refused.body)) == (401, {"message": "Unauthorized"})
