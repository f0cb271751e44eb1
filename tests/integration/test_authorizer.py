"""The Lambda authorizer in front of the sessions routes, as the local front runs it from the template:
API Gateway's 401 and 403 before any route's function runs, and its cache of answers.

The suite's stack has the template's defaults: the identity source is the Cookie header, answers
are cached 10 s, and the authorizer checks that the token's session is live. What ran is read
from the events the front handed out: an authorizer's has `type` REQUEST, a route's has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from infra.local.deployment import LocalDeployment
from tests.support.api_gateway import FORBIDDEN, UNAUTHORIZED, kinds
from tests.support.http_client import HttpClient
from tests.support.tokens import issued, refused_access_tokens

PROTECTED = [("GET", "/tokens/sessions"), ("DELETE", "/tokens/sessions/" + "A" * 22)]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers", [{}, {"Cookie": ""}, {"Authorization": "Bearer x"}], ids=["nothing", "empty cookie", "bearer only"]
)
def test_without_a_cookie_header_it_is_401_and_nothing_runs(
    stack: LocalDeployment, client: HttpClient, method: str, path: str, headers: dict[str, str]
) -> None:
    with stack.captured_events() as events:
        answer = client.request(method, path, headers=headers)
    assert (answer.status, answer.body, answer.headers["Content-Type"]) == (401, UNAUTHORIZED, "application/json")
    assert events == []


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_bad_access_token_is_403_before_any_route_function_runs(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], method: str, path: str
) -> None:
    tokens = refused_access_tokens(stack, new_client) | {"garbage": "garbage", "three dots": "a.b.c"}
    for name, token in tokens.items():
        with stack.captured_events() as events:
            answer = new_client().request(method, path, headers={"Cookie": f"accessToken={token}; t={uuid.uuid4()}"})
        assert (answer.status, answer.body, answer.headers["Content-Type"]) == (403, FORBIDDEN, "application/json")
        assert kinds(events) == ["authorizer"], name


def test_a_cookie_without_the_access_token_is_403(stack: LocalDeployment, client: HttpClient) -> None:
    with stack.captured_events() as events:
        answer = client.get("/tokens/sessions", headers={"Cookie": f"theme=dark; t={uuid.uuid4()}"})
    assert (answer.status, answer.body, kinds(events)) == (403, FORBIDDEN, ["authorizer"])


def test_the_authorizer_gets_the_route_and_the_cookie_header_as_its_identity_source(
    stack: LocalDeployment, new_client: Callable[[], HttpClient]
) -> None:
    device = issued(new_client)
    cookie = f"accessToken={device.cookie_value('accessToken')}"
    with stack.captured_events() as events:
        answer = new_client().request("DELETE", "/tokens/sessions/" + "A" * 22, headers={"Cookie": cookie})
    assert answer.status == 404
    asked, served = events
    assert (asked["type"], asked["identitySource"], asked["routeKey"]) == (
        "REQUEST",
        [cookie],
        "DELETE /tokens/sessions/{sessionId}",
    )
    assert asked["pathParameters"] == served["pathParameters"] == {"sessionId": "A" * 22}
    assert served["routeKey"] == "DELETE /tokens/sessions/{sessionId}"
    assert set(served["requestContext"]["authorizer"]["lambda"]) == {"userId", "sessionId"}


@pytest.mark.parametrize("allowed", [True, False], ids=["an allowance", "a denial"])
def test_an_answer_is_served_from_the_cache_for_the_same_cookie_header(
    stack: LocalDeployment, new_client: Callable[[], HttpClient], allowed: bool
) -> None:
    token = issued(new_client).cookie_value("accessToken") if allowed else "forged"
    cookie = {"Cookie": f"accessToken={token}; t={uuid.uuid4()}"}  # a header no other test sends
    with stack.captured_events() as events:
        answers = [new_client().get("/tokens/sessions", headers=cookie) for _ in range(2)]
        other = new_client().get("/tokens/sessions", headers={"Cookie": f"{cookie['Cookie']}; more=1"})
    assert [answer.status for answer in [*answers, other]] == [200 if allowed else 403] * 3
    # The authorizer ran once for the header, and again for another header carrying the same token.
    expected = ["authorizer", "route", "route", "authorizer", "route"] if allowed else ["authorizer", "authorizer"]
    assert kinds(events) == expected
