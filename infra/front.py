"""A local stand-in for API Gateway's HTTP API (payload format 2.0) in front of the functions' handlers.

An ASGI application that routes, builds the event, calls the handler with a Lambda context and
turns its answer into HTTP, with API Gateway's own 404, 413 and 500 answers (and `GET /demo`).
Invocations run one at a time, as in one Lambda execution environment (Powertools keeps the
invocation's state in module-level objects), their standard output captured as Lambda's is.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra import demo
from infra.cors import Cors
from infra.events import ACCOUNT_ID, http_api_event

type Event = dict[str, Any]
type Headers = tuple[tuple[str, str], ...]
type ReplyListener = Callable[[str, str, Reply, float], None]  # method, path, reply, milliseconds

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's quota
JSON: Headers = (("content-type", "application/json"),)
# What HTTP forbids in a header name and value.
_NOT_A_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The part of Lambda's context object handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float  # time.monotonic() when Lambda would stop the invocation

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class Function:
    """A function of the template: the handler Lambda would call and what its context reports."""

    name: str
    handler_path: str
    handler: Callable[[Event, Any], Any]
    memory_mb: int
    timeout_seconds: int
    region: str

    def invoke(self, event: Event) -> Any:
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"
        deadline = time.monotonic() + self.timeout_seconds
        return self.handler(event, LambdaContext(self.name, arn, self.memory_mb, str(uuid.uuid4()), deadline))


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Headers
    body: bytes
    output: str = ""  # what the invocation wrote to standard output

    @property
    def outcome(self) -> str:
        """The `outcome` of the function's request log line; `-` without one (e.g. at LogLevel=WARNING)."""
        for line in self.output.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line) if '"request"' in line else None
                if isinstance(record, dict) and record.get("message") == "request":
                    return str(record.get("outcome", "-"))
        return "-"


class UnusableResponseError(ValueError):
    """A handler answer API Gateway could not turn into HTTP (it answers 500)."""


def gateway_error(status: int, message: str, headers: Headers = JSON) -> Reply:
    """An answer API Gateway gives on its own, never reaching a function."""
    return Reply(status, headers, json.dumps({"message": message}, separators=(",", ":")).encode())


def lambda_reply(result: object) -> Reply:
    """A handler's answer as API Gateway turns it into HTTP (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 infers a 200 JSON answer from anything without a statusCode.
        return Reply(200, JSON, (result if isinstance(result, str) else json.dumps(result)).encode())
    status, headers, cookies = result["statusCode"], result.get("headers") or {}, result.get("cookies") or []
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise UnusableResponseError(f"statusCode {status!r} is not an HTTP status")
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise UnusableResponseError("headers must be an object and cookies a list")
    pairs = [_header(name, value) for name, value in headers.items()]
    pairs += [_header("set-cookie", cookie) for cookie in cookies]
    return Reply(status, tuple(pairs), _body(result.get("body"), result.get("isBase64Encoded") is True))


def _header(name: object, value: object) -> tuple[str, str]:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if not str(name) or _NOT_A_TOKEN.search(str(name)) or _CONTROL_CHARACTERS.search(text):
        raise UnusableResponseError(f"{name}: {text!r} cannot be sent as a header")
    return str(name), text


def _body(body: object, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise UnusableResponseError("body must be a string")
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as error:  # binascii.Error is one
        raise UnusableResponseError("isBase64Encoded body is not base64") from error


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
    headers |= {"x-forwarded-port": str(port), "x-forwarded-proto": "http"}
    return headers, cookies


class CurrentStdout:
    """Writes wherever `sys.stdout` points at the moment, `contextlib.redirect_stdout` included."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def log_to_current_stdout() -> None:
    """Every logging handler bound to this process's stdout follows `sys.stdout` instead: Powertools'
    Logger keeps the stdout of its import, which an invocation's redirection would not reach.
    """
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for handler in [handler for known in loggers for handler in getattr(known, "handlers", [])]:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(CurrentStdout())


class LocalApi:
    """Routing and the event/response translation: `respond` is one exchange, the instance an ASGI application."""

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Function],
        *,
        port: int = 0,
        on_reply: ReplyListener | None = None,
        cors: Cors | None = None,
    ) -> None:
        self.routes = dict(routes)
        self.port = port
        self.cors = cors
        self.listeners: list[Callable[[Event], None]] = []  # each hears every event before its handler
        self._on_reply = on_reply
        self._invocation = threading.Lock()

    def invoke(self, function: Function, event: Event) -> Reply:
        """One invocation, its standard output captured; a handler that fails is API Gateway's 500."""
        output = io.StringIO()
        try:
            with self._invocation, contextlib.redirect_stdout(output):
                result = function.invoke(event)
            reply = lambda_reply(result)
        except Exception:
            logger.exception("%s (%s) failed", function.name, function.handler_path)
            reply = gateway_error(500, "Internal Server Error")
        return dataclasses.replace(reply, output=output.getvalue())

    def respond(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        client_ip: str = "127.0.0.1",
    ) -> Reply:
        if (method, path) == ("GET", demo.PATH):  # local only: no route of the template
            return Reply(200, *demo.page())
        lowered, cookies = request_headers(headers, client_ip, self.port)
        origin = lowered.get("origin")
        if self.cors is not None and method == "OPTIONS" and origin and "access-control-request-method" in lowered:
            return Reply(204, self.cors.preflight(origin), b"")
        grant = self.cors.grant(origin) if self.cors is not None else ()
        function = self.routes.get((method, path)) or self.routes.get(("ANY", path))
        if function is None:
            return gateway_error(404, "Not Found", (*JSON, *grant))
        event = http_api_event(
            method, path, body=body or None, headers=lowered, cookies=cookies, query=query, source_ip=client_ip
        )
        for listener in list(self.listeners):
            listener(event)
        reply = self.invoke(function, event)
        request_id = ("apigw-requestid", event["requestContext"]["requestId"])
        return dataclasses.replace(reply, headers=(*reply.headers, request_id, *grant))

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        started = time.perf_counter()
        method, path = scope["method"], scope["raw_path"].decode("latin-1")
        reply = await self._reply(scope, receive, method, path)
        if reply is None:  # the client left before sending its whole request
            return
        headers = [(name.encode(), value.encode()) for name, value in reply.headers]
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [*headers, (b"content-length", str(len(reply.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})
        if self._on_reply is not None:
            self._on_reply(method, path, reply, (time.perf_counter() - started) * 1000)

    async def _reply(self, scope: dict[str, Any], receive: Callable[..., Any], method: str, path: str) -> Reply | None:
        try:
            headers = [(name.decode(), value.decode()) for name, value in scope["headers"]]
        except UnicodeDecodeError:
            return gateway_error(400, "Bad Request")
        declared = dict(headers).get("content-length")
        body = bytearray()
        while declared is None or int(declared) <= MAX_PAYLOAD_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > MAX_PAYLOAD_BYTES:
                break
            if not message.get("more_body", False):
                query = scope["query_string"].decode("latin-1")
                return self.respond(
                    method, path, query=query, headers=headers, body=bytes(body), client_ip=scope["client"][0]
                )
        # The rest of the body stays unread: the connection closes after the answer.
        return gateway_error(413, "Request Entity Too Large", (*JSON, ("connection", "close")))
