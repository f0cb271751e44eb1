"""The tutorial's walkthrough through the demo page in Chromium, and what only a browser enforces.

HttpOnly, Path, SameSite=Strict, CORS with credentials, Max-Age, logout, and two tabs racing a
refresh, on a stack whose access tokens live 30 seconds (the template's minimum), so that one
cookie can be watched expire while the other tests run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from infra.local import demo
from infra.local.deployment import LocalDeployment
from tests.browser.demo_page import (
    DemoPage,
    cookie_names,
    cookies_by_name,
    events_of,
    local_deployment,
    logged_in,
    on_host,
    page_on_another_port,
    racing_refreshes,
    two_tabs_refresh_at_once,
)
from tests.support.http_client import USER_ID
from token_service.http_api import messages

ACCESS_TTL_SECONDS = 30


@pytest.fixture(scope="module")
def allowed_origin() -> Iterator[str]:
    """The origin of a page on the API's site (`localhost`, another port) that the stack allows."""
    with page_on_another_port() as origin:
        yield origin


@pytest.fixture(scope="module")
def stack(chromium: Browser, allowed_origin: str) -> Iterator[LocalDeployment]:
    parameters = {"AccessTokenTtlSeconds": str(ACCESS_TTL_SECONDS), "AllowedOrigins": allowed_origin}
    with local_deployment(parameters) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: LocalDeployment) -> str:
    """The API as the pages call it: on `localhost`."""
    return on_host(stack, "localhost")


@pytest.fixture(scope="module", autouse=True)
def expiring(chromium: Browser, api: str) -> Iterator[tuple[BrowserContext, DemoPage]]:
    """A login made as the module starts, so the wait for its access cookie to expire overlaps the other tests."""
    with chromium.new_context() as context:
        yield context, logged_in(context, api)


def test_the_walkthrough_never_lets_the_page_read_a_token(context: BrowserContext, api: str) -> None:
    page = DemoPage.open(context, f"{api}{demo.PATH}")
    login = page.press("login")
    assert (login.request, login.status, login.message) == ("POST /tokens", "200", messages.ISSUED)
    cookies = cookies_by_name(context)
    assert sorted(cookies) == ["accessToken", "refreshToken"]
    for cookie in cookies.values():
        assert (cookie.get("httpOnly"), cookie.get("sameSite"), cookie.get("secure")) == (True, "Strict", False)
        assert cookie.get("domain") == "localhost"  # host-only, on the API's host
    assert cookies["accessToken"].get("expires", 0) == pytest.approx(time.time() + ACCESS_TTL_SECONDS, abs=3)

    for button, status, message in [
        ("validate", "200", messages.validated(USER_ID)),
        ("refresh", "200", messages.REFRESHED),
        ("validate", "200", messages.validated(USER_ID)),
    ]:
        shown = page.press(button)
        assert (shown.status, shown.message) == (status, message)
        assert page.document_cookie() == ""
    refreshed = cookies_by_name(context)
    assert refreshed["refreshToken"].get("value") != cookies["refreshToken"].get("value")
    content = page.page.content()
    for cookie in [*cookies.values(), *refreshed.values()]:
        assert cookie.get("value", "") not in content
    assert page.console_errors == []  # its inline style and script ran under its Content-Security-Policy


def test_the_refresh_cookie_goes_to_the_token_routes_and_never_to_the_root(
    context: BrowserContext, api: str, stack: LocalDeployment
) -> None:
    page = logged_in(context, api)
    assert sorted(cookies_by_name(context, f"{api}/")) == ["accessToken"]
    assert sorted(cookies_by_name(context, f"{api}/tokens/refresh")) == ["accessToken", "refreshToken"]
    with stack.captured_events() as events:
        assert page.press("validate").status == "200"
        assert page.press("refresh").status == "200"
        health = context.new_page()
        health.goto(f"{api}/")
        assert health.inner_text("body") == messages.HEALTH
    (root,) = events_of(events, "GET /")
    assert cookie_names(root) == ["accessToken"]
    for route_key in ("GET /tokens/validate", "POST /tokens/refresh"):
        (event,) = events_of(events, route_key)
        assert cookie_names(event) == ["accessToken", "refreshToken"]


