"""The local stack, started once per test run on free loopback ports, driven over real HTTP (standin/, integration/)."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from infra.local.deployment import LocalDeployment
from infra.local.provision import REGION
from tests.support.http_client import HttpClient

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


@contextlib.contextmanager
def without_outer_aws_settings() -> Iterator[None]:
    """Nothing from the developer's shell points AWS calls elsewhere while the block runs; dummy credentials."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_OUTER_AWS_SETTINGS) or name == "AWS_SESSION_TOKEN":
            del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def local_deployment(parameters: Mapping[str, str]) -> Iterator[LocalDeployment]:
    """A local stack with these template parameters on free loopback ports (one at a time per process)."""
    with without_outer_aws_settings(), LocalDeployment(port=0, aws_port=0, parameters=parameters) as running:
        yield running


# Modules that start stacks of their own, with other template parameters: they run before any
# test starts the suite's shared stack, which then lives until the end of the run.
OWN_STACKS = frozenset({Path(__file__).parents[1] / "integration" / "test_authorizer_settings.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path not in OWN_STACKS)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalDeployment]:
    with local_deployment({"AllowedOrigins": ALLOWED_ORIGIN}) as running:
        yield running


@pytest.fixture
def client(stack: LocalDeployment) -> HttpClient:
    return HttpClient(stack.url)


@pytest.fixture
def new_client(stack: LocalDeployment) -> Callable[[], HttpClient]:
    return lambda: HttpClient(stack.url)


def dynamodb_of(stack: LocalDeployment) -> DynamoDBClient:
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
def dynamodb(stack: LocalDeployment) -> DynamoDBClient:
    return dynamodb_of(stack)


def scan_sessions(dynamodb: DynamoDBClient, table_name: str) -> dict[str, dict[str, str]]:
    """Every stored session by its id, attribute values flattened to strings."""
    items: dict[str, dict[str, str]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            flat = {name: str(next(iter(value.values()))) for name, value in item.items()}
            items[flat["sessionId"]] = flat
    return items
