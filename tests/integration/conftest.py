"""The local stack, started once per test run on free loopback ports, driven over real HTTP."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from infra.local import LocalStack
from tests.conftest import REGION
from tests.integration.browser import Browser

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Settings from the developer's shell that would point AWS calls elsewhere (or at a profile).
_OUTER_AWS_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def _unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


# A same-site origin the session's stack lets call it with credentials (AllowedOrigins): a page
# served on this port of localhost may; any other origin may not.
ALLOWED_ORIGIN = f"http://localhost:{_unused_port()}"


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_OUTER_AWS_SETTINGS) or name == "AWS_SESSION_TOKEN":
            del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    try:
        with LocalStack(port=0, aws_port=0, parameters={"AllowedOrigins": ALLOWED_ORIGIN}) as running:
            yield running
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def isolated_aws_environment(stack: LocalStack) -> None:
    """Replaces the unit tests' per-test isolation: the running stack set the environment its
    handlers run in (AWS_ENDPOINT_URL among it), and a test must not take that away from them."""


@pytest.fixture
def browser(stack: LocalStack) -> Browser:
    return Browser(stack.url)


@pytest.fixture
def new_browser(stack: LocalStack) -> Callable[[], Browser]:
    return lambda: Browser(stack.url)


def dynamodb_of(stack: LocalStack) -> DynamoDBClient:
    """A client of the stack's own AWS endpoint, to look at what the service stored."""
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client


@pytest.fixture(scope="session")
def dynamodb(stack: LocalStack) -> DynamoDBClient:
    return dynamodb_of(stack)


def scan_sessions(dynamodb: DynamoDBClient, table_name: str) -> dict[str, dict[str, str]]:
    """Every stored session by its id, attribute values flattened to strings."""
    items: dict[str, dict[str, str]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            flat = {name: str(next(iter(value.values()))) for name, value in item.items()}
            items[flat["sessionId"]] = flat
    return items
