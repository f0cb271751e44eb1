"""The one environment the local stack gives every function, and what it keeps out of it."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local import LocalDeploymentError
from infra.local.deployment import LocalDeployment
from infra.local.environment import process_environment, shared_environment
from infra.template import Template


def template(*functions: dict[str, str], shared: dict[str, str] | None = None) -> Template:
    def function(variables: dict[str, str]) -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "h.handler", "Environment": {"Variables": variables}},
        }

    return Template(
        {
            "Globals": {"Function": {"Environment": {"Variables": shared or {}}}},
            "Resources": {f"F{number}": function(variables) for number, variables in enumerate(functions)},
        }
    )


def test_functions_that_agree_share_their_environment() -> None:
    assert shared_environment(template({"B": "2"}, {"B": "2"}, shared={"A": "1"})) == {"A": "1", "B": "2"}


def test_a_variable_declared_empty_counts_as_undeclared_and_is_set_empty() -> None:
    assert shared_environment(template({"PORT": ""}, {}, shared={"A": "1"})) == {"A": "1", "PORT": ""}


@pytest.mark.parametrize("others", [{"B": "3"}, {}], ids=["another value", "not declared"])
def test_functions_that_differ_stop_the_stack(others: dict[str, str]) -> None:
    with pytest.raises(LocalDeploymentError, match="F1 and F0 differ in B"):
        shared_environment(template({"B": "2"}, others))


def test_the_templates_functions_agree_today(stack: LocalDeployment) -> None:
    environment = shared_environment(stack.template)
    assert environment["COOKIE_SECURE"] == "false"
    assert environment["SESSIONS_TABLE"] == stack.table_name


def test_the_process_environment_points_at_the_embedded_endpoint_only() -> None:
    shell = {
        "AWS_ENDPOINT_URL_DYNAMODB": "http://localhost:8000",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        "AWS_PROFILE": "prod",
        "AWS_ACCESS_KEY_ID": "from-the-shell",
        "NO_PROXY": "example.com",
    }
    changes = process_environment({"TOKEN_ISSUER": "i", "AWS_ENDPOINT_URL": ""}, "http://127.0.0.1:1", shell)

    assert changes["TOKEN_ISSUER"] == "i"
    assert changes["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert (changes["AWS_REGION"], changes["AWS_DEFAULT_REGION"]) == ("us-east-1", "us-east-1")
    for removed in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE"):
        assert changes[removed] is None
    assert "AWS_ACCESS_KEY_ID" not in changes, "credentials from the shell are kept"
    assert changes["AWS_SECRET_ACCESS_KEY"] == "local", "missing ones are filled with dummies"
    assert changes["no_proxy"] == "127.0.0.1,localhost"
    assert changes["NO_PROXY"] == "example.com,127.0.0.1,localhost"
