"""Two tabs racing a refresh on a stack with `RefreshGraceSeconds`: both carry on with the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from infra.local.deployment import LocalDeployment
from tests.browser.demo_page import local_deployment, racing_refreshes, two_tabs_refresh_at_once
from token_service.http_api import messages


@pytest.fixture(scope="module")
def stack(chromium: Browser) -> Iterator[LocalDeployment]:
    with local_deployment({"RefreshGraceSeconds": "10"}) as running:
        yield running


def test_two_tabs_racing_a_refresh_within_the_grace_both_carry_on(
    context: BrowserContext, stack: LocalDeployment
) -> None:
    with racing_refreshes(stack) as api:
        first, answers = two_tabs_refresh_at_once(context, stack, api)
        assert [(shown.status, shown.message) for shown in answers] == [("200", messages.REFRESHED)] * 2
        assert first.press("refresh").status == "200"
        assert first.press("validate").status == "200"
