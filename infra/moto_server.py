"""The embedded AWS endpoint: moto's server application in a child process of the local stack.

    python -m infra.moto_server --listener-fd N --ready-fd M   (started by `infra.local` as a `ChildServer`)

moto costs about a millisecond per DynamoDB write and three per conditional update: in its own
process it runs beside the HTTP front instead of taking turns with it under one GIL. It serves
on `infra.http_server`, one request at a time, so each AWS call is applied atomically, as
DynamoDB applies a conditional write, however many front workers or test clients call at once.
"""

from __future__ import annotations

import functools
import io
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from infra.child_server import child_arguments, serve_as_child
from infra.http_server import HttpRequest, HttpResponse, HttpServer, Responder

# DynamoDB's largest request (a 16 MB batch) and SSM's fit; nothing local needs more.
MAX_BODY_BYTES = 64 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 300
# Hosts whose backend the dispatcher remembers; hosts come from request signatures.
_REMEMBERED_HOSTS = 256

type Environ = dict[str, Any]
type StartResponse = Callable[..., Callable[[bytes], object]]
type WsgiApplication = Callable[[Environ, StartResponse], Iterable[bytes]]


class RememberingDispatcher(DomainDispatcherApplication):
    """moto's server application, remembering which backend serves a host.

    moto's dispatcher lists its own package directory on every request to tell whether a host
    names a backend (≈ 6 % of a conditional UpdateItem, profiled); the answer never changes while it runs.
    """

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backend_for_host = functools.lru_cache(maxsize=_REMEMBERED_HOSTS)(super().get_backend_for_host)

    def get_backend_for_host(self, host: str | None) -> Any:
        return self._backend_for_host(host)


def wsgi_responder(application: WsgiApplication, server_address: tuple[str, int]) -> Responder:
    """Each request handed to a WSGI application, its answer collected whole."""

    def respond(request: HttpRequest) -> HttpResponse:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
            started[:] = [(status, headers)]
            return written.append

        result = application(wsgi_environ(request, server_address), start_response)
        try:
            body = b"".join([*written, *result])
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started[0]
        return HttpResponse(int(status.split(" ", 1)[0]), headers, body)

    return respond


def wsgi_environ(request: HttpRequest, server_address: tuple[str, int]) -> Environ:
    """The WSGI environment werkzeug's server (and moto's request handler on it) would build."""
    path, _, query = request.target.partition("?")
    environ: Environ = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # WSGI strings carry bytes as latin-1; the request line was read as latin-1.
        "PATH_INFO": unquote_to_bytes(path.encode("latin-1")).decode("latin-1"),
        "QUERY_STRING": query,
        "REQUEST_URI": request.target,
        "RAW_URI": request.target,
        "REMOTE_ADDR": request.client_address[0],
        "REMOTE_PORT": request.client_address[1],
        "SERVER_NAME": server_address[0],
        "SERVER_PORT": str(server_address[1]),
        "SERVER_PROTOCOL": request.version,
        # The body is read whole (de-chunked when it came chunked).
        "CONTENT_LENGTH": str(len(request.body)),
    }
    preserved: dict[str, str] = {}
    for name, value in request.headers:
        key = environ_key_for_header(name)
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        if "_" in name:
            # WSGI cannot tell X_Foo from X-Foo: only S3 metadata keeps its spelling, never over a dashed name.
            if should_preserve_original_header_name(name) and key not in environ:
                preserved.setdefault(key, name)
                environ[key] = value
            continue
        environ[key] = f"{environ[key]},{value}" if key in environ and key.startswith("HTTP_") else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


def _server(listener: socket.socket) -> HttpServer:
    host, port = listener.getsockname()[:2]
    responder = wsgi_responder(RememberingDispatcher(), (str(host), int(port)))
    return HttpServer(listener, responder, max_body=MAX_BODY_BYTES, idle_timeout=IDLE_TIMEOUT_SECONDS)


def main(argv: Sequence[str] | None = None) -> int:
    args = child_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    return serve_as_child(args, _server)


if __name__ == "__main__":
    sys.exit(main())
