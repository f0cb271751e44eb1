"""The demo page in headless Chromium: its tabs, its answers, and what the browser holds and sends."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Cookie, Locator, Page, expect

from infra.local import demo
from infra.local.deployment import LocalDeployment
from infra.local.front import LocalApi
from infra.local.functions import Event
from infra.local.serving import ServerThread, listening_socket


@contextlib.contextmanager
def local_deployment(parameters: dict[str, str]) -> Iterator[LocalDeployment]:
    """A local stack with these template parameters, none of the shell's AWS settings reaching it."""
    with pytest.MonkeyPatch.context() as environment:
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            environment.delenv(name)
        with LocalDeployment(port=0, aws_port=0, parameters=parameters) as stack:
            yield stack


def on_host(stack: LocalDeployment, host: str) -> str:
    """The stack's base URL under another name for its loopback address (`localhost`: another site)."""
    return f"http://{host}:{stack.api.port}"


@contextlib.contextmanager
def page_on_another_port() -> Iterator[str]:
    """The demo page alone, served on another port of loopback as an app's own server; yields its origin.

    A front with no route of the template: the page at `http://localhost:PORT/demo`, on the API's
    site (ports do not count) but another origin.
    """
    with listening_socket("127.0.0.1", 0, "the demo page on another port") as listener:
        server = ServerThread(LocalApi({}), listener.dup(), "demo-page")
        server.start()
        try:
            yield f"http://localhost:{listener.getsockname()[1]}"
        finally:
            server.stop()


@dataclass(frozen=True)
class Shown:
    """One answer as the page shows it."""

    request: str
    status: str
    message: str


@dataclass(frozen=True)
class ListedSession:
    """A row of the page's session list: what it shows, and the instants its `<time>` elements name."""

    session_id: str
    user_agent: str
    ip: str
    created: datetime
    rotated: datetime
    created_text: str
    current: bool

    @classmethod
    def of(cls, row: Locator) -> ListedSession:
        def instant(cell: str) -> datetime:
            return datetime.fromisoformat(row.locator(f".{cell} time").get_attribute("datetime") or "")

        return cls(
            session_id=row.get_attribute("data-session-id") or "",
            user_agent=row.locator(".user-agent").text_content() or "",
            ip=row.locator(".ip").text_content() or "",
            created=instant("created"),
            rotated=instant("rotated"),
            created_text=row.locator(".created").inner_text(),
            current=row.locator(".this-device").count() == 1,
        )


class DemoPage:
    """The demo page in a tab: press its buttons, read the answers it shows."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []  # a Content-Security-Policy violation among them
        page.on("console", self._keep_error)

    def _keep_error(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    @classmethod
    def open(cls, context: BrowserContext, url: str) -> DemoPage:
        tab = cls(context.new_page())
        tab.page.goto(url)
        return tab

    def start(self, button: str) -> int:
        """Click without waiting for the answer; returns how many answers were shown before."""
        shown = self.answers.count()
        self.page.click(f"#{button}")
        return shown

    def answer(self, shown_before: int) -> Shown:
        """The next answer after `shown_before`, once it shows."""
        expect(self.answers).to_have_count(shown_before + 1)
        newest = self.answers.first
        return Shown(*(newest.locator(f".{part}").inner_text() for part in ("request", "status", "message")))

    def press(self, button: str) -> Shown:
        return self.answer(self.start(button))

    @property
    def answers(self) -> Locator:
        return self.page.locator("#answers li")

    @property
    def session_rows(self) -> Locator:
        return self.page.locator("#session-rows tr")

    def listed_sessions(self, count: int) -> list[ListedSession]:
        """The session list's rows, once it shows `count` of them."""
        expect(self.session_rows).to_have_count(count)
        return [ListedSession.of(row) for row in self.session_rows.all()]

    def end_session(self, session_id: str) -> Shown:
        """Press the End button of that session's row; the answer shown."""
        shown = self.answers.count()
        self.page.locator(f'#session-rows tr[data-session-id="{session_id}"] button.end').click()
        return self.answer(shown)

    def document_cookie(self) -> str:
        cookie: str = self.page.evaluate("document.cookie")
        return cookie


def logged_in(context: BrowserContext, base_url: str, user_id: str | None = None) -> DemoPage:
    """The demo page at `base_url`, logged in as `user_id` (by default the page's own, USER_ID)."""
    page = DemoPage.open(context, f"{base_url}{demo.PATH}")
    if user_id is not None:
        page.page.fill("#user-id", user_id)
    assert page.press("login").status == "200"
    return page


def cookies_by_name(context: BrowserContext, url: str | None = None) -> dict[str, Cookie]:
    """The browser's cookies (those it would send to `url`, if given) by name."""
    return {cookie.get("name", ""): cookie for cookie in context.cookies(url or [])}


def cookie_names(event: Event) -> list[str]:
    """The names of the cookies a request carried, as the handler got them."""
    return sorted(cookie.split("=", 1)[0] for cookie in event.get("cookies", []))


def events_of(events: list[Event], route_key: str) -> list[Event]:
    return [event for event in events if event["routeKey"] == route_key]


@contextlib.contextmanager
def racing_refreshes(stack: LocalDeployment, count: int = 2) -> Iterator[str]:
    """The stack's API on another port of `localhost`, holding its first `count` refreshes until all arrived.

    A browser reads its cookie jar as a request leaves, so requests that all left before any answer
    present the same refresh token, as racing tabs do. Cookies ignore ports: pages on this origin
    share the jar of the stack's `localhost`. Yields the origin.
    """
    to_hold = count
    all_arrived = asyncio.Event()

    async def gate(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        nonlocal to_hold
        if scope["type"] == "http" and scope["path"] == "/tokens/refresh" and to_hold:
            to_hold -= 1
            if not to_hold:
                all_arrived.set()
            await asyncio.wait_for(all_arrived.wait(), timeout=10)
        await stack.api(scope, receive, send)

    with listening_socket("127.0.0.1", 0, "the API with racing refreshes") as listener:
        server = ServerThread(gate, listener.dup(), "racing-refreshes")
        server.start()
        try:
            yield f"http://localhost:{listener.getsockname()[1]}"
        finally:
            server.stop()


def two_tabs_refresh_at_once(context: BrowserContext, stack: LocalDeployment, api: str) -> tuple[DemoPage, list[Shown]]:
    """Log in in one tab, open the page in a second, and press Refresh in both at once.

    `api` is an origin of `racing_refreshes`: both requests leave the browser before either is
    answered. Returns the first tab and both answers.
    """
    tabs = [logged_in(context, api), DemoPage.open(context, f"{api}{demo.PATH}")]
    with stack.captured_events() as events:
        shown_before = [tab.start("refresh") for tab in tabs]
        answers = [tab.answer(before) for tab, before in zip(tabs, shown_before, strict=True)]
    first, second = (event["cookies"] for event in events_of(events, "POST /tokens/refresh"))
    assert first == second  # the same refresh token, twice
    return tabs[0], answers