def test_a_page_on_another_site_sends_no_cookies_and_reads_no_answer(
    context: BrowserContext, api: str, stack: LocalDeployment
) -> None:
    own = logged_in(context, api)
    # 127.0.0.1 and localhost are different sites: SameSite=Strict keeps the cookies home.
    foreign = DemoPage.open(context, f"{on_host(stack, '127.0.0.1')}{demo.PATH}?api={api}")
    with stack.captured_events() as events:
        for button in ("validate", "refresh", "login"):
            shown = foreign.press(button)
            assert shown.status == "no answer"
    for route_key in ("GET /tokens/validate", "POST /tokens/refresh"):  # sent without a preflight
        (event,) = events_of(events, route_key)
        assert cookie_names(event) == []
        assert event["headers"]["origin"] == on_host(stack, "127.0.0.1")
    assert events_of(events, "POST /tokens") == []  # its preflight got no grant
    assert own.press("validate").status == "200"  # the cookies were there, and stayed home


def test_an_allowed_origin_logs_in_validates_and_refreshes_with_credentials(
    context: BrowserContext, api: str, stack: LocalDeployment, allowed_origin: str
) -> None:
    page = DemoPage.open(context, f"{allowed_origin}{demo.PATH}?api={api}")
    with stack.captured_events() as events:
        for button, message in [
            ("login", messages.ISSUED),
            ("validate", messages.validated(USER_ID)),
            ("refresh", messages.REFRESHED),
            ("validate", messages.validated(USER_ID)),
        ]:
            shown = page.press(button)
            assert (shown.status, shown.message) == ("200", message)
    assert sorted(cookies_by_name(context, f"{api}/tokens/refresh")) == ["accessToken", "refreshToken"]
    assert {event["headers"].get("origin") for event in events} == {allowed_origin}
    assert cookie_names(events_of(events, "POST /tokens/refresh")[0]) == ["accessToken", "refreshToken"]
    assert page.document_cookie() == ""


def test_log_out_clears_both_cookies(context: BrowserContext, api: str) -> None:
    page = logged_in(context, api)
    logout = page.press("logout")
    assert (logout.status, logout.message) == ("200", messages.REVOKED)
    assert cookies_by_name(context) == {}
    assert (page.press("validate").message, page.press("refresh").message) == (
        messages.ACCESS_TOKEN_MISSING,
        messages.REFRESH_TOKEN_MISSING,
    )


def test_log_out_everywhere_ends_the_other_browsers_session(chromium: Browser, api: str) -> None:
    with chromium.new_context() as laptop, chromium.new_context() as phone:
        # A user of their own: logging out everywhere ends every session of the user.
        here, there = logged_in(laptop, api, "two-devices"), logged_in(phone, api, "two-devices")
        everywhere = here.press("logout-all")
        assert (everywhere.status, everywhere.message) == ("200", messages.REVOKED_EVERYWHERE)
        assert cookies_by_name(laptop) == {}
        refused = there.press("refresh")
        assert (refused.status, refused.message) == ("419", messages.REFRESH_SESSION_UNKNOWN)


def test_two_tabs_racing_a_refresh_without_grace_revoke_the_session(
    context: BrowserContext, stack: LocalDeployment
) -> None:
    with racing_refreshes(stack) as api:
        first, answers = two_tabs_refresh_at_once(context, stack, api)
        assert sorted((shown.status, shown.message) for shown in answers) == [
            ("200", messages.REFRESHED),
            ("419", messages.REFRESH_SESSION_UNKNOWN),
        ]
        # The winner's new refresh token belongs to the revoked session too.
        assert first.press("refresh").status == "419"


def test_an_expired_access_cookie_is_gone_and_validate_is_400(
    expiring: tuple[BrowserContext, DemoPage],
) -> None:
    context, page = expiring
    expires = cookies_by_name(context)["accessToken"].get("expires", 0)
    time.sleep(max(0.0, expires + 1 - time.time()))
    assert sorted(cookies_by_name(context)) == ["refreshToken"]
    shown = page.press("validate")
    assert (shown.status, shown.message) == ("400", messages.ACCESS_TOKEN_MISSING)
    assert page.press("refresh").status == "200"  # the session outlives its access token
