"""A Lambda handler's life: its dependency built once, every failure answered, one log line per request."""

from __future__ import annotations

import threading
from collections.abc import Callable

from aws_lambda_powertools.logging import correlation_paths

from token_service.adapters import deadline
from token_service.domain.errors import DependencyUnavailable, ServiceError
from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.request import BadRequest, Event, Request
from token_service.http_api.responses import Response, failure, refusal
from token_service.observability import count_outcome, log_request, logger, metrics, traced


class Endpoint[Dependency]:
    """A Lambda handler: builds its dependency once per execution environment, maps failures to
    JSON errors, and logs one line per request; invoked by Lambda it also emits its metrics.

    `respond` is the same handler with the dependency handed in, which is how tests run it
    against their own AWS clients. `reply` turns the HTTP answer into what the function returns
    (an authorizer's answer is not an HTTP response); it is logged and counted before.
    """

    def __init__(
        self,
        handle: Callable[[Request, Dependency], Response],
        build: Callable[[], Dependency],
        reply: Callable[[Response], Response] = lambda response: response,
    ) -> None:
        self._handle = handle
        self._build = build
        self._reply = reply
        self._dependency: Dependency | None = None
        self._lock = threading.Lock()
        self._invoke = metrics.log_metrics(capture_cold_start_metric=True)(
            logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)(
                traced(self._invoke_with_built_dependency)
            )
        )

    def __call__(self, event: Event, context: object) -> Response:
        response: Response = self._invoke(event, context)
        return response

    def respond(self, event: Event, dependency: Dependency, context: object = None) -> Response:
        with deadline.invocation(context):
            return self._reply(self._answer(Request(event), lambda: dependency))

    def _invoke_with_built_dependency(self, event: Event, context: object) -> Response:
        request = Request(event)
        with deadline.invocation(context):
            response = self._answer(request, self._built)
        if request.outcome is not None:
            count_outcome(request.outcome)
        return self._reply(response)

    def _answer(self, request: Request, dependency: Callable[[], Dependency]) -> Response:
        try:
            response = self._handle(request, dependency())
        except BadRequest as error:
            request.observe(error.outcome)
            response = failure(error.status, error.message)
        except ServiceError as error:
            refused = refusal(error)
            request.observe(refused.outcome)
            request.detail = str(error)  # our own words: which check failed, never the token
            if isinstance(error, DependencyUnavailable):
                logger.warning("dependency unavailable", extra={"reason": str(error), "cause": repr(error.__cause__)})
            response = failure(refused.status, refused.message)
        except Exception:
            request.observe(Outcome.INTERNAL_ERROR)
            logger.exception("unhandled error")
            response = failure(500, messages.INTERNAL_ERROR)
        _log(request, response)
        return response

    def _built(self) -> Dependency:
        with self._lock:
            if self._dependency is None:
                self._dependency = self._build()
            return self._dependency


def _log(request: Request, response: Response) -> None:
    fields = {"route": request.route, "status": response["statusCode"], "outcome": request.outcome}
    if request.user_id is not None:
        fields["user_id"] = request.user_id
    if request.detail is not None:
        fields["detail"] = request.detail
    log_request({**fields, "request_id": request.request_id})
