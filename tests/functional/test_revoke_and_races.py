"""Logout, the grace window for concurrent refreshes, and the refresh race, through the real handlers."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

import jwt
import pytest

from tests.support.handler_calls import USER_ID, Answer, call, expected_body
from tests.support.service import TABLE_NAME, Service, build_service
from token_service.handlers import issue, refresh, revoke, validate
from token_service.http_api import messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CLEARED = [
    "accessToken=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
    "refreshToken=; Path=/tokens; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
]
SESSION_GONE = expected_body("errorMessage", messages.REFRESH_SESSION_UNKNOWN)


def login(service: Service, user_id: str = USER_ID) -> str:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": user_id})
    return answer.cookie_value("refreshToken")


def refresh_with(service: Service, token: str) -> Answer:
    return call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])


def statuses(service: Service) -> dict[str, str]:
    items = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return {item["sessionId"]["S"]: item["status"]["S"] for item in items}


def test_revoke_ends_the_session_and_clears_both_cookies(service: Service) -> None:
    token = login(service)

    answer = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={token}"])

    assert (answer.status, answer.body) == (200, expected_body("message", messages.REVOKED))
    assert list(answer.cookies) == CLEARED
    assert list(statuses(service).values()) == ["revoked"]
    assert (refresh_with(service, token).status, refresh_with(service, token).body) == (419, SESSION_GONE)


def test_revoke_takes_the_token_from_a_json_body(service: Service) -> None:
    token = login(service)
    answer = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", json_body={"refreshToken": token})
    assert answer.status == 200
    assert list(statuses(service).values()) == ["revoked"]


def test_revoke_is_idempotent_even_when_the_session_is_gone(service: Service) -> None:
    token = login(service)
    (session_id,) = statuses(service)
    call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={token}"])
    again = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={token}"])
    service.dynamodb.delete_item(TableName=TABLE_NAME, Key={"sessionId": {"S": session_id}})
    gone = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={token}"])

    assert (again.status, gone.status) == (200, 200)
    assert service.dynamodb.scan(TableName=TABLE_NAME)["Items"] == [], "revoking a deleted session recreates nothing"


def test_revoke_all_ends_every_session_of_the_user_and_no_one_elses(service: Service) -> None:
    phone, laptop = login(service), login(service)
    other = login(service, "someone-else")

    answer = call(
        revoke.handler, service.revocation, "POST", "/tokens/revoke", json_body={"refreshToken": phone, "all": True}
    )

    assert (answer.status, answer.body) == (200, expected_body("message", messages.REVOKED_EVERYWHERE))
    assert list(answer.cookies) == CLEARED
    assert refresh_with(service, laptop).status == 419
    assert refresh_with(service, other).status == 200
    assert Counter(statuses(service).values()) == {"revoked": 2, "active": 1}


def revoke_with(service: Service, token: str, *, everywhere: bool = False) -> Answer:
    body = {"refreshToken": token, "all": everywhere}
    return call(revoke.handler, service.revocation, "POST", "/tokens/revoke", json_body=body)


@pytest.mark.parametrize("everywhere", [False, True])
def test_a_rotated_away_token_presented_to_revoke_is_a_replay_that_ends_its_own_session_only(
    service: Service, everywhere: bool
) -> None:
    stolen, laptop = login(service), login(service)
    refresh_with(service, stolen)

    answer = revoke_with(service, stolen, everywhere=everywhere)

    assert (answer.status, answer.body, answer.cookies) == (419, SESSION_GONE, [])
    assert Counter(statuses(service).values()) == {"revoked": 1, "active": 1}
    assert refresh_with(service, laptop).status == 200


def test_logging_out_everywhere_needs_a_live_session(service: Service) -> None:
    logged_out, laptop = login(service), login(service)
    assert revoke_with(service, logged_out).status == 200

    answer = revoke_with(service, logged_out, everywhere=True)

    assert (answer.status, answer.body) == (419, SESSION_GONE)
    assert refresh_with(service, laptop).status == 200


def test_logging_out_everywhere_ends_many_sessions(service: Service) -> None:
    tokens = [login(service) for _ in range(60)]

    answer = revoke_with(service, tokens[0], everywhere=True)

    assert answer.status == 200
    assert Counter(statuses(service).values()) == {"revoked": 60}


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({}, 400, messages.REFRESH_TOKEN_MISSING),
        ({"cookies": ["refreshToken=garbage"]}, 401, messages.REFRESH_TOKEN_INVALID),
        ({"json_body": {"all": True}}, 400, messages.REFRESH_TOKEN_MISSING),
        ({"json_body": {"refreshToken": "x", "all": "yes"}}, 400, messages.ALL_NOT_BOOLEAN),
        ({"body": b"[1]"}, 400, messages.BODY_NOT_JSON_OBJECT),
    ],
)
def test_revoke_rejects_bad_requests(service: Service, kwargs: dict[str, object], status: int, message: str) -> None:
    answer = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", **kwargs)  # type: ignore[arg-type]
    assert (answer.status, answer.body, answer.cookies) == (status, expected_body("errorMessage", message), [])


def test_revoke_rejects_an_access_token(service: Service) -> None:
    access = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID}).cookie_value(
        "accessToken"
    )
    answer = call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={access}"])
    assert answer.status == 401


def token_id(token: str) -> str:
    jti: str = jwt.decode(token, options={"verify_signature": False})["jti"]
    return jti


def lenient_service(service: Service, grace: int = 30) -> Service:
    settings = dataclasses.replace(service.settings, refresh_grace_seconds=grace)
    return build_service(settings, service.ssm, service.dynamodb)


def test_within_the_grace_window_the_rotated_token_gets_the_sessions_current_refresh_token(service: Service) -> None:
    lenient = lenient_service(service)
    old = login(lenient)
    new = refresh_with(lenient, old).cookie_value("refreshToken")

    retry = refresh_with(lenient, old)

    assert (retry.status, retry.body) == (200, expected_body("message", messages.REFRESHED))
    assert token_id(retry.cookie_value("refreshToken")) == token_id(new)
    assert re.fullmatch(
        r"refreshToken=[^;]+; Path=/tokens; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict",
        retry.cookie("refreshToken"),
    )
    access = retry.cookie_value("accessToken")
    assert (
        call(validate.handler, lenient.validator, "GET", "/tokens/validate", cookies=[f"accessToken={access}"]).status
        == 200
    )
    assert list(statuses(lenient).values()) == ["active"]
    assert refresh_with(lenient, new).status == 200, "the winner's token stays the session's current one"


def test_two_tabs_refreshing_concurrently_both_carry_on(service: Service) -> None:
    atomic_requests(service.dynamodb)
    lenient = lenient_service(service)
    shared = login(lenient)
    tabs = {"first": shared, "second": shared}
    answers: list[int] = []

    def carry_on(tab: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        answer = refresh_with(lenient, tabs[tab])
        answers.append(answer.status)
        tabs[tab] = answer.cookie_value("refreshToken")

    for _ in range(4):  # the first refresh of the shared token, then three more rotations each
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=carry_on, args=(tab, barrier)) for tab in tabs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert answers == [200] * 8
    assert list(statuses(lenient).values()) == ["active"]
    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert item["currentTokenId"]["S"] in {token_id(token) for token in tabs.values()}


def test_after_the_grace_window_the_rotated_token_is_a_replay(service: Service) -> None:
    settings = dataclasses.replace(service.settings, refresh_grace_seconds=5)
    lenient = build_service(settings, service.ssm, service.dynamodb)
    old = login(lenient)
    refresh_with(lenient, old)
    later = build_service(settings, service.ssm, service.dynamodb, clock=lambda: time.time() + 6)

    assert refresh_with(later, old).status == 419
    assert list(statuses(lenient).values()) == ["revoked"]


def test_an_older_token_than_the_previous_one_is_a_replay_even_within_the_window(service: Service) -> None:
    lenient = lenient_service(service)
    first = login(lenient)
    second = refresh_with(lenient, first).cookie_value("refreshToken")
    refresh_with(lenient, second)

    assert refresh_with(lenient, first).status == 419
    assert list(statuses(lenient).values()) == ["revoked"]


def atomic_requests(client: DynamoDBClient) -> None:
    """Make the emulator keep DynamoDB's guarantee that each request applies atomically.

    moto checks a condition and applies the write in separate, unlocked steps, so two racing
    conditional writes can both pass there; they never can on DynamoDB.
    """
    lock = threading.Lock()

    def acquire(**_: object) -> None:  # a before-call handler that returns a value would answer the call
        lock.acquire()

    def release(**_: object) -> None:
        lock.release()

    client.meta.events.register("before-call.dynamodb", acquire)
    client.meta.events.register("after-call.dynamodb", release)


@pytest.mark.parametrize("grace", [0, 30])
def test_concurrent_refreshes_of_one_token_rotate_exactly_once(service: Service, grace: int) -> None:
    atomic_requests(service.dynamodb)
    racers = build_service(
        dataclasses.replace(service.settings, refresh_grace_seconds=grace), service.ssm, service.dynamodb
    )
    token = login(racers)
    barrier = threading.Barrier(12)
    answers: list[Answer] = []

    def race() -> None:
        barrier.wait()
        answers.append(refresh_with(racers, token))

    threads = [threading.Thread(target=race) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert item["previousTokenId"]["S"] == token_id(token), "exactly one request rotated the presented token"
    succeeded = [a for a in answers if a.status == 200]
    assert {token_id(a.cookie_value("refreshToken")) for a in succeeded} == {item["currentTokenId"]["S"]}
    assert Counter(a.status for a in answers) == ({200: 1, 419: 11} if grace == 0 else {200: 12})
    assert item["status"]["S"] == ("revoked" if grace == 0 else "active")
