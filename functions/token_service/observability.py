"""Structured logs and CloudWatch metrics for every function, through Powertools.

X-Ray tracing is a template parameter; Powertools' Tracer is imported only where it is on,
because creating it weighs on every cold start. The deployment package leaves out aws-xray-sdk:
it depends on botocore, and a botocore copy in the package would shadow the runtime's
precompiled one (a larger package and a slower cold start).

One JSON log line per request (route, status, outcome, user id where known, request id) and one
EMF metric per outcome. Never a token, key or cookie value: only outcomes, reasons and ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from token_service.domain.outcomes import Outcome

logger = Logger()
metrics = Metrics()

# The metric of each outcome that is no refusal, and of the one refusal the alarms watch.
OUTCOME_METRICS = {
    Outcome.HEALTHY: "HealthChecks",
    Outcome.ISSUED: "TokensIssued",
    Outcome.VALIDATED: "ValidationsSucceeded",
    Outcome.ROTATED: "RefreshesRotated",
    Outcome.WITHIN_GRACE: "RefreshesWithinGrace",
    Outcome.REUSE_DETECTED: "ReuseDetected",
    Outcome.REVOKED: "SessionsRevoked",
    Outcome.AUTHORIZED: "RequestsAuthorized",
    Outcome.LISTED: "SessionListings",
    Outcome.SESSION_ENDED: "SessionsEnded",
    Outcome.DEPENDENCY_FAILURE: "DependencyFailures",
    Outcome.INTERNAL_ERROR: "InternalErrors",
}
# Every refusal, with its reason as a dimension.
REJECTED_METRIC = "RequestsRejected"


def log_request(fields: dict[str, object]) -> None:
    """The request's one log line, the audit trail of every outcome; `fields` names no token, key or cookie value."""
    logger.info("request", extra=fields)


def count_outcome(outcome: Outcome) -> None:
    """Add the outcome's metrics to this invocation's EMF blob; rejections carry their reason as a dimension."""
    reason = outcome.rejection_reason
    if reason is not None:
        metrics.add_dimension(name="reason", value=reason)
        metrics.add_metric(name=REJECTED_METRIC, unit=MetricUnit.Count, value=1)
    if outcome in OUTCOME_METRICS:
        metrics.add_metric(name=OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)


def traced[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """The handler wrapped by Powertools' Tracer when the template turns tracing on, else itself."""
    # Powertools' own switch, set by template.yaml from its Tracing parameter.
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "false":
        return handler
    try:
        from aws_lambda_powertools import Tracer  # noqa: PLC0415 - deferred: see the module docstring

        tracer = Tracer()
    except ImportError:
        # The package ships without aws-xray-sdk (it would bring its own botocore); see docs/operations.md.
        logger.warning("tracing is on but aws-xray-sdk is not in the package: not tracing")
        return handler
    return cast("Handler", tracer.capture_lambda_handler(handler))
