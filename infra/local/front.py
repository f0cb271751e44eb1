"""A local stand-in for API Gateway's HTTP API (payload format 2.0) in front of the functions' handlers.

An ASGI application that routes (path templates included), runs a route's Lambda authorizer,
builds the event, calls the handler with a Lambda context and turns its answer into HTTP, with
API Gateway's own 401, 403, 404, 413 and 500 answers (and `GET /demo`). Invocations run one at a
time, as in one Lambda execution environment (Powertools keeps the invocation's state in
module-level objects), their standard output captured as Lambda's is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from infra.local import demo
from infra.local.authorizers import LambdaAuthorizer, simple_response
from infra.local.cors import Cors
from infra.local.events import authorizer_event, http_api_event
from infra.local.functions import Event, Function
from infra.local.responses import JSON, Reply, gateway_error, lambda_reply

type ReplyListener = Callable[[str, str, Reply, float], None]  # method, path, reply, milliseconds
type RouteKey = tuple[str, str]  # method (or ANY) and path as the template declares them

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's quota

logger = logging.getLogger(__name__)


def path_pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A route's path as API Gateway matches it, each `{name}` one whole path segment; and the names."""
    pieces = re.split(r"\{([^{}/]+)\}", template)
    literals, names = pieces[::2], tuple(pieces[1::2])
    return re.compile("([^/]+)".join(re.escape(literal) for literal in literals)), names


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
