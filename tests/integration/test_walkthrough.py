"""The tutorial's Insomnia walkthrough over HTTP: issue, validate, refresh, validate again, replay;
then a user's sessions, listed and ended behind the authorizer.

Given a client that keeps cookies by their Path, as Insomnia and browsers do, against the
local stack: the template's routes served by the real handlers on the embedded AWS endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from infra.local.deployment import LocalDeployment
from tests.support.http_client import HttpClient
from tests.support.stack_fixtures import scan_sessions
from tests.support.walkthrough import sessions_walk_through, walk_through

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def test_the_walkthrough(client: HttpClient, stack: LocalDeployment, dynamodb: DynamoDBClient) -> None:
    stored = walk_through(client, stack.url, lambda: scan_sessions(dynamodb, stack.table_name))
    # The session records who asked, as API Gateway saw them.
    assert (stored["userAgent"], stored["ip"]) == ("insomnia/10.2.0", "127.0.0.1")


def test_the_sessions_walkthrough(new_client: Callable[[], HttpClient]) -> None:
    sessions_walk_through(new_client, f"user-{uuid.uuid4().hex}")
