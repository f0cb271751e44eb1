"""Headless Chromium (the system's `chromium`, driven by Playwright) on the demo page of a local stack.

No browser is downloaded: Playwright launches the `chromium` on PATH, and without one every test
here skips. Each module starts its own stack with the template parameters it needs; a process
runs one stack at a time, so these modules run before any other test (the integration suite
keeps its stack for the whole session).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = shutil.which("chromium")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser modules first: their stacks must be gone before the integration suite starts its own."""
    items.sort(key=lambda item: not item.path.is_relative_to(HERE))


@pytest.fixture(autouse=True)
def isolated_aws_environment() -> None:
    """The running stack set the environment its handlers run in; a test must not take it away."""


@pytest.fixture(scope="module")  # closed with the module: no Playwright loop outlives it
def chromium() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("no `chromium` on PATH: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: its own cookie jar."""
    with chromium.new_context() as fresh:
        yield fresh
