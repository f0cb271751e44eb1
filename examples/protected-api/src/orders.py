"""GET /orders: the caller's orders. token-service's authorizer has already checked the access token."""

import json
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    # The authorizer's context: who is calling and from which login session. Never from the request itself.
    caller = event["requestContext"]["authorizer"]["lambda"]
    orders: list[dict[str, Any]] = []  # look up caller["userId"]'s orders here
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json; charset=utf-8"},
        "body": json.dumps({"userId": caller["userId"], "orders": orders}),
    }
