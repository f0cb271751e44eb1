"""Every test runs against AWS stand-ins only: no real endpoint, no real credentials."""

import os
from collections.abc import Iterator

import pytest

from infra.local.provision import REGION

# The local stack, shared by the suites that drive it over HTTP, started only where one asks for it.
pytest_plugins = ["tests.support.stack_fixtures"]


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # AWS_ENDPOINT_URL* silently defeats moto's mock_aws; a developer's profile must not leak in.
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    yield
