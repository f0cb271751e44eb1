"""A local stand-in for API Gateway's HTTP API (payload format 2.0) in front of the functions' handlers.

An ASGI application that routes (path templates included), runs a route's Lambda authorizer,
builds the event, calls the handler with a Lambda context and turns its answer into HTTP, with
API Gateway's own 401, 403, 404, 413 and 500 answers (and `GET /demo`). Invocations run one at a
time, as in one Lambda execution environment (Powertools keeps the invocation's state in
module-level objects), their standard output captured as Lambda's is.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from infra import demo
from infra.cors import Cors
from infra.events import ACCOUNT_ID, authorizer_event, http_api_event

type Event = dict[str, Any]
type Headers = tuple[tuple[str, str], ...]
type ReplyListener = Callable[[str, str, Reply, float], None]  # method, path, reply, milliseconds
type RouteKey = tuple[str, str]  # method (or ANY) and path as the template declares them

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
        """The `outcome` of the last request log line (the function that answered, after any authorizer);
        `-` without one (e.g. at LogLevel=WARNING)."""
        outcome = "-"
        for line in self.output.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line) if '"request"' in line else None
                if isinstance(record, dict) and record.get("message") == "request":
                    outcome = str(record.get("outcome", "-"))
        return outcome


class UnusableResponseError(ValueError):
    """A handler answer API Gateway could not turn into HTTP (it answers 500)."""


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


def path_pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A route's path as API Gateway matches it, each `{name}` one whole path segment; and the names."""
    pieces = re.split(r"\{([^{}/]+)\}", template)
    literals, names = pieces[::2], tuple(pieces[1::2])
    return re.compile("([^/]+)".join(re.escape(literal) for literal in literals)), names


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
    """Routing, authorizers and the event/response translation: `respond` is one exchange, the instance
    an ASGI application."""

    def __init__(
        self,
        routes: Mapping[RouteKey, Function],
        *,
        authorizers: Mapping[RouteKey, LambdaAuthorizer] | None = None,
        port: int = 0,
        on_reply: ReplyListener | None = None,
        cors: Cors | None = None,
    ) -> None:
        """`authorizers`: the routes (keys of `routes`) API Gateway authorizes first, with which."""
        self.routes = dict(routes)
        self.authorizers = dict(authorizers or {})
        self.port = port
        self.cors = cors
        # Each hears every event before its handler does, an authorizer's included.
        self.listeners: list[Callable[[Event], None]] = []
        self._on_reply = on_reply
        self._invocation = threading.Lock()
        # Templates with fewer parameters first: the more specific route wins.
        templated = sorted((key for key in self.routes if "{" in key[1]), key=lambda key: key[1].count("{"))
        self._templates = [(key, *path_pattern(key[1])) for key in templated]

    def invoke(self, function: Function, event: Event) -> Reply:
        """One invocation; a handler that fails or answers unusably is API Gateway's 500."""
        reply, output = self._run(function, event, lambda_reply)
        return dataclasses.replace(reply or gateway_error(500, "Internal Server Error"), output=output)

    def _run[Read](self, function: Function, event: Event, read: Callable[[object], Read]) -> tuple[Read | None, str]:
        """`read` of what the function returns, None if it raised or `read` refused it; and its standard output."""
        for listener in list(self.listeners):
            listener(event)
        output = io.StringIO()
        try:
            with self._invocation, contextlib.redirect_stdout(output):
                result = function.invoke(event)
            return read(result), output.getvalue()
        except Exception:
            logger.exception("%s (%s) failed", function.name, function.handler_path)
            return None, output.getvalue()

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
        pairs = list(headers)
        lowered, cookies = request_headers(pairs, client_ip, self.port)
        origin = lowered.get("origin")
        if self.cors is not None and method == "OPTIONS" and origin and "access-control-request-method" in lowered:
            return Reply(204, self.cors.preflight(origin), b"")
        grant = self.cors.grant(origin) if self.cors is not None else ()
        matched = self.route(method, path)
        if matched is None:
            return gateway_error(404, "Not Found", (*JSON, *grant))
        key, parameters = matched
        event = http_api_event(
            method,
            path,
            body=body or None,
            headers=lowered,
            cookies=cookies,
            query=query,
            source_ip=client_ip,
            route_key=" ".join(key),
            path_parameters=parameters,
        )
        authorizer, authorizer_output = self.authorizers.get(key), ""
        if authorizer is not None:
            authorized, authorizer_output = self.authorize(authorizer, event, pairs)
            if isinstance(authorized, Reply):
                return dataclasses.replace(authorized, headers=(*authorized.headers, *grant), output=authorizer_output)
            event = authorized
        reply = self.invoke(self.routes[key], event)
        request_id = ("apigw-requestid", event["requestContext"]["requestId"])
        return dataclasses.replace(
            reply, headers=(*reply.headers, request_id, *grant), output=authorizer_output + reply.output
        )

    def route(self, method: str, path: str) -> tuple[RouteKey, dict[str, str]] | None:
        """The route API Gateway picks for the request, and its path parameters' values."""
        for key in ((method, path), ("ANY", path)):
            if key in self.routes:
                return key, {}
        for key, pattern, names in self._templates:
            if key[0] in (method, "ANY") and (found := pattern.fullmatch(path)):
                return key, {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)}
        return None

    def authorize(
        self, authorizer: LambdaAuthorizer, event: Event, pairs: Sequence[tuple[str, str]]
    ) -> tuple[Event | Reply, str]:
        """The event the route's function gets, or API Gateway's refusal; and what the authorizer wrote."""
        identity = authorizer.identity(pairs)
        if identity is None:
            return gateway_error(401, "Unauthorized"), ""
        decision, output = authorizer.cached(identity), ""
        if decision is None:
            asked = authorizer_event(event, identity if authorizer.identity_headers else None)
            decision, output = self._run(authorizer.function, asked, simple_response)
            if decision is None:
                return gateway_error(500, "Internal Server Error"), output
            authorizer.remember(identity, decision)
        if not decision.allowed:
            return gateway_error(403, "Forbidden"), output
        context = event["requestContext"] | {"authorizer": {"lambda": dict(decision.context)}}
        return event | {"requestContext": context}, output

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
