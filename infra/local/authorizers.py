"""Lambda authorizers as API Gateway runs them: request authorizers, payload 2.0, simple responses, its cache.

`lambda_authorizer` reads one from the API's definition, refusing what the front cannot run faithfully.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.local import LocalDeploymentError
from infra.local.functions import Function
from infra.local.responses import UnusableResponseError
from infra.template import Authorizer

HEADER_SOURCE = "$request.header."


@dataclass(frozen=True, slots=True)
class Decision:
    """A Lambda authorizer's simple response: allowed or not, and the context the route's function gets."""

    allowed: bool
    context: Mapping[str, Any]


def simple_response(result: object) -> Decision:
    """An authorizer's answer as API Gateway reads a simple response; anything else is its 500."""
    if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
        raise UnusableResponseError("a simple response is an object with a boolean isAuthorized")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise UnusableResponseError("an authorizer's context must be an object")
    return Decision(result["isAuthorized"], context)


class LambdaAuthorizer:
    """A route's Lambda authorizer (payload 2.0, simple responses) and API Gateway's cache of its answers.

    Answers, allowing and denying alike, are reused for `ttl_seconds` for requests whose identity
    source (these headers) has the same values; without an identity source nothing is cached.
    """

    def __init__(self, function: Function, identity_headers: Sequence[str], ttl_seconds: int) -> None:
        self.function = function
        self.identity_headers = tuple(name.lower() for name in identity_headers)
        self.ttl_seconds = ttl_seconds if self.identity_headers else 0
        self._answers: dict[tuple[str, ...], tuple[float, Decision]] = {}

    def identity(self, pairs: Sequence[tuple[str, str]]) -> tuple[str, ...] | None:
        """The identity source's values, repeated headers joined by commas; None when one is missing or
        empty, which API Gateway answers 401 without invoking the authorizer."""
        values = tuple(",".join(value for key, value in pairs if key.lower() == name) for name in self.identity_headers)
        return None if "" in values else values

    def cached(self, identity: tuple[str, ...]) -> Decision | None:
        kept = self._answers.get(identity)
        return kept[1] if kept is not None and kept[0] > time.monotonic() else None

    def remember(self, identity: tuple[str, ...], decision: Decision) -> None:
        if self.ttl_seconds <= 0:
            return
        now = time.monotonic()
        self._answers = {key: kept for key, kept in self._answers.items() if kept[0] > now}
        self._answers[identity] = (now + self.ttl_seconds, decision)


def lambda_authorizer(declared: Authorizer, function: Callable[[str], Function]) -> LambdaAuthorizer:
    """The authorizer the API's definition declares, as the front runs it; what it cannot run faithfully
    is a LocalDeploymentError."""
    if declared.function is None:
        raise LocalDeploymentError(f"authorizer {declared.name}: its authorizerUri names no function of the template")
    if (declared.kind, declared.payload_format_version, declared.simple_responses) != ("request", "2.0", True):
        raise LocalDeploymentError(
            f"authorizer {declared.name}: the local front runs request authorizers with payload format 2.0 "
            "and simple responses only"
        )
    if not all(source.startswith(HEADER_SOURCE) for source in declared.identity_source):
        raise LocalDeploymentError(
            f"authorizer {declared.name}: the local front reads identity sources from headers only"
        )
    headers = [source.removeprefix(HEADER_SOURCE) for source in declared.identity_source]
    return LambdaAuthorizer(function(declared.function), headers, declared.ttl_seconds)
