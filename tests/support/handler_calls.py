"""Driving the real handlers with API Gateway HTTP API events, and reading their answers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from infra.local.events import http_api_event
from token_service.handlers import end_session
from token_service.http_api.endpoint import Endpoint

USER_ID = "64c47134ad123e335d76fff5"
# A well-formed token naming a kid, so that checking it needs the key ring (and its signature then fails).
FORGED_TOKEN = jwt.encode(
    {"id": USER_ID}, "a key of 32 bytes or more, not the service's", headers={"kid": "unknown-kid"}
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: Mapping[str, str]
    cookies: Sequence[str]

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str:
        """The full Set-Cookie value for `name`."""
        (match,) = [cookie for cookie in self.cookies if cookie.startswith(name + "=")]
        return match

    def cookie_value(self, name: str) -> str:
        return self.cookie(name).split(";", 1)[0].split("=", 1)[1]


def call(
    endpoint: Endpoint[Any],
    dependency: object,
    method: str,
    path: str,
    *,
    json_body: object = None,
    body: bytes | None = None,
    cookies: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    **route: Any,
) -> Answer:
    """`route`: the rest of `http_api_event`'s arguments (query, route_key, path_parameters, authorizer)."""
    if json_body is not None:
        body = json.dumps(json_body).encode()
    all_headers = {"content-type": "application/json", "user-agent": "insomnia/10.2.0", **(headers or {})}
    event = http_api_event(method, path, body=body, headers=all_headers, cookies=cookies, **route)
    response = endpoint.respond(event, dependency)
    return Answer(response["statusCode"], response["body"], response["headers"], response.get("cookies", []))


def expected_body(key: str, message: str) -> str:
    """The reference's compact UTF-8 JSON, byte for byte."""
    return "{" + f'"{key}":"{message}"' + "}"


def end_session_call(dependency: object, caller: Mapping[str, str], session_id: str) -> Answer:
    """DELETE /tokens/sessions/{sessionId} as API Gateway hands it on once the authorizer let `caller` through."""
    return call(
        end_session.handler,
        dependency,
        "DELETE",
        f"/tokens/sessions/{session_id}",
        route_key="DELETE /tokens/sessions/{sessionId}",
        path_parameters={"sessionId": session_id},
        authorizer=caller,
    )
