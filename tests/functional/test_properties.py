"""Arbitrary events at every handler: whatever arrives, the answer is a well-formed contract answer.

Properties, for every event: the handler does not raise; the status is one its route can
answer (never a 5xx but 503); the body is one JSON object `{"message": str}` (200) or
`{"errorMessage": str}` (anything else) in UTF-8; a 4xx sets no cookies. `GET /` answers
"Hello Token!" as text, whatever the event.

Events are built from a real one by replacing or dropping each key: bodies (JSON-ish or not,
text or base64, flag right or wrong, wrong types), headers (authorization among them),
cookie lists with `accessToken=` / `refreshToken=` prefixes, and the request context.
Tokens are arbitrary text, JWT-shaped text, and genuine tokens (issued before the run),
intact or mutated, so every branch of the checks is reached, success included.

Two event shapes are left to their own tests at the end, which fail today (product bugs):
strings holding lone surrogates (hypothesis' text excludes them by default) and a `cookies`
key that is a truthy non-iterable (a number, `true`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from infra.local.events import http_api_event
from tests.support.handler_calls import USER_ID, call
from tests.support.service import Service
from token_service.handlers import health, issue, refresh, revoke, validate
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint

run = hypothesis.settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MISSING = object()
SUCCESS_MESSAGES = {messages.ISSUED, messages.REFRESHED, messages.REVOKED, messages.REVOKED_EVERYWHERE}
ERROR_MESSAGES = (
    {value for name, value in vars(messages).items() if name.isupper() and isinstance(value, str)}
    - SUCCESS_MESSAGES
    - {messages.HEALTH}
)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


# --- strategies -----------------------------------------------------------------------------------
# Each event key is mostly well formed (so deep branches, success included, are reached) and
# otherwise odd: wrong types, junk, or missing altogether.


def mutate(token: str, mode: int, position: int, insert: str) -> str:
    """A genuine token with a character replaced (0), cut short (1), or text inserted (2)."""
    at = position % (len(token) + 1)
    if mode == 0 and token:
        at = min(at, len(token) - 1)
        replacement = insert[:1] or "A"
        return token[:at] + (replacement if replacement != token[at] else "B") + token[at + 1 :]
    if mode == 1:
        return token[:at]
    return token[:at] + insert + token[at:]


def tokens(genuine: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(genuine),
        st.sampled_from(genuine),
        st.builds(mutate, st.sampled_from(genuine), st.integers(0, 2), st.integers(0, 2000), st.text(max_size=3)),
        st.from_regex(r"[A-Za-z0-9_=-]{0,30}(\.[A-Za-z0-9_=-]{0,40}){0,4}", fullmatch=True),
        st.sampled_from(["", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.x"]),
        st.text(max_size=40),
    )


def mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Well formed three times in five, odd once, the key missing (MISSING) once."""
    return st.sampled_from(["good", "good", "good", "odd", "missing"]).flatmap(
        lambda kind: {"good": good, "odd": odd, "missing": st.just(MISSING)}[kind]
    )


