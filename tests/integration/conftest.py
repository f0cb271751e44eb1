"""Tests over HTTP run against the local stack (`tests.support.stack_fixtures`)."""

import pytest

from infra.local.deployment import LocalDeployment


@pytest.fixture(autouse=True)
def isolated_aws_environment(stack: LocalDeployment) -> None:
    """Replaces the in-process tests' per-test isolation: the running stack set the environment its
    handlers run in (AWS_ENDPOINT_URL among it), and a test must not take that away from them."""
