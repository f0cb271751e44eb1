"""A local stand-in for API Gateway's HTTP API in front of the functions' Lambda handlers.

It does what API Gateway does with payload format 2.0 and nothing more: match the request to
a route of the template, build the event (`infra.events.http_api_event`), call the handler with
a Lambda context, and turn the handler's answer back into HTTP: `statusCode`, `headers`, the
body (base64-decoded when `isBase64Encoded`), each `cookies` entry as its own `Set-Cookie`.
An unknown route is API Gateway's 404 `{"message":"Not Found"}`, a handler that raises or
answers something unusable its 500 `{"message":"Internal Server Error"}`.

The server is `infra.http_server`: one thread multiplexes every connection (keep-alive,
chunked bodies, `Expect: 100-continue`) and invokes the handlers on it, one at a time, as a
Lambda execution environment does. Each response goes out in one write with Nagle off.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from infra.events import ACCOUNT_ID, http_api_event
from infra.http_server import HttpRequest, HttpResponse, HttpServer

type Event = dict[str, Any]
type Handler = Callable[[Event, Any], Any]
type EventListener = Callable[[Event], None]

# API Gateway's request payload quota.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# An idle keep-alive connection is closed after this long.
IDLE_TIMEOUT_SECONDS = 60
# API Gateway's own words where they differ from today's reason phrases (413 is "Content Too Large").
_GATEWAY_REFUSALS = {413: "Request Entity Too Large"}

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The part of Lambda's context object handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() when Lambda would stop the invocation

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class Function:
    """A function of the template: the handler Lambda would call and what its context reports."""

    name: str
    handler_path: str
    handler: Handler
    memory_mb: int
    timeout_seconds: int
    region: str

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"

    def invoke(self, event: Event) -> Any:
        context = LambdaContext(
            function_name=self.name,
            function_version="$LATEST",
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]local",
            deadline=time.monotonic() + self.timeout_seconds,
        )
        return self.handler(event, context)


class UnusableResponse(ValueError):
    """A handler answer API Gateway could not turn into HTTP (it answers 500)."""


def gateway_error(status: int, message: str) -> HttpResponse:
    """An answer API Gateway gives on its own, never reaching a function."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


def lambda_reply(result: object) -> HttpResponse:
    """A handler's answer as API Gateway turns it into HTTP (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 infers a 200 JSON answer from anything without a statusCode.
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    status, headers, cookies = result["statusCode"], result.get("headers") or {}, result.get("cookies") or []
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise UnusableResponse(f"statusCode {status!r} is not an HTTP status")
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise UnusableResponse("headers must be an object and cookies a list")
    pairs = [(str(name), _header_value(value)) for name, value in headers.items()]
    pairs += [("set-cookie", _header_value(cookie)) for cookie in cookies]
    return HttpResponse(status, pairs, _body(result.get("body"), result.get("isBase64Encoded") is True))


def _header_value(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "\r" in text or "\n" in text:
        raise UnusableResponse("a header value contains a line break")
    return text


def _body(body: object, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise UnusableResponse("body must be a string")
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise UnusableResponse("isBase64Encoded body is not base64") from error


def request_headers(pairs: Iterable[tuple[str, str]], client_ip: str, port: int) -> tuple[dict[str, str], list[str]]:
    """Header names lower-cased, repeated headers joined by commas, cookies split out, as API Gateway does."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {client_ip}" if forwarded else client_ip
    headers["x-forwarded-port"] = str(port)
    headers["x-forwarded-proto"] = "http"
    return headers, cookies


class LocalApi:
    """Routing and the event/response translation; `respond` is one HTTP exchange, no sockets.

    Invocations run one at a time: a Lambda execution environment never runs two at once, and
    the handlers rely on it (Powertools' Logger and Metrics keep the current invocation's state
    in module-level objects, which concurrent threads mix up: wrong function names in log
    lines, metrics of one request flushed with another's). The server calls `respond` from its
    one thread; the lock holds the rule for any other caller too.
    """

    def __init__(self, routes: Mapping[tuple[str, str], Function], port: int = 0) -> None:
        self._routes = dict(routes)
        self.port = port
        self._listeners: tuple[EventListener, ...] = ()
        self._listeners_lock = threading.Lock()
        self._invocation_lock = threading.Lock()

    @property
    def routes(self) -> Mapping[tuple[str, str], Function]:
        return self._routes

    def add_listener(self, listener: EventListener) -> None:
        """Call `listener` with every event before its handler sees it (tracing, tests)."""
        with self._listeners_lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: EventListener) -> None:
        with self._listeners_lock:
            self._listeners = tuple(known for known in self._listeners if known != listener)

    def respond(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, client_ip: str
    ) -> HttpResponse:
        path, _, query = target.partition("?")
        function = self._routes.get((method, path)) or self._routes.get(("ANY", path))
        if function is None:
            return gateway_error(404, "Not Found")
        lowered, cookies = request_headers(headers, client_ip, self.port)
        event = http_api_event(
            method, path, body=body or None, headers=lowered, cookies=cookies, query=query, source_ip=client_ip
        )
        try:
            for listener in self._listeners:
                listener(event)
            with self._invocation_lock:
                result = function.invoke(event)
            reply = lambda_reply(result)
        except Exception:
            logger.exception("%s (%s) failed", function.name, function.handler_path)
            return gateway_error(500, "Internal Server Error")
        reply.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        return reply


class LocalHttpServer(HttpServer):
    """The front: every request answered by `api`, refusals in API Gateway's words."""

    def __init__(self, listener: socket.socket, api: LocalApi, *, access_log: bool = False) -> None:
        self.api = api
        self.access_log = access_log
        super().__init__(
            listener,
            self._serve,
            max_body=MAX_PAYLOAD_BYTES,
            idle_timeout=IDLE_TIMEOUT_SECONDS,
            refusal=_gateway_refusal,
        )
        api.port = self.server_port

    def _serve(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        reply = self.api.respond(
            request.method, request.target, request.headers, request.body, request.client_address[0]
        )
        if self.access_log:
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{request.method} {request.target} {reply.status} {elapsed:.1f} ms", flush=True)
        return reply


def _gateway_refusal(status: int) -> HttpResponse:
    return gateway_error(status, _GATEWAY_REFUSALS.get(status) or HTTPStatus(status).phrase)
