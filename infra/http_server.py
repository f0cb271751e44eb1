"""A small single-threaded HTTP/1.1 server: keep-alive, chunked request bodies, one request at a time.

Everything runs on the thread that calls `serve_forever`: connections are multiplexed with
`selectors`, and each complete request is answered by calling `respond` on that thread, so
requests are handled strictly one after another. That is what a Lambda execution environment
does, and what an AWS emulator needs to apply each call atomically. Parsing is a few byte
operations per request, several times cheaper than http.server's email-based header parsing,
and each response goes out in one write with Nagle off.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

# Request line and headers together; http.server allows 64 KiB per line and 100 lines.
MAX_HEAD_BYTES = 64 * 1024
MAX_CHUNK_SIZE_LINE = 1024
RECEIVE_BYTES = 256 * 1024
BACKLOG = 1024
# The response headers the server itself writes; a responder's own values for them are dropped.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "date"})
_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    client_address: tuple[str, int]

    def header(self, name: str) -> str | None:
        """The first value of a header, by its lower-case name."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


type Responder = Callable[[HttpRequest], HttpResponse]
# The answer to a request the server refuses without reading it (400, 413, 431); the connection closes.
type Refusal = Callable[[int], HttpResponse]


def plain_refusal(status: int) -> HttpResponse:
    return HttpResponse(status, [("content-type", "text/plain")], HTTPStatus(status).phrase.encode())


