"""Reading an API Gateway HTTP API (payload format 2.0) event.

Request cookies arrive in `event["cookies"]`, header names are lower case. The few fields the
handlers read are taken by hand rather than through Powertools' event classes, whose import
weighs on every cold start.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from token_service.domain.outcomes import Outcome
from token_service.http_api import messages

MAX_BODY_BYTES = 16 * 1024

Event = Mapping[str, Any]


class BadRequest(Exception):
    """A request the contract answers with a 4xx JSON error; `outcome` names it in logs and metrics."""

    def __init__(self, status: int, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.outcome = outcome


class Request:
    """One request's event, and what became of it (`outcome`, `user_id`, `detail`) for its log line."""

    def __init__(self, event: Event) -> None:
        self._event = event
        self.outcome: Outcome | None = None
        self.user_id: str | None = None
        self.detail: str | None = None

    def observe(self, outcome: Outcome, user_id: str | None = None) -> None:
        self.outcome = outcome
        self.user_id = user_id or self.user_id

    @property
    def route(self) -> str:
        http = self._http_context()
        return f"{http.get('method', '')} {http.get('path', '')}".strip()

    @property
    def request_id(self) -> str:
        context = self._event.get("requestContext")
        return str(context.get("requestId", "")) if isinstance(context, Mapping) else ""

    @property
    def source_ip(self) -> str:
        return str(self._http_context().get("sourceIp", ""))

    @property
    def user_agent(self) -> str:
        return str(self._http_context().get("userAgent", ""))

    def header(self, name: str) -> str | None:
        return _text_field(self._event.get("headers"), name)

    def path_parameter(self, name: str) -> str | None:
        return _text_field(self._event.get("pathParameters"), name)

    def query_parameter(self, name: str) -> str | None:
        """The parameter's value; API Gateway joins repeated ones with commas."""
        return _text_field(self._event.get("queryStringParameters"), name)

    @property
    def raw_query(self) -> str:
        raw = self._event.get("rawQueryString")
        return raw if isinstance(raw, str) else ""

    def authorizer_context(self) -> Mapping[str, Any] | None:
        """What the route's Lambda authorizer allowed the request with; None where no authorizer ran."""
        context = self._event.get("requestContext")
        authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
        allowed = authorizer.get("lambda") if isinstance(authorizer, Mapping) else None
        return allowed if isinstance(allowed, Mapping) else None

    def cookie_values(self, name: str) -> set[str]:
        """Every distinct value sent under the cookie's name, an empty one included."""
        cookies = self._event.get("cookies")
        prefix = name + "="
        listed = cookies if isinstance(cookies, list) else []
        return {c[len(prefix) :].strip() for c in listed if isinstance(c, str) and c.startswith(prefix)}

    def bearer_token(self) -> str | None:
        scheme, _, token = (self.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or the contract's 400 / 413."""
        try:
            document = json.loads(self._body())
        except (ValueError, RecursionError) as error:
            raise BadRequest(400, messages.BODY_NOT_JSON_OBJECT, Outcome.BODY_NOT_JSON_OBJECT) from error
        if not isinstance(document, dict):
            raise BadRequest(400, messages.BODY_NOT_JSON_OBJECT, Outcome.BODY_NOT_JSON_OBJECT)
        return document

    def optional_json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or an empty one when there is no body at all."""
        return self.json_object() if self._event.get("body") else {}

    def _http_context(self) -> Mapping[str, Any]:
        context = self._event.get("requestContext")
        http = context.get("http") if isinstance(context, Mapping) else None
        return http if isinstance(http, Mapping) else {}

    def _body(self) -> bytes:
        body = self._event.get("body")
        if not isinstance(body, str) or not body:
            raise BadRequest(400, messages.BODY_NOT_JSON_OBJECT, Outcome.BODY_MISSING)
        # Checked before decoding too, so a huge body costs nothing to refuse.
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise BadRequest(413, messages.BODY_TOO_LARGE, Outcome.BODY_TOO_LARGE)
        if self._event.get("isBase64Encoded") is True:
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as error:
                raise BadRequest(400, messages.BODY_NOT_JSON_OBJECT, Outcome.BODY_NOT_BASE64) from error
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_BODY_BYTES:
            raise BadRequest(413, messages.BODY_TOO_LARGE, Outcome.BODY_TOO_LARGE)
        return raw


def _text_field(fields: object, name: str) -> str | None:
    """`fields[name]` where `fields` is a mapping and the value a string; else None."""
    value = fields.get(name) if isinstance(fields, Mapping) else None
    return value if isinstance(value, str) else None
