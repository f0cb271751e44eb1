"""`sam local start-api` (Docker, SAM CLI) with the embedded AWS endpoint, once per test run.

Opt-in: SAM_LOCAL=1 (`make test-sam-local`); SAM from env SAM (else `sam` on PATH), through
SAM_LOCAL_WRAPPER under SAM_PYTHON when set. Ports are free ones outside SAM's own 5000-9000 range.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from infra.local.provision import local_client
from infra.local.sam_local import SamLocal
from tests.support.http_client import HttpClient
from tests.support.stack_fixtures import without_outer_aws_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SAM_PORTS = range(5000, 9001)


def free_port() -> int:
    """A free loopback port SAM will not pick for one of its emulators."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _SAM_PORTS:
            return port
    raise RuntimeError("no free port outside 5000-9000")


@pytest.fixture(scope="session")
def sam_local() -> Iterator[SamLocal]:
    if os.environ.get("SAM_LOCAL") != "1":
        pytest.skip("sam local start-api needs Docker and SAM CLI: opt in with SAM_LOCAL=1 (make test-sam-local)")
    running = SamLocal(
        port=free_port(),
        aws_port=0,
        sam=os.environ.get("SAM", "sam"),
        wrapper=os.environ.get("SAM_LOCAL_WRAPPER") or None,
        sam_python=os.environ.get("SAM_PYTHON") or None,
        # Where the Lambda containers do not share this machine's network (a CI runner's Docker).
        container_aws_host=os.environ.get("SAM_LOCAL_CONTAINER_AWS_HOST") or None,
    )
    with without_outer_aws_settings(), running:
        yield running


@pytest.fixture(autouse=True)
def isolated_aws_environment() -> None:
    """Replaces the unit tests' per-test isolation: the running stack set the environment (its
    AWS endpoint among it), and a test must not take that away. Skipped tests need none."""


@pytest.fixture
def new_client(sam_local: SamLocal) -> Callable[[], HttpClient]:
    return lambda: HttpClient(sam_local.url)


@pytest.fixture
def client(new_client: Callable[[], HttpClient]) -> HttpClient:
    return new_client()


@pytest.fixture(scope="session")
def dynamodb(sam_local: SamLocal) -> DynamoDBClient:
    client: DynamoDBClient = local_client("dynamodb", sam_local.aws_endpoint)
    return client
