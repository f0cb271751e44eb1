"""The demo page's session list in Chromium: two devices of one user, one ending the other's session.

The stack's authorizer caches its answers for one second, so that a session ended elsewhere is
refused on protected routes once that second has passed since the authorizer last let it through.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from infra.local.deployment import LocalDeployment
from tests.browser.demo_page import DemoPage, ListedSession, cookies_by_name, local_deployment, logged_in, on_host
from tests.support.http_client import HttpClient
from token_service.http_api import messages

CACHE_SECONDS = 1
PAGE_SIZE = 20  # the API's default page, which the page asks for
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) the laptop"
# A user agent is whatever the client sends: the page must show it as text.
HOSTILE = "<img src=x onerror=\"document.title='injected'\"><b>phone</b>"
DATES: dict[str, Any] = {"locale": "en-US", "timezone_id": "UTC"}  # as `ListedSession.created` reads them


@pytest.fixture(scope="module")
def stack(chromium: Browser) -> Iterator[LocalDeployment]:
    with local_deployment({"AuthorizerCacheSeconds": str(CACHE_SECONDS)}) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: LocalDeployment) -> str:
    return on_host(stack, "localhost")


def listed(page: DemoPage, count: int) -> list[ListedSession]:
    """Press My sessions; the rows it shows, once there are `count`."""
    shown = page.press("sessions")
    assert (shown.request, shown.status, shown.message) == ("GET /tokens/sessions", "200", messages.SESSIONS_LISTED)
    return page.listed_sessions(count)


def by_user_agent(rows: list[ListedSession]) -> dict[str, ListedSession]:
    return {row.user_agent: row for row in rows}


def assert_shown_as_text(page: DemoPage) -> None:
    """The hostile user agent made no element, ran nothing and loaded nothing (a blocked load logs an error)."""
    assert page.page.locator("#session-list img, #session-list b").count() == 0
    assert page.page.title() == "token-service: try it"
    assert page.console_errors == []


def test_a_device_lists_both_sessions_and_ends_the_others(chromium: Browser, api: str) -> None:
    laptop_profile, phone_profile = (
        chromium.new_context(user_agent=LAPTOP, **DATES),
        chromium.new_context(user_agent=HOSTILE),
    )
    with laptop_profile as laptop, phone_profile as phone:
        here, there = logged_in(laptop, api, "two-devices"), logged_in(phone, api, "two-devices")
        # Both logged in within a second or so: newest first cannot order them.
        phone_session = by_user_agent(listed(there, 2))[HOSTILE]
        # The authorizer's allow for the phone's cookies, cached from this instant at the latest.
        phone_allowed_until = time.monotonic() + CACHE_SECONDS
        assert phone_session.current
        assert_shown_as_text(there)

        rows = by_user_agent(listed(here, 2))
        phone_row, laptop_row = rows[HOSTILE], rows[LAPTOP]
        assert (phone_row.current, laptop_row.current) == (False, True)
        assert phone_row.session_id == phone_session.session_id
        for row in (phone_row, laptop_row):
            assert row.ip == "127.0.0.1"
            assert row.created.timestamp() == pytest.approx(time.time(), abs=30)
            assert row.rotated == row.created  # neither has refreshed yet
            assert all(part in row.created_text for part in (row.created.strftime("%b"), str(row.created.year)))
            assert str(int(row.created.timestamp())) not in row.created_text
        assert_shown_as_text(here)
        content = here.page.content()
        for cookie in cookies_by_name(laptop).values():
            assert cookie.get("value", "") not in content

        ended = here.end_session(phone_row.session_id)
        assert (ended.request, ended.status, ended.message) == (
            f"DELETE /tokens/sessions/{phone_row.session_id}",
            "200",
            messages.SESSION_ENDED,
        )
        assert [row.session_id for row in here.listed_sessions(1)] == [laptop_row.session_id]
        assert sorted(cookies_by_name(laptop)) == ["accessToken", "refreshToken"]  # the laptop stays logged in

        refused = there.press("refresh")
        assert (refused.status, refused.message) == ("419", messages.REFRESH_SESSION_UNKNOWN)
        time.sleep(max(0.0, phone_allowed_until - time.monotonic()))
        forbidden = there.press("sessions")
        assert (forbidden.status, forbidden.message) == ("403", "Forbidden")
        expect(there.page.locator("#session-list")).to_be_hidden()
        assert [row.current for row in listed(here, 1)] == [True]


def test_ending_this_browsers_own_session_logs_it_out(chromium: Browser, api: str) -> None:
    with chromium.new_context() as context:
        page = logged_in(context, api, "one-device")
        (own,) = listed(page, 1)
        assert own.current
        ended = page.end_session(own.session_id)
        assert (ended.status, ended.message) == ("200", messages.SESSION_ENDED)
        assert cookies_by_name(context) == {}
        expect(page.page.locator("#session-list")).to_be_hidden()
        unauthorized = page.press("sessions")  # no cookie: API Gateway refuses before any function runs
        assert (unauthorized.status, unauthorized.message) == ("401", "Unauthorized")


@pytest.mark.parametrize("button", ["logout", "logout-all", "login"])
def test_after_the_browser_changes_its_session_no_listed_session_is_marked_this_browser(
    chromium: Browser, api: str, button: str
) -> None:
    with chromium.new_context() as context:
        page = logged_in(context, api, f"changes-session-{button}")
        (own,) = listed(page, 1)
        assert own.current

        assert page.press(button).status == "200"

        expect(page.page.locator("#session-list")).to_be_hidden()
        expect(page.page.locator("#session-rows tr")).to_have_count(0)


def test_more_lists_the_next_page(chromium: Browser, api: str, stack: LocalDeployment) -> None:
    user = "many-devices"
    other_devices = HttpClient(stack.url)
    for _ in range(PAGE_SIZE):
        assert other_devices.post("/tokens", json_body={"id": user}).status == 200
    with chromium.new_context() as context:
        page = logged_in(context, api, user)
        first = listed(page, PAGE_SIZE)
        more = page.page.locator("#sessions-more")
        expect(more).to_be_visible()
        shown = page.answer(page.start("sessions-more"))
        assert (shown.request, shown.status) == ("GET /tokens/sessions (more)", "200")
        every = page.listed_sessions(PAGE_SIZE + 1)
        expect(more).to_be_hidden()
        assert every[:PAGE_SIZE] == first
        assert len({row.session_id for row in every}) == PAGE_SIZE + 1
        assert [row.current for row in every].count(True) == 1