def cookie_lists(token: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    name = st.sampled_from(["accessToken", "refreshToken", "accessToken", "refreshToken", "other"])
    cookie = st.builds(lambda n, v: f"{n}={v}", name, token)
    odd_name = st.sampled_from(["AccessToken", " accessToken", "refreshToken ", "accessToken", ""])
    odd_element = st.one_of(
        st.text(max_size=30),
        st.builds(lambda n, v: f"{n}={v}", odd_name, st.text(max_size=10)),
        st.integers(),
        st.none(),
        st.binary(max_size=6),
        st.lists(st.text(max_size=3), max_size=2),
    )
    odd = st.one_of(
        st.none(),
        st.lists(st.one_of(cookie, odd_element), max_size=4),
        st.text(max_size=30),
        st.builds(lambda v: f"accessToken={v}", token),
        st.dictionaries(cookie, st.text(max_size=3), max_size=2),
        st.binary(max_size=8),
    )
    return mostly(st.one_of(st.tuples(cookie).map(list), st.lists(cookie, min_size=1, max_size=3)), odd)


def header_maps(token: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    bearer = st.builds(lambda t: f"Bearer {t}", token)
    good = st.fixed_dictionaries(
        {"content-type": st.sampled_from(["application/json", "text/plain", "application/octet-stream"])},
        optional={"authorization": bearer, "user-agent": st.text(max_size=20)},
    )
    scheme = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "", "Bearer "])
    value = st.one_of(
        st.text(max_size=30),
        st.builds(lambda s, t: f"{s} {t}", scheme, token),
        st.integers(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
    )
    name = st.one_of(
        st.sampled_from(["authorization", "Authorization", "content-type", "user-agent", "cookie"]), st.text(max_size=8)
    )
    odd = st.one_of(
        st.none(),
        st.dictionaries(name, value, max_size=4),
        st.text(max_size=8),
        st.lists(st.text(max_size=4), max_size=2),
        st.integers(),
    )
    return mostly(good, odd)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
USER_IDS = st.one_of(st.just(USER_ID), st.text(min_size=1, max_size=128), st.text(max_size=140))


def bodies(token: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[object, object]]:
    """(body, isBase64Encoded): a JSON object as text or base64, mostly; otherwise anything."""
    fields = {
        "id": st.one_of(USER_IDS, USER_IDS, JSON_VALUES),
        "refreshToken": st.one_of(token, token, JSON_VALUES),
        "all": st.one_of(st.booleans(), st.booleans(), JSON_VALUES),
        "extra": JSON_VALUES,
    }
    document = st.one_of(
        *(
            st.fixed_dictionaries({name: fields[name]}, optional={k: v for k, v in fields.items() if k != name})
            for name in ("id", "refreshToken")
        ),
        st.fixed_dictionaries({}, optional=fields),
    )
    as_text = st.tuples(st.builds(json.dumps, document), st.just(False))
    as_base64 = st.tuples(
        st.builds(lambda d: base64.b64encode(json.dumps(d).encode()).decode(), document), st.just(True)
    )
    huge = st.sampled_from([json.dumps({"id": USER_ID, "pad": "x" * 17_000}), "[" * 20_000, "x" * 30_000])
    not_a_flag = st.one_of(st.none(), st.text(max_size=4), st.integers(0, 2))
    odd = st.one_of(
        st.tuples(
            st.one_of(st.builds(json.dumps, JSON_VALUES), st.text(max_size=60), huge), st.booleans() | not_a_flag
        ),
        st.tuples(st.builds(lambda raw: base64.b64encode(raw).decode(), st.binary(max_size=60)), st.just(True)),
        st.tuples(st.builds(json.dumps, document), st.just(True)),  # text flagged as base64
        st.tuples(st.builds(lambda d: base64.b64encode(json.dumps(d).encode()).decode(), document), not_a_flag),
        st.tuples(
            st.one_of(
                st.integers(),
                st.binary(max_size=8),
                st.lists(st.integers(), max_size=2),
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
            ),
            st.booleans(),
        ),
    )
    return mostly(st.one_of(as_text, as_text, as_base64), odd).map(
        lambda pair: (MISSING, MISSING) if pair is MISSING else pair
    )


def request_contexts(method: str, path: str) -> st.SearchStrategy[object]:
    field = st.one_of(st.text(max_size=12), st.integers(), st.none(), st.lists(st.integers(), max_size=2))
    http = st.one_of(
        st.none(),
        st.text(max_size=5),
        st.dictionaries(st.sampled_from(["method", "path", "sourceIp", "userAgent"]), field, max_size=4),
    )
    odd = st.one_of(
        st.none(),
        st.text(max_size=5),
        st.integers(),
        st.fixed_dictionaries({"http": http}, optional={"requestId": field}),
    )
    return mostly(st.just(http_api_event(method, path)["requestContext"]), odd)


@st.composite
def events(draw: st.DrawFn, method: str, path: str, genuine: list[str]) -> dict[str, Any]:
    token = tokens(genuine)
    body, flag = draw(bodies(token))
    event = http_api_event(method, path)
    replacements = {
        "headers": draw(header_maps(token)),
        "cookies": draw(cookie_lists(token)),
        "requestContext": draw(request_contexts(method, path)),
        "body": body,
        "isBase64Encoded": flag if draw(st.integers(0, 4)) else MISSING,
    }
    for key, value in replacements.items():
        if value is MISSING:
            event.pop(key, None)
        else:
            event[key] = value
    return event


# --- the properties ---------------------------------------------------------------------------------


def assert_contract_answer(response: Mapping[str, Any], statuses: frozenset[int]) -> None:
    status = response["statusCode"]
    assert status in statuses | {503}, status
    assert status < 500 or status == 503
    assert response["headers"]["content-type"] == JSON_CONTENT_TYPE
    document = json.loads(response["body"])
    response["body"].encode("utf-8")  # what API Gateway is handed must be UTF-8 text
    assert isinstance(document, dict) and len(document) == 1, document
    ((key, value),) = document.items()
    assert isinstance(value, str)
    if status == 200:
        assert key == "message"
        assert value in SUCCESS_MESSAGES or value == messages.validated(USER_ID), value
    else:
        assert key == "errorMessage"
        assert value in ERROR_MESSAGES, value
        assert "cookies" not in response, "an error never sets cookies"


def genuine_tokens(service: Service, sessions: int = 5) -> list[str]:
    """Both tokens of a few real sessions, for the strategies to present intact or mutated."""
    issued = [
        call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID}) for _ in range(sessions)
    ]
    return [answer.cookie_value(name) for answer in issued for name in ("accessToken", "refreshToken")]


