"""Metrics as Lambda emits them, and tracing that costs cold start only where the template turns it on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from aws_lambda_powertools import Metrics

from infra.local.events import http_api_event
from infra.template import Template
from token_service.domain.outcomes import Outcome
from token_service.observability import OUTCOME_METRICS, REJECTED_METRIC, count_outcome, metrics

IMPORT_ALL_HANDLERS = (
    "import sys; import token_service.handlers.validate, token_service.handlers.issue, "
    "token_service.handlers.refresh, token_service.handlers.revoke, token_service.handlers.health, "
    "token_service.handlers.authorizer, token_service.handlers.list_sessions, token_service.handlers.end_session; "
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


METRICS_SCRIPT = """
import json, sys, types
import token_service.handlers.validate as validate
context = types.SimpleNamespace(function_name="ValidateFunction", memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ValidateFunction", aws_request_id="r")
for _ in range(2):
    validate.handler(json.loads(sys.argv[1]), context)
"""


def test_a_lambda_invocation_emits_its_outcome_metric_with_the_reason_and_one_cold_start() -> None:
    variables = Template.load(resource_names={"SessionsTable": "t"}).function_environment("ValidateFunction")
    event = json.dumps(http_api_event("GET", "/tokens/validate"))
    result = subprocess.run(
        [sys.executable, "-c", METRICS_SCRIPT, event],
        env={
            **variables,
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    blobs = [json.loads(line) for line in result.stdout.splitlines() if '"_aws"' in line]
    definitions = [(blob["_aws"]["CloudWatchMetrics"][0], blob) for blob in blobs]

    assert all(definition["Namespace"] == "TokenService" for definition, _ in definitions)
    cold = [blob for definition, blob in definitions if definition["Metrics"][0]["Name"] == "ColdStart"]
    assert len(cold) == 1 and cold[0]["function_name"] == "ValidateFunction"
    rejected = [blob for definition, blob in definitions if definition["Metrics"][0]["Name"] == "RequestsRejected"]
    assert len(rejected) == 2
    assert all(blob["reason"] == "access_token_missing" and blob["RequestsRejected"] == [1.0] for blob in rejected)
    assert definitions[-1][0]["Dimensions"] == [["reason", "service"]]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_counted_by_its_metric_and_every_refusal_with_its_reason(outcome: Outcome) -> None:
    metrics.clear_metrics()
    count_outcome(outcome)
    # Metrics instances share one metric set; this one names the namespace Lambda's environment gives.
    blob = Metrics(namespace="TokenService").serialize_metric_set()
    metrics.clear_metrics()
    counted = [metric["Name"] for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    expected = ([REJECTED_METRIC] if outcome.rejection_reason else []) + (
        [OUTCOME_METRICS[outcome]] if outcome in OUTCOME_METRICS else []
    )
    assert counted == expected and counted
    assert blob.get("reason") == outcome.rejection_reason