class Refused(Exception):
    """The request cannot be served; `status` says why."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body_start: int
    content_length: int
    chunked: bool
    expects_continue: bool
    keep_alive: bool


def parse_head(buffer: bytes | bytearray, max_body: int) -> RequestHead | None:
    """The request line and headers at the start of `buffer`; None until they are all there."""
    end = buffer.find(_HEAD_END)
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise Refused(431)
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise Refused(400) from None
    if not version.startswith("HTTP/1.") or not method or not target:
        raise Refused(400)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise Refused(400)
        headers.append((name, value.strip()))
    values = {name.lower(): value.lower() for name, value in headers}
    chunked = "chunked" in values.get("transfer-encoding", "")
    content_length = 0 if chunked else _content_length(values.get("content-length", "0"), max_body)
    connection = values.get("connection", "")
    return RequestHead(
        method=method,
        target=target,
        version=version,
        headers=headers,
        body_start=end + len(_HEAD_END),
        content_length=content_length,
        chunked=chunked,
        expects_continue=values.get("expect", "") == "100-continue",
        keep_alive="keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection,
    )


def _content_length(declared: str, max_body: int) -> int:
    if not declared.isdigit():
        raise Refused(400)
    length = int(declared)
    if length > max_body:
        raise Refused(413)
    return length


def read_body(buffer: bytes | bytearray, head: RequestHead, max_body: int) -> tuple[bytes, int] | None:
    """(body, offset just past the request) once the whole body is in `buffer`, else None."""
    if head.chunked:
        return _read_chunked(buffer, head.body_start, max_body)
    end = head.body_start + head.content_length
    if len(buffer) < end:
        return None
    return bytes(buffer[head.body_start : end]), end


def _read_chunked(buffer: bytes | bytearray, position: int, max_body: int) -> tuple[bytes, int] | None:
    chunks: list[bytes] = []
    total = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > MAX_CHUNK_SIZE_LINE:
                raise Refused(400)
            return None
        size = _chunk_size(bytes(buffer[position:line_end]))
        position = line_end + 2
        if size == 0:
            return _after_trailers(buffer, position, b"".join(chunks))
        total += size
        if total > max_body:
            raise Refused(413)
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise Refused(400)
        chunks.append(bytes(buffer[position : position + size]))
        position += size + 2


def _chunk_size(line: bytes) -> int:
    try:
        size = int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        raise Refused(400) from None
    if size < 0:
        raise Refused(400)
    return size


def _after_trailers(buffer: bytes | bytearray, position: int, body: bytes) -> tuple[bytes, int] | None:
    if buffer[position : position + 2] == b"\r\n":
        return body, position + 2
    end = buffer.find(_HEAD_END, position)
    return (body, end + len(_HEAD_END)) if end >= 0 else None


def encode_response(response: HttpResponse, *, version: str, keep_alive: bool, head_only: bool, date: str) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}", f"date: {date}"]
    lines.append(f"content-length: {len(response.body)}")
    lines += [f"{name}: {value}" for name, value in response.headers if name.lower() not in FRAMING_HEADERS]
    if not keep_alive:
        lines.append("connection: close")
    elif version == "HTTP/1.0":
        lines.append("connection: keep-alive")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + response.body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""  # e.g. the token service's 419, which has no registered phrase


@dataclass(slots=True, eq=False)
class _Connection:
    sock: socket.socket
    address: tuple[str, int]
    inbound: bytearray = field(default_factory=bytearray)
    outbound: bytearray = field(default_factory=bytearray)
    last_active: float = field(default_factory=time.monotonic)
    closing: bool = False
    continued: bool = False
    writing: bool = False


class HttpServer:
    """Serves `respond` on a listening socket until `shutdown`; see the module's docstring."""

    def __init__(
        self,
        listener: socket.socket,
        respond: Responder,
        *,
        max_body: int,
        idle_timeout: float,
        refusal: Refusal = plain_refusal,
    ) -> None:
        self._listener = listener
        self._respond = respond
        self._max_body = max_body
        self._idle_timeout = idle_timeout
        self._refusal = refusal
        self._connections: set[_Connection] = set()
        self._selector = selectors.DefaultSelector()
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        self._stopping = False
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self._date = (0, "")
        listener.setblocking(False)
        self._wakeup_reader.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, self._accept)
        self._selector.register(self._wakeup_reader, selectors.EVENT_READ, self._drain_wakeup)

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving.set()
        try:
            while not self._stopping:
                for key, events in self._selector.select(poll_interval):
                    key.data(key.fileobj, events)
                self._close_idle()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever` (from another thread) and wait until it has returned."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wakeup_writer.send(b"x")
        if self._serving.is_set():
            self._stopped.wait()

    def close_connections(self) -> None:
        """Close every open connection; for after `shutdown`."""
        for connection in list(self._connections):
            self._close(connection)

    def server_close(self) -> None:
        self.close_connections()
        self._selector.close()
        for owned in (self._listener, self._wakeup_reader, self._wakeup_writer):
            owned.close()

    # -- events ----------------------------------------------------------------------------

    def _accept(self, listener: object, events: int) -> None:
        while True:
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                logger.exception("accepting a connection failed")
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock, (str(address[0]), int(address[1])))
            self._connections.add(connection)
            self._selector.register(sock, selectors.EVENT_READ, self._on_event(connection))

    def _on_event(self, connection: _Connection) -> Callable[[object, int], None]:
        def handle(sock: object, events: int) -> None:
            if events & selectors.EVENT_WRITE:
                self._write(connection)
                if connection in self._connections and not connection.outbound:
                    self._serve_buffered(connection)
            if events & selectors.EVENT_READ and connection in self._connections:
                self._receive(connection)

        return handle

    def _drain_wakeup(self, reader: object, events: int) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wakeup_reader.recv(64)

    def _receive(self, connection: _Connection) -> None:
        try:
            data = connection.sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(connection)
            return
        connection.inbound += data
        connection.last_active = time.monotonic()
        self._serve_buffered(connection)

    def _serve_buffered(self, connection: _Connection) -> None:
        """Answer every complete request in the buffer, in order, while nothing waits to be written."""
        while connection.inbound and not connection.outbound and not connection.closing:
            try:
                head = parse_head(connection.inbound, self._max_body)
                if head is None:
                    return
                complete = read_body(connection.inbound, head, self._max_body)
            except Refused as refusal:
                self._refuse(connection, refusal.status)
                return
            if complete is None:
                self._continue(connection, head)
                return
            body, end = complete
            del connection.inbound[:end]
            connection.continued = False
            self._answer(connection, head, body)

    def _continue(self, connection: _Connection, head: RequestHead) -> None:
        """Tell a client waiting on `Expect: 100-continue` to send its body."""
        if head.expects_continue and not connection.continued and head.version != "HTTP/1.0":
            connection.continued = True
            self._send(connection, _CONTINUE)

    def _answer(self, connection: _Connection, head: RequestHead, body: bytes) -> None:
        request = HttpRequest(head.method, head.target, head.version, head.headers, body, connection.address)
        try:
            response = self._respond(request)
        except Exception:
            logger.exception("%s %s failed", head.method, head.target)
            response = plain_refusal(500)
        connection.closing = not head.keep_alive
        encoded = encode_response(
            response,
            version=head.version,
            keep_alive=head.keep_alive,
            head_only=head.method == "HEAD",
            date=self._now(),
        )
        self._send(connection, encoded)

    def _refuse(self, connection: _Connection, status: int) -> None:
        connection.inbound.clear()
        connection.closing = True
        encoded = encode_response(
            self._refusal(status), version="HTTP/1.1", keep_alive=False, head_only=False, date=self._now()
        )
        self._send(connection, encoded)

    def _send(self, connection: _Connection, data: bytes) -> None:
        connection.outbound += data
        self._write(connection)

    def _write(self, connection: _Connection) -> None:
        """Send what the socket takes now; the rest goes when it is writable again."""
        try:
            sent = connection.sock.send(connection.outbound)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(connection)  # the client went away
            return
        del connection.outbound[:sent]
        if not connection.outbound and connection.closing:
            self._close(connection)
        elif bool(connection.outbound) != connection.writing:
            connection.writing = bool(connection.outbound)
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.writing else 0)
            self._selector.modify(connection.sock, events, self._selector.get_key(connection.sock).data)

    def _close(self, connection: _Connection) -> None:
        if connection not in self._connections:
            return
        self._connections.discard(connection)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.sock.close()

    def _close_idle(self) -> None:
        oldest = time.monotonic() - self._idle_timeout
        for connection in [known for known in self._connections if known.last_active < oldest]:
            self._close(connection)

    def _now(self) -> str:
        """The Date header's value, formatted once a second."""
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True))
        return self._date[1]
