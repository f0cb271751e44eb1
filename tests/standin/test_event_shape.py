"""The event the local front hands a handler has the shape of API Gateway's own (payload format 2.0).

The reference is `sam local generate-event apigateway http-api-proxy`, kept in tests/events/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.local.deployment import LocalDeployment
from tests.support.http_client import USER_ID, HttpClient

REFERENCE = Path(__file__).resolve().parents[1] / "events" / "http-api-proxy.json"
# Present only when the route uses mutual TLS (authentication) or a JWT/Lambda/IAM authorizer
# (authorizer); POST /tokens uses neither (test_authorizer.py: the sessions routes' events).
ONLY_WITH_OTHER_AUTH = {"requestContext.authentication", "requestContext.authorizer"}
# API Gateway leaves these out when they are empty: POST /tokens has no path parameter, and the
# $default stage has no stage variables.
OMITTED_WHEN_EMPTY = {"pathParameters", "stageVariables"}
# Objects keyed by the request's own names: compared as objects, not key by key.
DATA_MAPS = {"headers", "queryStringParameters"}


def shape(document: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every key path of the event, with the JSON type of its value."""
    shapes: dict[str, str] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        shapes[path] = type(value).__name__
        if isinstance(value, dict) and path not in DATA_MAPS:
            shapes |= shape(value, f"{path}.")
    return shapes


@pytest.fixture
def reference() -> dict[str, Any]:
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is missing: `sam local generate-event apigateway http-api-proxy > {REFERENCE}`")
    document: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return document


def test_the_front_builds_api_gateways_event(
    stack: LocalDeployment, client: HttpClient, reference: dict[str, Any]
) -> None:
    # Given a request with everything an event can carry: a query, cookies, headers and a body
    with stack.captured_events() as events:
        answer = client.post(
            f"/tokens?{reference['rawQueryString']}",
            json_body={"id": USER_ID},
            headers={"Cookie": "; ".join(reference["cookies"]), "Header1": "value1"},
        )
    assert answer.status == 200
    (event,) = events

    expected = {
        path: kind
        for path, kind in shape(reference).items()
        if not any(path == skip or path.startswith(f"{skip}.") for skip in ONLY_WITH_OTHER_AUTH | OMITTED_WHEN_EMPTY)
    }
    assert shape(event) == expected
    # The parts that do not depend on the request's time, id or host are API Gateway's own values.
    assert event["version"] == reference["version"]
    assert event["rawQueryString"] == reference["rawQueryString"]
    assert event["queryStringParameters"] == reference["queryStringParameters"]
    assert event["cookies"] == reference["cookies"]
    assert event["requestContext"]["http"]["protocol"] == reference["requestContext"]["http"]["protocol"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/tokens"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "POST /tokens"
    assert event["headers"]["header1"] == "value1"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"id": USER_ID}
    assert answer.headers["apigw-requestid"] == event["requestContext"]["requestId"]
