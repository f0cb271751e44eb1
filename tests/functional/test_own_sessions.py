"""The authorizer, and a user's own sessions behind it: listing them and ending one, in-process on moto."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Sequence
from typing import Any

import boto3
import jwt
import pytest

from infra.local.events import authorizer_event, http_api_event
from infra.local.provision import REGION
from tests.support.handler_calls import FORGED_TOKEN, USER_ID, Answer, call, end_session_call, expected_body
from tests.support.service import TABLE_NAME, Service, build_service
from token_service.config import TokenSource
from token_service.domain.access import Caller
from token_service.domain.key_rings import parse_key_ring
from token_service.domain.token_codecs import TokenCodec
from token_service.domain.values import TokenUse
from token_service.handlers import authorizer, issue, list_sessions, refresh, revoke
from token_service.http_api import messages
from token_service.http_api.responses import AuthorizerFailed

OTHER_USER = "another-user"
# pyjwt checks `iat` and `exp` against the real clock: the test's clock starts just before it.
START = int(time.time()) - 100
DENIED = {"isAuthorized": False}


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass(frozen=True)
class Login:
    """A login as its browser holds it, and the session it made."""

    access_token: str
    refresh_token: str
    session_id: str
    user_id: str

    @property
    def caller(self) -> dict[str, str]:
        return Caller(self.user_id, self.session_id).context()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(service: Service, clock: Clock) -> Service:
    """The service on the test's clock."""
    return build_service(service.settings, service.ssm, service.dynamodb, clock=clock)


def log_in(service: Service, user_id: str = USER_ID, user_agent: str = "insomnia/10.2.0") -> Login:
    answer = call(
        issue.handler,
        service.sessions,
        "POST",
        "/tokens",
        json_body={"id": user_id},
        headers={"user-agent": user_agent},
    )
    access = answer.cookie_value("accessToken")
    session_id = jwt.decode(access, options={"verify_signature": False})["sid"]
    return Login(access, answer.cookie_value("refreshToken"), session_id, user_id)


def authorize(service: Service, cookies: Sequence[str] = (), headers: dict[str, str] | None = None) -> Any:
    request = http_api_event("GET", "/tokens/sessions", cookies=cookies, headers=headers)
    return authorizer.handler.respond(authorizer_event(request, identity_source=list(cookies)), service.authorizer)


def listed(service: Service, caller: Login, query: str = "") -> Answer:
    return call(
        list_sessions.handler, service.listing, "GET", "/tokens/sessions", query=query, authorizer=caller.caller
    )


def end(service: Service, caller: Login, session_id: str) -> Answer:
    return end_session_call(service.ending, caller.caller, session_id)


def stored_status(service: Service, session_id: str) -> str:
    item = service.dynamodb.get_item(TableName=TABLE_NAME, Key={"sessionId": {"S": session_id}})["Item"]
    return item["status"]["S"]


# The authorizer


def reading(service: Service, source: TokenSource) -> Service:
    """The service with the authorizer reading the token from `source` only."""
    settings = dataclasses.replace(service.settings, authorizer_token_source=source)
    return build_service(settings, service.ssm, service.dynamodb)


def test_the_authorizer_lets_a_valid_access_token_through_naming_its_user_and_session(service: Service) -> None:
    login = log_in(service)
    bearer = {"authorization": f"Bearer {login.access_token}"}
    cookie = [f"accessToken={login.access_token}"]

    allowed = {"isAuthorized": True, "context": {"userId": USER_ID, "sessionId": login.session_id}}
    assert authorize(service, cookies=cookie) == allowed, "the template's default source: the cookie"
    assert authorize(reading(service, TokenSource.BEARER), headers=bearer) == allowed
    either = reading(service, TokenSource.EITHER)
    assert authorize(either, cookies=cookie) == authorize(either, headers=bearer) == allowed


