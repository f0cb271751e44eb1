"""uvicorn with httptools, as both halves of the local stack serve, on sockets bound beforehand.

llhttp (under httptools) holds HTTP/1.1 framing to the letter, and uvicorn answers anything else
with its 400; but nothing bounds a head's length, so `BoundedHttpToolsProtocol` does.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Request line, headers, chunk-size lines and trailers of one request together.
MAX_HEAD_BYTES = 16 * 1024


class PortTakenError(RuntimeError):
    """A port to listen on is in use."""


class ServerStartError(RuntimeError):
    """A server did not come up."""


class HeadTooLargeError(ValueError):
    """Raised in a parser callback: httptools stops, and uvicorn answers 400 and closes."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts a request's non-body bytes as they arrive (a head that never ends is cut off), and
    measures the head whole once complete (one that came in one read never reaches the application).
    """

    _overhead = 0

    def data_received(self, data: bytes) -> None:
        self._overhead += len(data)
        super().data_received(data)
        if self._overhead > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.send_400_response("Request head too large")

    def on_headers_complete(self) -> None:
        if len(self.url) + sum(len(name) + len(value) for name, value in self.headers) > MAX_HEAD_BYTES:
            raise HeadTooLargeError
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._overhead -= len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._overhead = 0
        super().on_message_complete()


def listening_socket(host: str, port: int, what: str) -> socket.socket:
    """A listening socket; a taken port is an error that says which option moves it."""
    # TCP named as the protocol: asyncio turns Nagle off only on such sockets (socket.create_server
    # leaves it 0), and with Nagle every answer waits for the client's delayed acknowledgement.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
    except OSError as error:
        listener.close()
        raise PortTakenError(f"{what}: {host}:{port} is taken ({error.strerror})") from error
    return listener


def wait_until_answers(port: int, exit_code: Callable[[], int | None], what: str, seconds: float) -> None:
    """Until an HTTP request to the port gets any answer; a ServerStartError if `what` exits or takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (code := exit_code()) is not None:
            raise ServerStartError(f"{what} exited with code {code} before serving")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/ready-probe")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise ServerStartError(f"{what} did not answer in {seconds:.0f} s")


class Service:
    """Something started and stopped, also as a `with` block."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerThread:
    """An ASGI application served by uvicorn on a thread of this process (so with no signal handlers)."""

    def __init__(self, application: Any, listener: socket.socket, name: str) -> None:
        config = uvicorn.Config(
            application,
            http=BoundedHttpToolsProtocol,
            ws="none",
            lifespan="off",
            proxy_headers=False,  # the peer is the client: no X-Forwarded-For rewrites it
            server_header=False,
            access_log=False,
            log_config=None,
            timeout_keep_alive=60,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, args=([listener],), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerStartError(f"{self._thread.name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop accepting, close idle connections, let requests in flight finish."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
