"""The tutorial's walkthrough, the sessions walkthrough and the 400 rows through the real `sam local start-api`.

Lambda containers built by `sam build` from template.yaml, reached over HTTP, their AWS calls
answered by the embedded endpoint: the same bytes as the local stack's own front.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from infra.local.sam_local import SamLocal
from tests.support.bad_bodies import BAD_ISSUE_BODIES
from tests.support.http_client import HttpClient, error_body
from tests.support.stack_fixtures import scan_sessions
from tests.support.walkthrough import FrontBasics, sessions_walk_through, walk_through

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def test_the_walkthrough(client: HttpClient, sam_local: SamLocal, dynamodb: DynamoDBClient) -> None:
    # Only userId and status are checked: SAM's events carry a fixed user agent, not the client's.
    walk_through(client, sam_local.url, lambda: scan_sessions(dynamodb, sam_local.table_name))


def test_the_sessions_walkthrough(new_client: Callable[[], HttpClient]) -> None:
    # SAM CLI runs the authorizer the template's API definition puts before the sessions routes.
    sessions_walk_through(new_client, f"user-{uuid.uuid4().hex}")


def test_a_forged_token_is_refused_with_sams_403(client: HttpClient) -> None:
    answer = client.get("/tokens/sessions", headers={"Cookie": "accessToken=forged"})
    # SAM's own answer to a denial (a REST API's wording, not HTTP API's {"message":"Forbidden"}).
    assert (answer.status, json.loads(answer.body)) == (
        403,
        {"message": "User is not authorized to access this resource"},
    )


class TestFrontBasics(FrontBasics):
    """Through SAM's emulator and Lambda containers."""


# SAM's emulator answers 502 to a body that is not UTF-8 before any function runs.
SAM_READABLE_BODIES = [case for case in BAD_ISSUE_BODIES if case.id != "not UTF-8"]


@pytest.mark.parametrize(("body", "message"), SAM_READABLE_BODIES)
def test_issue_refuses_bad_bodies_with_400(client: HttpClient, body: bytes | None, message: str) -> None:
    answer = client.post("/tokens", body=body, headers={"Content-Type": "application/json"})
    assert (answer.status, answer.body) == (400, error_body(message))
    assert answer.set_cookies == []


def test_an_unknown_route_is_sams_403(client: HttpClient) -> None:
    answer = client.get("/nowhere")
    # SAM's own answer (API Gateway's wording, with a trailing newline), no function involved.
    assert (answer.status, json.loads(answer.body)) == (403, {"message": "Missing Authentication Token"})