def test_the_authorizer_decides_on_its_identity_source_alone(service: Service) -> None:
    """API Gateway caches the answer on that header: a token beside it must never decide."""
    login = log_in(service)
    valid_bearer = {"authorization": f"Bearer {login.access_token}"}
    other_cookie = ["theme=dark"]

    assert authorize(service, cookies=other_cookie, headers=valid_bearer) == DENIED
    placeholder = {"authorization": "Bearer undefined"}
    assert (
        authorize(
            reading(service, TokenSource.BEARER), cookies=[f"accessToken={login.access_token}"], headers=placeholder
        )
        == DENIED
    )


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda login, service: "", id="empty cookie"),
        pytest.param(lambda login, service: "not.a.jwt", id="malformed"),
        pytest.param(lambda login, service: FORGED_TOKEN, id="foreign key"),
        pytest.param(lambda login, service: login.refresh_token, id="a refresh token"),
        pytest.param(lambda login, service: login.access_token[:-2] + "AA", id="signature altered"),
    ],
)
def test_the_authorizer_denies_a_token_that_is_not_a_valid_access_token(service: Service, token: Any) -> None:
    login = log_in(service)

    assert authorize(service, cookies=[f"accessToken={token(login, service)}"]) == DENIED


def test_the_authorizer_denies_a_request_without_a_token(service: Service) -> None:
    assert authorize(service) == DENIED


def lagging(service: Service, seconds: int) -> Service:
    """The service on a clock `seconds` behind: what it mints now has aged that long for pyjwt."""
    return build_service(service.settings, service.ssm, service.dynamodb, clock=lambda: time.time() - seconds)


def test_the_authorizer_denies_an_expired_access_token(service: Service) -> None:
    login = log_in(lagging(service, service.settings.access_token_ttl + 10))

    assert authorize(service, cookies=[f"accessToken={login.access_token}"]) == DENIED


def test_the_authorizer_denies_an_access_token_of_an_ended_session(service: Service) -> None:
    login = log_in(service)
    cookies = [f"accessToken={login.access_token}", f"refreshToken={login.refresh_token}"]
    assert call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=cookies).status == 200

    assert authorize(service, cookies=[f"accessToken={login.access_token}"]) == DENIED


def trusting_tokens_alone(service: Service, dynamodb: Any) -> Service:
    settings = dataclasses.replace(service.settings, authorizer_checks_session=False)
    return build_service(settings, service.ssm, dynamodb)


def unreachable_dynamodb() -> Any:
    make: Any = boto3.client
    return make("dynamodb", endpoint_url="http://127.0.0.1:9", region_name=REGION)


def test_without_the_session_check_the_authorizer_trusts_the_token_and_never_reads_the_table(service: Service) -> None:
    login = log_in(service)
    call(
        revoke.handler,
        service.revocation,
        "POST",
        "/tokens/revoke",
        cookies=[f"refreshToken={login.refresh_token}"],
    )
    trusting = trusting_tokens_alone(service, unreachable_dynamodb())

    assert authorize(trusting, cookies=[f"accessToken={login.access_token}"])["isAuthorized"] is True


def test_the_authorizer_fails_rather_than_denies_when_the_table_is_unreachable(service: Service) -> None:
    login = log_in(service)
    checking = build_service(service.settings, service.ssm, unreachable_dynamodb())

    with pytest.raises(AuthorizerFailed):
        authorize(checking, cookies=[f"accessToken={login.access_token}"])


def test_the_authorizer_denies_an_access_token_that_names_no_session(service: Service) -> None:
    log_in(service)  # the ring exists and has signed
    stored = service.ssm.get_parameter(Name=service.settings.access_keys_parameter, WithDecryption=True)
    ring = parse_key_ring(stored["Parameter"]["Value"])
    now = int(time.time())
    codec = TokenCodec(TokenUse.ACCESS, service.settings.issuer, service.settings.audience)
    without_session = codec.mint(ring, user_id=USER_ID, token_id="t", issued_at=now, expires_at=now + 60)

    assert authorize(service, cookies=[f"accessToken={without_session}"]) == DENIED


