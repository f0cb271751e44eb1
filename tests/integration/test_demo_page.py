"""The demo page the local front serves besides the template's routes (in a client: tests/client)."""

from __future__ import annotations

import pytest

from infra.local import banner, demo
from infra.local.deployment import LocalDeployment
from tests.support.http_client import HttpClient
from tests.support.openapi import documented_operations
from token_service.http_api import messages


def test_the_page_is_html_under_a_policy_that_runs_its_own_inline_code_only(client: HttpClient) -> None:
    answer = client.get(demo.PATH + "?api=http://localhost:3019")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = dict(part.split(" ", 1) for part in answer.headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"].startswith("'sha256-")
    assert policy["style-src"].startswith("'sha256-")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert b'<button id="login"' in answer.body


def test_the_page_inserts_what_the_api_sends_as_text_never_as_html(client: HttpClient) -> None:
    page = client.get(demo.PATH).text
    assert '<button id="sessions">' in page  # the session list, which shows user agents that clients chose
    for html_sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment"):
        assert html_sink not in page


def test_the_page_is_no_route_of_the_template_nor_of_the_document(stack: LocalDeployment) -> None:
    routes = {(route.method, route.path) for route in stack.template.routes()} | set(documented_operations())
    assert [path for _, path in routes if path.startswith(demo.PATH)] == []
    assert (stack.api.routes.keys() & {("GET", demo.PATH), ("ANY", demo.PATH)}) == set()


@pytest.mark.parametrize("method", ["POST", "HEAD", "PUT"])
def test_the_page_answers_get_only(client: HttpClient, method: str) -> None:
    assert client.request(method, demo.PATH).status == 404


def test_the_root_still_answers_hello_token(client: HttpClient) -> None:
    assert client.get("/").text == messages.HEALTH


def test_make_run_names_the_page(stack: LocalDeployment) -> None:
    assert f"  try it        {stack.url}{demo.PATH}  " in banner.describe(stack)
