"""The HTTP/1.1 server under the front and the embedded AWS endpoint, driven over raw sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from infra.http_server import HttpRequest, HttpResponse, HttpServer

BIG = 8 * 1024 * 1024  # more than a socket buffer takes at once


def echo(request: HttpRequest) -> HttpResponse:
    if request.target == "/boom":
        raise RuntimeError("boom")
    if request.target == "/big":
        return HttpResponse(200, [], b"x" * BIG)
    described = f"{request.method} {request.target} {request.header('x-probe')} ".encode()
    return HttpResponse(200, [("content-type", "text/plain")], described + request.body)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    running = HttpServer(socket.create_server(("127.0.0.1", 0)), echo, max_body=1024, idle_timeout=60)
    thread = threading.Thread(target=running.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=5)


def connect(server: HttpServer) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=10)


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """(head, body) of the next response, by its content-length, reading no further."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    length = int(next(line for line in head.split(b"\r\n") if line.startswith(b"content-length:")).split(b":")[1])
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return head, body


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_pipelined_requests_are_answered_in_order(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nX-Probe: a\r\n\r\nPOST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        assert read_response(sock)[1] == b"GET /one a "
        head, body = read_response(sock)
    assert body == b"POST /two None abc"
    assert b"connection" not in head.lower()


def test_a_chunked_body_with_extensions_and_trailers_is_read_whole(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n")
        sock.sendall(b"2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n")
        assert read_response(sock)[1] == b"POST /c None abcde"


def test_a_client_expecting_100_continue_is_told_to_send_its_body(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"ok")
        assert read_response(sock)[1] == b"POST /e None ok"


@pytest.mark.parametrize(
    ("connection", "expected"),
    [(b"", b"connection: close"), (b"Connection: keep-alive\r\n", b"connection: keep-alive")],
)
def test_http_1_0_keeps_a_connection_only_when_asked(server: HttpServer, connection: bytes, expected: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /old HTTP/1.0\r\n" + connection + b"\r\n")
        head, _ = read_response(sock)
        assert expected in head
        if expected == b"connection: close":
            assert sock.recv(1) == b""


def test_head_gets_the_length_without_the_body(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"HEAD /h HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-length: 13\r\n" in head  # of "HEAD /h None "
        assert read_response(sock)[1] == b"GET /after None "


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", b"413"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", b"413"),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000, b"431"),
    ],
)
def test_a_request_it_cannot_serve_is_refused_and_the_connection_closed(
    server: HttpServer, request_bytes: bytes, status: bytes
) -> None:
    with connect(server) as sock:
        sock.sendall(request_bytes)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"connection: close" in answer


def test_a_responder_that_raises_is_a_500_and_the_server_serves_on(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /boom HTTP/1.1\r\n\r\nGET /fine HTTP/1.1\r\n\r\n")
        assert read_response(sock)[0].startswith(b"HTTP/1.1 500 ")
        assert read_response(sock)[1] == b"GET /fine None "


def test_a_response_larger_than_the_socket_buffer_arrives_whole(server: HttpServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
        assert read_response(sock)[1] == b"x" * BIG
        assert read_response(sock)[1] == b"GET /next None "


def test_shutdown_returns_with_connections_open_and_closes_them(server: HttpServer) -> None:
    with connect(server) as idle, connect(server) as midway:
        midway.sendall(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        idle.sendall(b"GET / HTTP/1.1\r\n\r\n")
        read_response(idle)
        server.shutdown()
        server.close_connections()
        assert idle.recv(1) == b""
        assert midway.recv(1) == b""
