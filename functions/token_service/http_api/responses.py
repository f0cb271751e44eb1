"""The answers: JSON bodies as the contract spells them, and what each refused request gets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from token_service.domain.errors import (
    DependencyUnavailable,
    InvalidToken,
    PageTokenInvalid,
    ReuseDetected,
    ServiceError,
    SessionNotFound,
    SessionUnknown,
    TokenMissing,
)
from token_service.domain.outcomes import Outcome
from token_service.domain.values import TokenUse
from token_service.http_api import messages

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
    outcome: Outcome


# Every kind of domain failure, with the use of the token it concerns; a subclass is answered as
# the nearest of its bases listed here.
REFUSALS: Mapping[tuple[type[ServiceError], TokenUse | None], Refusal] = {
    (TokenMissing, TokenUse.ACCESS): Refusal(400, messages.ACCESS_TOKEN_MISSING, Outcome.ACCESS_TOKEN_MISSING),
    (TokenMissing, TokenUse.REFRESH): Refusal(400, messages.REFRESH_TOKEN_MISSING, Outcome.REFRESH_TOKEN_MISSING),
    (InvalidToken, TokenUse.ACCESS): Refusal(401, messages.ACCESS_TOKEN_INVALID, Outcome.ACCESS_TOKEN_INVALID),
    (InvalidToken, TokenUse.REFRESH): Refusal(401, messages.REFRESH_TOKEN_INVALID, Outcome.REFRESH_TOKEN_INVALID),
    (SessionUnknown, None): Refusal(419, messages.REFRESH_SESSION_UNKNOWN, Outcome.SESSION_UNKNOWN),
    (ReuseDetected, None): Refusal(419, messages.REFRESH_SESSION_UNKNOWN, Outcome.REUSE_DETECTED),
    (SessionNotFound, None): Refusal(404, messages.SESSION_NOT_FOUND, Outcome.SESSION_NOT_FOUND),
    (PageTokenInvalid, None): Refusal(400, messages.PAGE_TOKEN_INVALID, Outcome.PAGE_TOKEN_INVALID),
    (DependencyUnavailable, None): Refusal(503, messages.DEPENDENCY_UNAVAILABLE, Outcome.DEPENDENCY_FAILURE),
}


# A failure no row answers is a fault of ours, answered as any other unexpected error.
UNANSWERED = Refusal(500, messages.INTERNAL_ERROR, Outcome.INTERNAL_ERROR)


def refusal(error: ServiceError) -> Refusal:
    """The answer to `error`: its own class's row, else the nearest base class's that has one."""
    rows = (REFUSALS.get((kind, error.use)) for kind in type(error).__mro__ if issubclass(kind, ServiceError))
    return next((row for row in rows if row is not None), UNANSWERED)


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
