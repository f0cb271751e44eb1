"""The authorizer under the template's other settings, each on a stack of its own: a short cache,
the bearer header as identity source without the session check, and either source (no cache).

A process runs one stack at a time: the suite runs this module before it starts its shared stack
(conftest.OWN_STACKS), and its fixtures here replace the ones that would start it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from infra.local.deployment import LocalDeployment
from tests.support.api_gateway import FORBIDDEN, UNAUTHORIZED, kinds
from tests.support.http_client import HttpClient
from tests.support.stack_fixtures import local_deployment
from tests.support.tokens import issued


@pytest.fixture(autouse=True)
def isolated_aws_environment() -> None:
    """The module's stack set the environment its handlers run in; the suite's shared stack must not start."""


@pytest.fixture(scope="class")
def stack(request: pytest.FixtureRequest) -> Iterator[LocalDeployment]:
    with local_deployment(request.cls.parameters) as running:
        yield running


@pytest.fixture
def new_client(stack: LocalDeployment) -> Callable[[], HttpClient]:
    return lambda: HttpClient(stack.url)


def bearer(device: HttpClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {device.cookie_value('accessToken')}"}


class TestAShortCache:
    """Logging out closes protected routes once the answer cached for the token has expired."""

    # Long enough that the logout and the second listing surely fall within it on a busy machine.
    parameters: ClassVar = {"AuthorizerCacheSeconds": "5"}

    def test_a_revoked_sessions_access_token_is_refused_once_the_cache_time_has_passed(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        device = issued(new_client)
        cookie = {"Cookie": f"accessToken={device.cookie_value('accessToken')}"}
        with stack.captured_events() as events:
            listed = new_client().get("/tokens/sessions", headers=cookie)
            assert device.post("/tokens/revoke").status == 200
            from_cache = new_client().get("/tokens/sessions", headers=cookie)
            time.sleep(int(self.parameters["AuthorizerCacheSeconds"]) + 0.2)
            refused = new_client().get("/tokens/sessions", headers=cookie)

        assert (listed.status, from_cache.status) == (200, 200)
        assert (refused.status, refused.body) == (403, FORBIDDEN)
        # The listing, the logout, the cached listing; then the authorizer again, and no route after it.
        assert kinds(events) == ["authorizer", "route", "route", "route", "authorizer"]


class TestTheBearerHeaderWithoutTheSessionCheck:
    """For clients without a cookie jar; a valid token opens until it expires, whatever its session."""

    parameters: ClassVar = {"AuthorizerTokenSource": "bearer", "AuthorizerChecksSession": "false"}

    def test_the_bearer_header_opens_and_is_the_cache_key(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        device = issued(new_client)
        with stack.captured_events() as events:
            answers = [new_client().get("/tokens/sessions", headers=bearer(device)) for _ in range(2)]
        assert [answer.status for answer in answers] == [200, 200]
        assert kinds(events) == ["authorizer", "route", "route"]

    def test_the_cookie_alone_is_401_and_nothing_runs(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        device = issued(new_client)
        with stack.captured_events() as events:
            answer = device.get("/tokens/sessions")
        assert (answer.status, answer.body, events) == (401, UNAUTHORIZED, [])

    def test_a_revoked_sessions_token_still_opens_until_it_expires(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        device = issued(new_client)
        token = bearer(device)
        assert device.post("/tokens/revoke").status == 200
        with stack.captured_events() as events:
            answer = new_client().get("/tokens/sessions", headers=token)
        assert (answer.status, kinds(events)) == (200, ["authorizer", "route"])

    def test_a_token_outside_the_identity_source_never_decides_its_cached_answer(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        # A client that sends its cookie and a placeholder Authorization header: were the cookie's
        # token to decide, the answer cached on the placeholder would open the route to anyone.
        device = issued(new_client)
        placeholder = {"Authorization": "Bearer undefined"}
        with_cookie = device.get("/tokens/sessions", headers=placeholder)
        anyone = new_client().get("/tokens/sessions", headers=placeholder)
        assert [(answer.status, answer.body) for answer in (with_cookie, anyone)] == [(403, FORBIDDEN)] * 2


class TestEitherSource:
    """No identity source: the authorizer decides every request, and nothing is cached."""

    parameters: ClassVar = {"AuthorizerTokenSource": "either"}

    def test_without_a_token_the_authorizer_itself_refuses(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        with stack.captured_events() as events:
            answer = new_client().get("/tokens/sessions")
        assert (answer.status, answer.body, kinds(events)) == (403, FORBIDDEN, ["authorizer"])

    def test_the_cookie_or_the_bearer_header_opens_and_nothing_is_cached(
        self, stack: LocalDeployment, new_client: Callable[[], HttpClient]
    ) -> None:
        device = issued(new_client)
        with stack.captured_events() as events:
            answers = [device.get("/tokens/sessions") for _ in range(2)]
            answers.append(new_client().get("/tokens/sessions", headers=bearer(device)))
        assert [answer.status for answer in answers] == [200, 200, 200]
        assert kinds(events) == ["authorizer", "route"] * 3
        assert "identitySource" not in events[0]

    def test_a_revoked_session_is_refused_at_once(self, new_client: Callable[[], HttpClient]) -> None:
        device = issued(new_client)
        token = bearer(device)
        assert new_client().get("/tokens/sessions", headers=token).status == 200
        assert device.post("/tokens/revoke").status == 200
        refused = new_client().get("/tokens/sessions", headers=token)
        assert (refused.status, refused.body) == (403, FORBIDDEN)
