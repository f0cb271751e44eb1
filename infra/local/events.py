"""API Gateway HTTP API (payload format 2.0) events, shaped as API Gateway sends them.

The same shape as `sam local generate-event apigateway http-api-proxy`; the local stack builds
its events here and the unit tests use them to drive the real handlers.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

API_ID = "local"
ACCOUNT_ID = "123456789012"


def http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[str] = (),
    query: str = "",
    source_ip: str = "127.0.0.1",
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An event as API Gateway builds it: lower-case headers, cookies split out, body base64 when binary.

    `route_key` is the matched route (`DELETE /tokens/sessions/{sessionId}`; by default the method
    and path), `path_parameters` its values, `authorizer` the context a Lambda authorizer allowed with.
    """
    route_key = route_key or f"{method} {path}"
    lowered = {name.lower(): value for name, value in (headers or {}).items() if name.lower() != "cookie"}
    is_base64 = body is not None and not _is_text(body, lowered.get("content-type", ""))
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": lowered.get("host", "localhost").split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = list(cookies)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": dict(authorizer)}
    if query:
        event["queryStringParameters"] = _query_parameters(query)
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if is_base64 else body.decode()
    return event


def authorizer_event(request: Mapping[str, Any], identity_source: Sequence[str] | None = None) -> dict[str, Any]:
    """The event a Lambda authorizer (payload 2.0) gets for `request`, an `http_api_event`.

    The request without its body, with the route's ARN and, where the authorizer has identity
    sources, their values.
    """
    context = request["requestContext"]
    method, path = context["http"]["method"], request["rawPath"]
    route_arn = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{context['apiId']}/{context['stage']}/{method}{path}"
    event = {key: value for key, value in request.items() if key not in ("body", "isBase64Encoded")}
    event |= {"type": "REQUEST", "routeArn": route_arn}
    if identity_source is not None:
        event["identitySource"] = list(identity_source)
    return event


def _is_text(body: bytes, content_type: str) -> bool:
    """API Gateway passes JSON and text through as text and base64-encodes everything else."""
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if not media_type.startswith("text/") and not media_type.endswith(("json", "xml")):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _query_parameters(query: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    return merged
