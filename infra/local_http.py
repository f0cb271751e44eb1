"""A local stand-in for API Gateway's HTTP API in front of the functions' Lambda handlers.

It does what API Gateway does with payload format 2.0 and nothing more: match the request to
a route of the template, build the event (`infra.events.http_api_event`), call the handler with
a Lambda context, and turn the handler's answer back into HTTP: `statusCode`, `headers`, the
body (base64-decoded when `isBase64Encoded`), each `cookies` entry as its own `Set-Cookie`.
An unknown route is API Gateway's 404 `{"message":"Not Found"}`, a handler that raises or
answers something unusable its 500 `{"message":"Internal Server Error"}`.

The server is the standard library's threaded HTTP server with keep-alive (HTTP/1.1), one
write per response and Nagle off, so it stays well ahead of the handlers it serves.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.events import ACCOUNT_ID, http_api_event

type Event = dict[str, Any]
type Handler = Callable[[Event, Any], Any]
type EventListener = Callable[[Event], None]

# API Gateway's request payload quota.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# An idle keep-alive connection is closed after this long.
IDLE_TIMEOUT_SECONDS = 60
# The response headers the server itself writes; a handler's own values for them are dropped.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "date"})

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


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class UnusableResponse(ValueError):
    """A handler answer API Gateway could not turn into HTTP (it answers 500)."""


def gateway_error(status: int, message: str) -> Reply:
    """An answer API Gateway gives on its own, never reaching a function."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return Reply(status, [("content-type", "application/json")], body)


def lambda_reply(result: object) -> Reply:
    """A handler's answer as API Gateway turns it into HTTP (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 infers a 200 JSON answer from anything without a statusCode.
        body = result if isinstance(result, str) else json.dumps(result)
        return Reply(200, [("content-type", "application/json")], body.encode())
    status, headers, cookies = result["statusCode"], result.get("headers") or {}, result.get("cookies") or []
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise UnusableResponse(f"statusCode {status!r} is not an HTTP status")
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise UnusableResponse("headers must be an object and cookies a list")
    pairs = [(str(name), _header_value(value)) for name, value in headers.items()]
    pairs += [("set-cookie", _header_value(cookie)) for cookie in cookies]
    return Reply(status, pairs, _body(result.get("body"), result.get("isBase64Encoded") is True))


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

    Connections are served concurrently, invocations one at a time: a Lambda execution
    environment never runs two invocations at once, and the handlers rely on it (Powertools'
    Logger and Metrics keep the current invocation's state in module-level objects, which
    concurrent threads mix up: wrong function names in log lines, metrics of one request
    flushed with another's). Under the GIL this costs next to no throughput.
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
    ) -> Reply:
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


class LocalHttpServer(ThreadingHTTPServer):
    """One thread per connection; open connections are closed on `close_connections`."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], api: LocalApi, *, access_log: bool = False) -> None:
        self.api = api
        self.access_log = access_log
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Exchange)
        api.port = self.server_port

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN, which can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-exchange is routine; anything else is logged."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            logger.exception("connection from %s failed", client_address[0])

    def close_connections(self) -> None:
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Exchange(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "token-service-local"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS
    server: LocalHttpServer

    def _serve(self) -> None:
        started = time.perf_counter()
        body = self._read_body()
        if body is None:
            return
        reply = self.server.api.respond(self.command, self.path, self.headers.items(), body, self.client_address[0])
        self._send(reply)
        if self.server.access_log:
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{self.command} {self.path} {reply.status} {elapsed:.1f} ms", flush=True)

    # The names BaseHTTPRequestHandler dispatches to; a method no route has is API Gateway's 404.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _serve  # noqa: N815

    def _read_body(self) -> bytes | None:
        """The request body, or None when the request was already answered (400, 413)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        declared = self.headers.get("content-length")
        if declared is None:
            return b""
        if not declared.strip().isdigit():
            self._refuse(400, "Bad Request")
            return None
        length = int(declared)
        if length > MAX_PAYLOAD_BYTES:
            self._refuse(413, "Request Entity Too Large")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while size := self._chunk_size():
            total += size
            if size < 0 or total > MAX_PAYLOAD_BYTES:
                self._refuse(400 if size < 0 else 413, "Bad Request" if size < 0 else "Request Entity Too Large")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF closing the chunk
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _chunk_size(self) -> int:
        """The next chunk's size; -1 when the size line is malformed."""
        size_field = self.rfile.readline(1024).split(b";", 1)[0].strip()
        try:
            return int(size_field, 16)
        except ValueError:
            return -1

    def _refuse(self, status: int, message: str) -> None:
        """Answer for API Gateway, without the request's body; the connection closes."""
        self.close_connection = True
        self._send(gateway_error(status, message))

    def _send(self, reply: Reply) -> None:
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = ""  # e.g. the contract's 419, which has no registered phrase
        lines = [
            f"HTTP/1.1 {reply.status} {reason}",
            f"date: {self.date_time_string()}",
            f"content-length: {len(reply.body)}",
        ]
        lines += [f"{name}: {value}" for name, value in reply.headers if name.lower() not in _FRAMING_HEADERS]
        if self.close_connection:
            lines.append("connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if self.command == "HEAD" else head + reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)
