"""GET /tokens/sessions and DELETE /tokens/sessions/{sessionId} over HTTP, behind the authorizer.

Each test logs a user of its own in from several clients (devices); what the service stored is
read from the stack's table.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.deployment import LocalDeployment
from tests.support.http_client import HttpClient, claims, error_body, message_body
from tests.support.stack_fixtures import scan_sessions
from tests.support.tokens import issued
from tests.support.walkthrough import JSON_UTF8, SESSION_ENDED
from token_service.http_api import messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SHOWN_FIELDS = {"sessionId", "createdAt", "lastRotatedAt", "ip", "userAgent", "current"}
NOT_FOUND = error_body(messages.SESSION_NOT_FOUND)
# 22 characters of the alphabet session ids are made of, never minted by the service.
UNKNOWN_SESSION = "A" * 22


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex}"


def session_of(device: HttpClient) -> str:
    session_id: str = claims(device.cookie_value("refreshToken"))["sid"]
    return session_id


def listing(device: HttpClient, query: str = "") -> tuple[int, dict[str, Any]]:
    answer = device.get(f"/tokens/sessions{query}")
    assert answer.headers["Content-Type"] == JSON_UTF8
    document: dict[str, Any] = json.loads(answer.body)
    return answer.status, document


# GET /tokens/sessions


def test_the_listing_shows_live_sessions_newest_first_and_which_one_asks(
    stack: LocalDeployment, user: str, dynamodb: DynamoDBClient
) -> None:
    devices: list[HttpClient] = []
    for agent in ("laptop/1.0", "phone/2.0", "tablet/3.0"):
        if devices:
            time.sleep(1.05)  # createdAt counts seconds: one device per second orders them
        devices.append(HttpClient(stack.url, user_agent=agent))
        assert devices[-1].post("/tokens", json_body={"id": user}).status == 200
    laptop, phone, tablet = devices
    assert laptop.post("/tokens/revoke").status == 200  # ended: no longer listed

    status, document = listing(phone)

    assert (status, document["message"], "nextPageToken" in document) == (200, messages.SESSIONS_LISTED, False)
    shown = document["sessions"]
    assert [session["sessionId"] for session in shown] == [session_of(tablet), session_of(phone)]
    assert [session["current"] for session in shown] == [False, True]
    stored = scan_sessions(dynamodb, stack.table_name)
    for session in shown:
        assert set(session) == SHOWN_FIELDS
        kept = stored[session["sessionId"]]
        assert (session["ip"], session["userAgent"]) == (kept["ip"], kept["userAgent"])
        assert session["createdAt"] == session["lastRotatedAt"] == int(kept["createdAt"])
    assert [session["userAgent"] for session in shown] == ["tablet/3.0", "phone/2.0"]


def test_the_listing_never_shows_a_token_or_a_token_id(new_client: Callable[[], HttpClient], user: str) -> None:
    devices = [issued(new_client, user) for _ in range(2)]
    assert devices[0].post("/tokens/refresh").status == 200  # a rotated session too
    secrets = [device.cookie_value(name) for device in devices for name in ("accessToken", "refreshToken")]
    secrets += [claims(secret)["jti"] for secret in secrets]

    answer = devices[1].get("/tokens/sessions")

    assert answer.status == 200
    assert len(json.loads(answer.body)["sessions"]) == 2
    for secret in secrets:
        assert secret not in answer.text


def test_the_listing_pages_with_next_page_tokens(new_client: Callable[[], HttpClient], user: str) -> None:
    devices = [issued(new_client, user) for _ in range(3)]

    first_status, first = listing(devices[0], "?limit=2")
    second_status, second = listing(devices[0], f"?limit=2&pageToken={first['nextPageToken']}")

    assert (first_status, second_status) == (200, 200)
    assert (len(first["sessions"]), len(second["sessions"]), "nextPageToken" in second) == (2, 1, False)
    listed = [session["sessionId"] for session in first["sessions"] + second["sessions"]]
    assert sorted(listed) == sorted(session_of(device) for device in devices)


@pytest.mark.parametrize("limit", ["0", "51", "-1", "1.5", "abc", "", "0020", "1000", "%EF%BC%91"])
def test_a_bad_limit_is_400(new_client: Callable[[], HttpClient], user: str, limit: str) -> None:
    answer = issued(new_client, user).get(f"/tokens/sessions?limit={limit}")
    assert (answer.status, answer.body) == (400, error_body(messages.LIMIT_INVALID))


def test_limits_one_and_fifty_are_accepted(new_client: Callable[[], HttpClient], user: str) -> None:
    device = issued(new_client, user)
    assert [listing(device, f"?limit={limit}")[0] for limit in ("1", "50")] == [200, 200]


def test_a_tampered_page_token_or_another_users_is_400(new_client: Callable[[], HttpClient], user: str) -> None:
    mine = [issued(new_client, user) for _ in range(2)]
    other = [issued(new_client, f"{user}-other") for _ in range(2)]
    my_token, their_token = (listing(devices[0], "?limit=1")[1]["nextPageToken"] for devices in (mine, other))
    header, payload, signature = my_token.split(".")
    tampered = [f"{header}.{payload}.{signature[:-2]}AA", f"{header}.{payload[:-2]}AA.{signature}", "garbage"]

    for page_token in [*tampered, their_token]:
        answer = mine[0].get(f"/tokens/sessions?pageToken={page_token}")
        assert (answer.status, answer.body) == (400, error_body(messages.PAGE_TOKEN_INVALID)), page_token


def test_a_query_over_1024_characters_is_400(new_client: Callable[[], HttpClient], user: str) -> None:
    device = issued(new_client, user)
    longest = "?limit=5&x=" + "a" * (1024 - len("limit=5&x="))
    assert listing(device, longest)[0] == 200
    answer = device.get(f"/tokens/sessions{longest}a")
    assert (answer.status, answer.body) == (400, error_body(messages.QUERY_TOO_LONG))


# DELETE /tokens/sessions/{sessionId}


def test_ending_another_of_ones_sessions_stops_its_refresh_and_keeps_this_one(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], user: str, dynamodb: DynamoDBClient
) -> None:
    laptop, phone = issued(new_client, user), issued(new_client, user)

    ended = laptop.request("DELETE", f"/tokens/sessions/{session_of(phone)}")

    assert (ended.status, ended.body, ended.set_cookies) == (200, SESSION_ENDED, [])
    assert scan_sessions(dynamodb, stack.table_name)[session_of(phone)]["status"] == "revoked"
    assert phone.post("/tokens/refresh").status == 419
    assert [session["sessionId"] for session in listing(laptop)[1]["sessions"]] == [session_of(laptop)]
    assert laptop.post("/tokens/refresh").status == 200


def test_ending_the_current_session_clears_both_cookies(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], user: str, dynamodb: DynamoDBClient
) -> None:
    device = issued(new_client, user)
    session_id, refresh_token = session_of(device), device.cookie_value("refreshToken")

    ended = device.request("DELETE", f"/tokens/sessions/{session_id}")

    assert (ended.status, ended.body) == (200, message_body(messages.SESSION_ENDED))
    assert sorted(cookie.split(";")[0] for cookie in ended.set_cookies) == ["accessToken=", "refreshToken="]
    assert all("Max-Age=0" in cookie for cookie in ended.set_cookies)
    assert scan_sessions(dynamodb, stack.table_name)[session_id]["status"] == "revoked"
    replay = new_client().post("/tokens/refresh", headers={"Cookie": f"refreshToken={refresh_token}"})
    assert replay.status == 419


def test_another_users_an_unknown_or_an_ended_session_is_404_alike(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], user: str, dynamodb: DynamoDBClient
) -> None:
    mine, logged_out, theirs = issued(new_client, user), issued(new_client, user), issued(new_client, f"{user}-b")
    ended = session_of(logged_out)
    assert logged_out.post("/tokens/revoke").status == 200

    for session_id in (session_of(theirs), UNKNOWN_SESSION, ended):
        answer = mine.request("DELETE", f"/tokens/sessions/{session_id}")
        assert (answer.status, answer.body, answer.set_cookies) == (404, NOT_FOUND, []), session_id
    assert scan_sessions(dynamodb, stack.table_name)[session_of(theirs)]["status"] == "active"
    assert theirs.post("/tokens/refresh").status == 200


@pytest.mark.parametrize("session_id", ["abc", "A" * 21, "A" * 23, "A" * 21 + ".", "A" * 21 + "%2F", "%00" * 22])
def test_a_malformed_session_id_is_400(new_client: Callable[[], HttpClient], user: str, session_id: str) -> None:
    answer = issued(new_client, user).request("DELETE", f"/tokens/sessions/{session_id}")
    assert (answer.status, answer.body) == (400, error_body(messages.SESSION_ID_INVALID))