@pytest.fixture
def genuine(service: Service) -> list[str]:
    """Issued once per test, shared by all of its examples (the fixture outlives them)."""
    return genuine_tokens(service)


@dataclass(frozen=True)
class Route:
    endpoint: Endpoint[Any]
    dependency: Callable[[Service], object]
    method: str
    path: str
    statuses: frozenset[int]

    def respond(self, service: Service, event: Mapping[str, Any]) -> dict[str, Any]:
        return self.endpoint.respond(event, self.dependency(service))


VALIDATE = Route(validate.handler, lambda s: s.validator, "GET", "/tokens/validate", frozenset({200, 400, 401}))
ISSUE = Route(issue.handler, lambda s: s.sessions, "POST", "/tokens", frozenset({200, 400, 413}))
REFRESH = Route(refresh.handler, lambda s: s.sessions, "POST", "/tokens/refresh", frozenset({200, 400, 401, 413, 419}))
REVOKE = Route(revoke.handler, lambda s: s.revocation, "POST", "/tokens/revoke", frozenset({200, 400, 401, 413, 419}))
ROUTES = [
    pytest.param(VALIDATE, id="validate"),
    pytest.param(ISSUE, id="issue"),
    pytest.param(REFRESH, id="refresh"),
    pytest.param(REVOKE, id="revoke"),
]
TOKEN_ROUTES = [route for route in ROUTES if route.id != "issue"]


@pytest.mark.parametrize("route", ROUTES)
@run
@given(data=st.data())
def test_any_event_gets_a_contract_answer(
    service: Service, genuine: list[str], route: Route, data: st.DataObject
) -> None:
    event = data.draw(events(route.method, route.path, genuine), label="event")

    response = route.respond(service, event)

    assert_contract_answer(response, route.statuses)
    hypothesis.event(f"status {response['statusCode']}")


@run
@given(data=st.data())
def test_health_answers_hello_token_to_any_event(data: st.DataObject) -> None:
    event = data.draw(events("GET", "/", ["a.b.c"]), label="event")

    response = health.handler.respond(event, None)

    assert response == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": messages.HEALTH,
    }


# --- event shapes that break the contract today ---------------------------------------------------


def as_event(method: str, path: str, **keys: object) -> dict[str, Any]:
    return {**http_api_event(method, path), **keys}


@pytest.mark.parametrize("route", TOKEN_ROUTES)
@run
@given(cookies=st.one_of(st.integers(min_value=1), st.just(True), st.floats(min_value=0.5, max_value=1e9)))
@example(cookies=1)
def test_cookies_that_are_not_a_list_get_a_contract_answer(service: Service, route: Route, cookies: object) -> None:
    response = route.respond(service, as_event(route.method, route.path, cookies=cookies))

    assert_contract_answer(response, frozenset({400}))


# One surrogate between ordinary characters: a high one followed by a low one would be a valid pair.
LONE_SURROGATE = st.characters(categories=["Cs"])


@pytest.mark.parametrize("route", TOKEN_ROUTES)
@run
@given(surrogate=LONE_SURROGATE, where=st.sampled_from(["cookie", "header", "body"]))
@example(surrogate="\ud800", where="body")
@example(surrogate="\ud800", where="cookie")
def test_tokens_with_lone_surrogates_get_a_contract_answer(
    service: Service, genuine: list[str], route: Route, surrogate: str, where: str
) -> None:
    token = genuine[0 if route is VALIDATE else 1] + surrogate
    method, path = route.method, route.path
    shapes: dict[str, Callable[[], dict[str, Any]]] = {
        "cookie": lambda: as_event(method, path, cookies=[f"accessToken={token}", f"refreshToken={token}"]),
        "header": lambda: as_event(method, path, headers={"authorization": f"Bearer {token}"}),
        # The body is what a client controls: the JSON escape of a lone surrogate.
        "body": lambda: as_event(method, path, body=json.dumps({"refreshToken": token}), isBase64Encoded=False),
    }

    response = route.respond(service, shapes[where]())

    assert_contract_answer(response, frozenset({400, 401}))


@run
@given(before=st.text(max_size=5), surrogate=LONE_SURROGATE, after=st.text(max_size=5))
@example(before="", surrogate="\ud800", after="")
def test_an_id_with_a_lone_surrogate_is_refused_with_400(
    service: Service, before: str, surrogate: str, after: str
) -> None:
    # json.dumps writes the surrogate as the escape \ud800, exactly what a client can send.
    event = as_event("POST", "/tokens", body=json.dumps({"id": before + surrogate + after}), isBase64Encoded=False)

    response = issue.handler.respond(event, service.sessions)

    assert (response["statusCode"], response["body"]) == (
        400,
        json.dumps({"errorMessage": messages.ID_INVALID}, ensure_ascii=False, separators=(",", ":")),
    )