# Listing


def test_the_listing_shows_the_users_live_sessions_newest_first_and_which_one_asks(
    timed: Service, clock: Clock
) -> None:
    logins = []
    for agent in ("phone", "laptop", "tablet"):
        logins.append(log_in(timed, user_agent=agent))
        clock.now += 1
    log_in(timed, OTHER_USER)
    phone, laptop, _tablet = logins

    answer = listed(timed, laptop)

    assert answer.status == 200
    body = answer.json()
    assert body["message"] == messages.SESSIONS_LISTED
    assert "nextPageToken" not in body
    assert body["sessions"] == [
        {
            "sessionId": login.session_id,
            "createdAt": START + index,
            "lastRotatedAt": START + index,
            "ip": "127.0.0.1",
            "userAgent": agent,
            "current": login is laptop,
        }
        for index, agent, login in reversed(list(zip(range(3), ("phone", "laptop", "tablet"), logins, strict=True)))
    ]
    for secret in (phone.access_token, phone.refresh_token, *stored_token_ids(timed)):
        assert secret not in answer.body


def stored_token_ids(service: Service) -> list[str]:
    items = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [item[name]["S"] for item in items for name in ("currentTokenId", "previousTokenId") if name in item]


def test_the_listing_leaves_out_ended_and_expired_sessions_and_shows_rotation(timed: Service, clock: Clock) -> None:
    ended, rotated = log_in(timed), log_in(timed)
    call(revoke.handler, timed.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={ended.refresh_token}"])
    clock.now += 5
    assert (
        call(
            refresh.handler,
            timed.sessions,
            "POST",
            "/tokens/refresh",
            cookies=[f"refreshToken={rotated.refresh_token}"],
        ).status
        == 200
    )

    sessions = listed(timed, rotated).json()["sessions"]

    assert [(shown["sessionId"], shown["lastRotatedAt"]) for shown in sessions] == [(rotated.session_id, START + 5)]
    clock.now = START + timed.settings.refresh_token_ttl
    assert listed(timed, rotated).json()["sessions"] == []


def test_the_listing_pages_through_every_session_once(timed: Service, clock: Clock) -> None:
    logins = []
    for _ in range(5):
        logins.append(log_in(timed))
        clock.now += 1

    shown: list[str] = []
    pages = 0
    query = "limit=2"
    while True:
        body = listed(timed, logins[0], query).json()
        shown += [session["sessionId"] for session in body["sessions"]]
        pages += 1
        if "nextPageToken" not in body:
            break
        query = f"limit=2&pageToken={body['nextPageToken']}"

    assert shown == [login.session_id for login in reversed(logins)]
    assert pages == 3


def next_page_token(service: Service, login: Login) -> str:
    log_in(service, login.user_id)
    token: str = listed(service, login, "limit=1").json()["nextPageToken"]
    return token


def test_a_page_token_is_the_users_own_and_untampered(timed: Service) -> None:
    mine, theirs = log_in(timed), log_in(timed, OTHER_USER)
    token = next_page_token(timed, mine)
    header, _claims, signature = token.split(".")
    altered_claims = jwt.utils.base64url_encode(
        json.dumps({**jwt.decode(token, options={"verify_signature": False}), "sub": OTHER_USER}).encode()
    ).decode()
    invalid = expected_body("errorMessage", messages.PAGE_TOKEN_INVALID)

    for presented, caller in [
        (token, theirs),  # another user's
        (f"{header}.{altered_claims}.{signature}", theirs),  # tampered with
        (mine.access_token, mine),  # an access token is no page token
        ("", mine),
        ("x" * 1000, mine),
    ]:
        answer = listed(timed, caller, f"pageToken={presented}")
        assert (answer.status, answer.body) == (400, invalid)
    expired = next_page_token(lagging(timed, 1000), mine)
    assert listed(timed, mine, f"pageToken={expired}").status == 400, "expired"


@pytest.mark.parametrize("limit", ["0", "51", "-1", "abc", "1,2", "", "1.5", "0x10", " 5"])
def test_a_bad_limit_is_400(service: Service, limit: str) -> None:
    answer = listed(service, log_in(service), f"limit={limit}")

    assert (answer.status, answer.body) == (400, expected_body("errorMessage", messages.LIMIT_INVALID))


def test_an_over_long_query_string_is_400(service: Service) -> None:
    answer = listed(service, log_in(service), "limit=1&padding=" + "a" * 1024)

    assert (answer.status, answer.body) == (400, expected_body("errorMessage", messages.QUERY_TOO_LONG))


def test_a_route_reached_without_the_authorizer_refuses(service: Service) -> None:
    answer = call(list_sessions.handler, service.listing, "GET", "/tokens/sessions")

    assert (answer.status, answer.body) == (401, expected_body("errorMessage", messages.ACCESS_TOKEN_INVALID))


# Ending one


def test_ending_another_of_ones_sessions_revokes_it_and_keeps_the_cookies(service: Service) -> None:
    laptop, phone = log_in(service), log_in(service)

    answer = end(service, laptop, phone.session_id)

    assert (answer.status, answer.body, answer.cookies) == (200, expected_body("message", messages.SESSION_ENDED), [])
    assert stored_status(service, phone.session_id) == "revoked"
    phone_refresh = call(
        refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={phone.refresh_token}"]
    )
    assert phone_refresh.status == 419
    assert [shown["sessionId"] for shown in listed(service, laptop).json()["sessions"]] == [laptop.session_id]


def test_ending_the_requesting_session_clears_its_cookies(service: Service) -> None:
    laptop = log_in(service)

    answer = end(service, laptop, laptop.session_id)

    assert answer.status == 200
    assert sorted(cookie.split(";")[0] for cookie in answer.cookies) == ["accessToken=", "refreshToken="]
    assert all("Max-Age=0" in cookie and "HttpOnly" in cookie for cookie in answer.cookies)


def test_another_users_unknown_and_ended_sessions_are_404_alike(service: Service) -> None:
    mine, theirs = log_in(service), log_in(service, OTHER_USER)
    ended = log_in(service)
    assert end(service, mine, ended.session_id).status == 200
    not_found = (404, expected_body("errorMessage", messages.SESSION_NOT_FOUND))

    for session_id in (theirs.session_id, "A" * 22, ended.session_id):
        answer = end(service, mine, session_id)
        assert (answer.status, answer.body, answer.cookies) == (*not_found, [])
    assert stored_status(service, theirs.session_id) == "active"


@pytest.mark.parametrize("session_id", ["short", "A" * 23, "A" * 21 + "!", "A" * 21 + "%", ""])
def test_a_malformed_session_id_is_400(service: Service, session_id: str) -> None:
    answer = end(service, log_in(service), session_id)

    assert (answer.status, answer.body) == (400, expected_body("errorMessage", messages.SESSION_ID_INVALID))


# What they log


def test_the_routes_and_the_authorizer_log_their_outcome_and_no_token(
    service: Service, log_output: io.StringIO
) -> None:
    laptop, phone = log_in(service), log_in(service)
    authorize(service, cookies=[f"accessToken={laptop.access_token}"])
    authorize(service, cookies=[f"accessToken={laptop.refresh_token}"])
    page_token = listed(service, laptop, "limit=1").json()["nextPageToken"]
    listed(service, laptop, f"pageToken={page_token}x")
    end(service, laptop, phone.session_id)
    end(service, laptop, phone.session_id)

    output = log_output.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if '"message":"request"' in line]
    assert [line["outcome"] for line in lines][2:] == [
        "authorized",
        "rejected:access_token_invalid",
        "listed",
        "rejected:page_token_invalid",
        "session_ended",
        "rejected:session_not_found",
    ]
    for secret in (laptop.access_token, laptop.refresh_token, page_token, page_token.split(".")[2]):
        assert secret not in output
