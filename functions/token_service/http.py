"""HTTP shaping for API Gateway HTTP API (payload format 2.0) events.

Request cookies arrive in `event["cookies"]`, response cookies leave as the `cookies` list,
header names are lower case. Events are parsed here by hand rather than through Powertools'
`APIGatewayProxyEventV2`, whose import costs ≈ 140 ms of cold start for the five fields we read.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from token_service import messages
from token_service.errors import DependencyUnavailable, InvalidToken, SessionRejected
from token_service.observability import count_outcome, log_request, logger, metrics, traced

if TYPE_CHECKING:
    from token_service.service import TokenPair

MAX_BODY_BYTES = 16 * 1024
ACCESS_COOKIE = "accessToken"
REFRESH_COOKIE = "refreshToken"
ACCESS_COOKIE_PATH = "/"
# The refresh token only ever travels to the token routes.
REFRESH_COOKIE_PATH = "/tokens"

JSON_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    # Token responses must never be cached (RFC 6749 §5.1).
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}

Event = Mapping[str, Any]
Response = dict[str, Any]


class ApiError(Exception):
    """A request the contract answers with a 4xx JSON error; `reason` names it in logs and metrics."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class Request:
    """One request's event, and what became of it (`outcome`, `user_id`) for its log line."""

    def __init__(self, event: Event) -> None:
        self._event = event
        self.outcome = ""
        self.user_id: str | None = None
        self.detail: str | None = None

    def observe(self, outcome: str, user_id: str | None = None) -> None:
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

    def header(self, name: str) -> str | None:
        headers = self._event.get("headers")
        value = headers.get(name) if isinstance(headers, Mapping) else None
        return value if isinstance(value, str) else None

    def cookie(self, name: str) -> str | None:
        """The cookie's value; two different values under one name are an attack, never a choice."""
        cookies = self._event.get("cookies")
        prefix = name + "="
        listed = cookies if isinstance(cookies, list) else []
        values = {c[len(prefix) :].strip() for c in listed if isinstance(c, str) and c.startswith(prefix)}
        if len(values) > 1:
            raise InvalidToken(f"cookie {name} was sent with different values")
        value = values.pop() if values else ""
        return value or None

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
            raise ApiError(400, messages.BODY_NOT_JSON_OBJECT, "body_not_json_object") from error
        if not isinstance(document, dict):
            raise ApiError(400, messages.BODY_NOT_JSON_OBJECT, "body_not_json_object")
        return document

    def optional_json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or an empty one when there is no body at all."""
        return self.json_object() if self._event.get("body") else {}

    @property
    def source_ip(self) -> str:
        return str(self._http_context().get("sourceIp", ""))

    @property
    def user_agent(self) -> str:
        return str(self._http_context().get("userAgent", ""))

    def _http_context(self) -> Mapping[str, Any]:
        context = self._event.get("requestContext")
        http = context.get("http") if isinstance(context, Mapping) else None
        return http if isinstance(http, Mapping) else {}

    def _body(self) -> bytes:
        body = self._event.get("body")
        if not isinstance(body, str) or not body:
            raise ApiError(400, messages.BODY_NOT_JSON_OBJECT, "body_missing")
        # Checked before decoding too, so a huge body costs nothing to refuse.
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise ApiError(413, messages.BODY_TOO_LARGE, "body_too_large")
        if self._event.get("isBase64Encoded") is True:
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as error:
                raise ApiError(400, messages.BODY_NOT_JSON_OBJECT, "body_not_base64") from error
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, messages.BODY_TOO_LARGE, "body_too_large")
        return raw


def success(message: str, cookies: Iterable[str] = ()) -> Response:
    return _json(200, {"message": message}, cookies)


def failure(status: int, message: str) -> Response:
    return _json(status, {"errorMessage": message}, ())


def text(status: int, body: str) -> Response:
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": body}


def _json(status: int, document: Mapping[str, str], cookies: Iterable[str]) -> Response:
    response: Response = {
        "statusCode": status,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
    }
    cookie_list = list(cookies)
    if cookie_list:
        response["cookies"] = cookie_list
    return response


def presented_refresh_token(request: Request, body: Mapping[str, Any]) -> str | None:
    """The refresh token from its cookie, or from `{"refreshToken": ...}` for clients without a cookie jar."""
    token = request.cookie(REFRESH_COOKIE) or body.get("refreshToken")
    return token if isinstance(token, str) and token else None


def pair_cookies(pair: TokenPair, *, secure: bool) -> list[str]:
    """The access cookie, and the refresh cookie when the pair has a new refresh token."""
    cookies = [token_cookie(ACCESS_COOKIE, pair.access_token, ACCESS_COOKIE_PATH, pair.access_max_age, secure)]
    if pair.refresh_token is not None:
        cookies.append(
            token_cookie(REFRESH_COOKIE, pair.refresh_token, REFRESH_COOKIE_PATH, pair.refresh_max_age, secure)
        )
    return cookies


def cleared_cookies(*, secure: bool) -> list[str]:
    """Both credential cookies emptied and expired, with the Path and flags they were set with."""
    return [
        token_cookie(ACCESS_COOKIE, "", ACCESS_COOKIE_PATH, 0, secure),
        token_cookie(REFRESH_COOKIE, "", REFRESH_COOKIE_PATH, 0, secure),
    ]


def token_cookie(name: str, value: str, path: str, max_age: int, secure: bool) -> str:
    """A credential cookie: never readable by scripts, never sent cross-site."""
    cookie = Cookie(
        name=name,
        value=value,
        path=path,
        max_age=max_age,
        secure=secure,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
    )
    return str(cookie)


class Endpoint[Dependency]:
    """A Lambda handler: builds its dependency once per execution environment, maps failures to
    JSON errors, and logs one line per request; invoked by Lambda it also emits its metrics.

    `respond` is the same handler with the dependency handed in, which is how tests run it
    against their own AWS clients.
    """

    def __init__(self, handle: Callable[[Request, Dependency], Response], build: Callable[[], Dependency]) -> None:
        self._handle = handle
        self._build = build
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

    def respond(self, event: Event, dependency: Dependency) -> Response:
        return self._answer(Request(event), lambda request: dependency)

    def _invoke_with_built_dependency(self, event: Event, context: object) -> Response:
        request = Request(event)
        response = self._answer(request, lambda _request: self._built())
        count_outcome(request.outcome)
        return response

    def _answer(self, request: Request, dependency: Callable[[Request], Dependency]) -> Response:
        try:
            response = self._handle(request, dependency(request))
        except ApiError as error:
            request.observe(f"rejected:{error.reason}")
            if isinstance(error.__cause__, InvalidToken | SessionRejected):
                request.detail = str(error.__cause__)  # our own words: which check failed, never the token
            response = failure(error.status, error.message)
        except DependencyUnavailable as error:
            request.observe("dependency_failure")
            logger.warning("dependency unavailable", extra={"reason": str(error), "cause": repr(error.__cause__)})
            response = failure(503, messages.DEPENDENCY_UNAVAILABLE)
        except Exception:
            request.observe("internal_error")
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
