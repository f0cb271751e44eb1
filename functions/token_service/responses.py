"""The answers: JSON bodies as the contract spells them, and what each refused request gets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from token_service import messages
from token_service.errors import (
    DependencyUnavailable,
    InvalidToken,
    PageTokenInvalid,
    ReuseDetected,
    ServiceError,
    SessionNotFound,
    SessionUnknown,
    TokenMissing,
)
from token_service.tokens import TokenUse

Response = dict[str, Any]

JSON_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    # Token responses must never be cached (RFC 6749 §5.1).
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request's status, its contract message, and the outcome it is logged and counted as."""

    status: int
    message: str
    outcome: str


# Every domain failure, by its kind and the use of the token it concerns.
REFUSALS: Mapping[tuple[type[ServiceError], TokenUse | None], Refusal] = {
    (TokenMissing, TokenUse.ACCESS): Refusal(400, messages.ACCESS_TOKEN_MISSING, "rejected:access_token_missing"),
    (TokenMissing, TokenUse.REFRESH): Refusal(400, messages.REFRESH_TOKEN_MISSING, "rejected:refresh_token_missing"),
    (InvalidToken, TokenUse.ACCESS): Refusal(401, messages.ACCESS_TOKEN_INVALID, "rejected:access_token_invalid"),
    (InvalidToken, TokenUse.REFRESH): Refusal(401, messages.REFRESH_TOKEN_INVALID, "rejected:refresh_token_invalid"),
    (SessionUnknown, None): Refusal(419, messages.REFRESH_SESSION_UNKNOWN, "rejected:session_unknown"),
    (ReuseDetected, None): Refusal(419, messages.REFRESH_SESSION_UNKNOWN, "rejected:reuse_detected"),
    (SessionNotFound, None): Refusal(404, messages.SESSION_NOT_FOUND, "rejected:session_not_found"),
    (PageTokenInvalid, None): Refusal(400, messages.PAGE_TOKEN_INVALID, "rejected:page_token_invalid"),
    (DependencyUnavailable, None): Refusal(503, messages.DEPENDENCY_UNAVAILABLE, "dependency_failure"),
}


def refusal(error: ServiceError) -> Refusal:
    return REFUSALS[(type(error), error.use)]


def success(message: str, cookies: Iterable[str] = (), fields: Mapping[str, object] | None = None) -> Response:
    """200 with the message, and after it any other `fields` of the answer."""
    return _json(200, {"message": message, **(fields or {})}, cookies)


def failure(status: int, message: str) -> Response:
    return _json(status, {"errorMessage": message}, ())


def text(status: int, body: str) -> Response:
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": body}


def _json(status: int, document: Mapping[str, object], cookies: Iterable[str]) -> Response:
    response: Response = {
        "statusCode": status,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
    }
    cookie_list = list(cookies)
    if cookie_list:
        response["cookies"] = cookie_list
    return response


class AuthorizerFailed(RuntimeError):
    """The authorizer could not decide (a dependency failed): API Gateway answers 500 and caches nothing."""


def authorized(context: Mapping[str, str]) -> Response:
    """The authorizer's answer for a request it lets through, with the context the route gets."""
    return {"statusCode": 200, "context": dict(context)}


def simple_authorizer_answer(response: Response) -> Response:
    """What an HTTP API Lambda authorizer with simple responses returns for the handler's answer.

    A refusal denies (API Gateway answers 403, and may cache the denial). A failure raises rather
    than deny, so that a dependency's outage is never cached as a denial of a valid token.
    """
    status = response["statusCode"]
    if status >= 500:
        raise AuthorizerFailed(f"the authorizer could not decide ({status})")
    if status == 200:
        return {"isAuthorized": True, "context": response["context"]}
    return {"isAuthorized": False}
