"""Every error row of the contract (DESIGN.md §1) over HTTP, byte for byte, and the health route."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from infra.local.deployment import LocalDeployment
from tests.support.bad_bodies import BAD_ISSUE_BODIES
from tests.support.http_client import USER_ID, HttpClient, claims, error_body, message_body
from tests.support.stack_fixtures import scan_sessions
from tests.support.tokens import codec, issued, key_ring, refused_access_tokens
from tests.support.walkthrough import SESSION_UNKNOWN, FrontBasics
from token_service.domain.values import TokenUse
from token_service.http_api import messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCESS_INVALID = error_body("Access Token이 유효하지 않습니다.")
REFRESH_INVALID = error_body("Refresh Token이 유효하지 않습니다.")


class TestFrontBasics(FrontBasics):
    """Through the local stack's front."""


# GET /tokens/validate


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 5000])
def test_validate_with_a_garbage_access_token_is_401(client: HttpClient, token: str) -> None:
    answer = client.get("/tokens/validate", headers={"Cookie": f"accessToken={token}"})
    assert (answer.status, answer.body) == (401, ACCESS_INVALID)


def test_validate_refuses_expired_wrong_type_and_unknown_key_tokens_with_401(
    stack: LocalDeployment, new_client: Callable[[], HttpClient]
) -> None:
    for token in refused_access_tokens(stack, new_client).values():
        answer = new_client().get("/tokens/validate", headers={"Cookie": f"accessToken={token}"})
        assert (answer.status, answer.body) == (401, ACCESS_INVALID), claims(token)


def test_validate_accepts_a_bearer_header(new_client: Callable[[], HttpClient]) -> None:
    access = issued(new_client).cookie_value("accessToken")
    answer = new_client().get("/tokens/validate", headers={"Authorization": f"Bearer {access}"})
    assert (answer.status, answer.body) == (
        200,
        message_body(f"{USER_ID}의 Payload를 가진 Token이 성공적으로 인증되었습니다."),
    )


# POST /tokens/refresh


def test_the_refresh_cookie_travels_to_the_token_routes_only(
    stack: LocalDeployment, new_client: Callable[[], HttpClient]
) -> None:
    client = issued(new_client)
    with stack.captured_events() as events:
        client.get("/")
        client.post("/tokens/refresh")
    sent = [sorted(cookie.split("=", 1)[0] for cookie in event.get("cookies", [])) for event in events]
    assert sent == [["accessToken"], ["accessToken", "refreshToken"]]


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_with_a_garbage_refresh_token_is_401(client: HttpClient, token: str) -> None:
    answer = client.post("/tokens/refresh", headers={"Cookie": f"refreshToken={token}"})
    assert (answer.status, answer.body) == (401, REFRESH_INVALID)


def test_refresh_with_an_access_token_or_an_expired_one_is_401(
    stack: LocalDeployment, new_client: Callable[[], HttpClient]
) -> None:
    access = issued(new_client).cookie_value("accessToken")
    now = int(time.time())
    expired = codec(stack, TokenUse.REFRESH).mint(
        key_ring(stack, "refresh"),
        user_id=USER_ID,
        token_id="t",
        issued_at=now - 90000,
        expires_at=now - 100,
        session_id="s",
    )
    for token in (access, expired):
        answer = new_client().post("/tokens/refresh", headers={"Cookie": f"refreshToken={token}"})
        assert (answer.status, answer.body) == (401, REFRESH_INVALID)


def test_refresh_of_a_session_the_server_does_not_know_is_419(
    stack: LocalDeployment, client: HttpClient, dynamodb: DynamoDBClient
) -> None:
    now = int(time.time())
    forged = codec(stack, TokenUse.REFRESH).mint(
        key_ring(stack, "refresh"),
        user_id=USER_ID,
        token_id="never-issued",
        issued_at=now,
        expires_at=now + 600,
        session_id="never-issued",
    )
    answer = client.post("/tokens/refresh", headers={"Cookie": f"refreshToken={forged}"})
    assert (answer.status, answer.body) == (419, SESSION_UNKNOWN)
    assert "never-issued" not in scan_sessions(dynamodb, stack.table_name)


def test_refresh_accepts_the_token_in_a_json_body(new_client: Callable[[], HttpClient]) -> None:
    token = issued(new_client).cookie_value("refreshToken")
    answer = new_client().post("/tokens/refresh", json_body={"refreshToken": token})
    assert (answer.status, answer.body) == (200, message_body("Access Token을 새롭게 발급하였습니다."))


# POST /tokens


@pytest.mark.parametrize(("body", "message"), BAD_ISSUE_BODIES)
def test_issue_refuses_bad_bodies_with_400(client: HttpClient, body: bytes | None, message: str) -> None:
    answer = client.post("/tokens", body=body, headers={"Content-Type": "application/json"})
    assert (answer.status, answer.body) == (400, error_body(message))
    assert answer.set_cookies == []


def test_issue_refuses_a_body_over_16_kib_with_413(client: HttpClient) -> None:
    answer = client.post("/tokens", json_body={"id": USER_ID, "padding": "x" * (16 * 1024)})
    assert (answer.status, answer.body) == (413, error_body(messages.BODY_TOO_LARGE))
    assert answer.set_cookies == []


# POST /tokens/revoke (an addition to the reference)


def test_revoke_clears_both_cookies_and_ends_the_session(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], dynamodb: DynamoDBClient
) -> None:
    client = issued(new_client)
    session_id = claims(client.cookie_value("refreshToken"))["sid"]
    refresh_token = client.cookie_value("refreshToken")

    answer = client.post("/tokens/revoke")

    assert (answer.status, answer.body) == (200, message_body(messages.REVOKED))
    assert sorted(cookie.split(";")[0] for cookie in answer.set_cookies) == ["accessToken=", "refreshToken="]
    assert all("Max-Age=0" in cookie for cookie in answer.set_cookies)
    assert list(client.jar) == []
    assert scan_sessions(dynamodb, stack.table_name)[session_id]["status"] == "revoked"
    replay = new_client().post("/tokens/refresh", headers={"Cookie": f"refreshToken={refresh_token}"})
    assert (replay.status, replay.body) == (419, SESSION_UNKNOWN)
