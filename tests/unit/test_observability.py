"""Tracing costs cold start only where the template turns it on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.template import Template

IMPORT_ALL_HANDLERS = (
    "import sys; import token_service.handlers.validate, token_service.handlers.issue, "
    "token_service.handlers.refresh, token_service.handlers.revoke, token_service.handlers.health; "
    "print('aws_xray_sdk' in sys.modules)"
)


@pytest.mark.parametrize(("tracing", "imports_xray"), [("Disabled", False), ("Active", True)])
def test_the_tracer_is_imported_only_when_tracing_is_active(tracing: str, imports_xray: bool) -> None:
    environment = Template.load(parameters={"Tracing": tracing}, resource_names={"SessionsTable": "t"})
    variables = environment.function_environment("ValidateFunction")
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_HANDLERS],
        env={**variables, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(imports_xray)
