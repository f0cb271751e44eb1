"""Malformed and oversized HTTP, over raw sockets, to the front and to the embedded AWS endpoint.

Each request gets a 4xx or a closed connection, unbounded parts are cut off while the client is
still sending, and both servers answer normally afterwards. Then what the endpoint refuses so no
web page can read it, and control characters that never reach the sessions table.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from infra.local.deployment import LocalDeployment
from infra.local.provision import local_client
from tests.support.http_client import HttpClient
from tests.support.stack_fixtures import scan_sessions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

POST = b"POST /tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"
MALFORMED = {
    "length ²": POST + b"Content-Length: \xb2\r\n\r\n",
    "length ³": POST + b"Content-Length: \xb3\r\n\r\n",
    "length ¹": POST + b"Content-Length: \xb9\r\n\r\n",
    "length of 4,400 digits": POST + b"Content-Length: " + b"9" * 4400 + b"\r\n\r\n",
    "two equal lengths": POST + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "two different lengths": POST + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
    "xchunkedx": POST + b"Transfer-Encoding: xchunkedx\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "chunked, gzip": POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "gzip without a length": POST + b"Transfer-Encoding: gzip\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "chunk size 0x3": CHUNKED + b"0x3\r\n{}x\r\n0\r\n\r\n",
    "chunk size 1_0": CHUNKED + b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",
    "chunk size +3": CHUNKED + b"+3\r\n{}x\r\n0\r\n\r\n",
    "chunk size -0": CHUNKED + b"-0\r\n\r\n",
    "HTTP/1.9": b"GET / HTTP/1.9\r\nHost: 127.0.0.1\r\n\r\n",
    "70 KB head": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "non-UTF-8 header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: \xff\xfe\r\n\r\n",
    "non-UTF-8 target": b"GET /\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "bare LF in a value": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: a\nb\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: a\x00b\r\n\r\n",
    "ESC in a value": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: a\x1b[31mb\r\n\r\n",
}
# A start, then one piece repeated for as long as the server reads: it must cut the connection.
UNBOUNDED = {
    "chunk-size line": (CHUNKED + b"1", b"0" * 65536),
    "chunk extension": (CHUNKED + b"1;name=", b"v" * 65536),
    "trailer value": (CHUNKED + b"0\r\nX-Trailer: ", b"v" * 65536),
    "trailers": (CHUNKED + b"0\r\n", b"X-Trailer: v\r\n" * 4096),
    "header value": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: ", b"v" * 65536),
    "target": (b"GET /", b"a" * 65536),
}
UNBOUNDED_LIMIT = 16 * 1024 * 1024
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def server_of(stack: LocalDeployment, which: str) -> tuple[str, int]:
    url = urlsplit(stack.url if which == "front" else stack.aws_endpoint)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


def first_answer_line(sock: socket.socket) -> bytes:
    """The status line of the server's answer; b"" if it closed the connection instead."""
    received = b""
    try:
        while b"\r\n" not in received and (piece := sock.recv(65536)):
            received += piece
    except ConnectionResetError:
        return b""
    return received.split(b"\r\n", 1)[0]


def assert_refused(answer: bytes) -> None:
    assert answer == b"" or re.fullmatch(rb"HTTP/1\.1 4\d\d [\w ]+", answer), answer


def assert_both_answer_normally(stack: LocalDeployment) -> None:
    assert HttpClient(stack.url).get("/").status == 200
    assert "TableNames" in local_client("dynamodb", stack.aws_endpoint).list_tables()


@pytest.mark.parametrize("which", ["front", "AWS endpoint"])
@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_is_refused(stack: LocalDeployment, which: str, request_bytes: bytes) -> None:
    with socket.create_connection(server_of(stack, which), timeout=10) as sock:
        sock.sendall(request_bytes)
        assert_refused(first_answer_line(sock))


@pytest.mark.parametrize("which", ["front", "AWS endpoint"])
@pytest.mark.parametrize(("start", "piece"), UNBOUNDED.values(), ids=UNBOUNDED.keys())
def test_an_unbounded_request_is_cut_off_while_it_is_sent(
    stack: LocalDeployment, which: str, start: bytes, piece: bytes
) -> None:
    sent = 0
    with socket.create_connection(server_of(stack, which), timeout=10) as sock:
        try:
            sock.sendall(start)
            while sent < UNBOUNDED_LIMIT:
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < UNBOUNDED_LIMIT, "the server kept reading"
        assert_refused(first_answer_line(sock))


def test_both_servers_answer_normally_after_the_corpus(stack: LocalDeployment) -> None:
    for which in ("front", "AWS endpoint"):
        for request_bytes in MALFORMED.values():
            with socket.create_connection(server_of(stack, which), timeout=10) as sock:
                sock.sendall(request_bytes)
                first_answer_line(sock)
    assert_both_answer_normally(stack)


# The embedded AWS endpoint answers programs on this machine, never a web page.


def endpoint_request(stack: LocalDeployment, method: str, **headers: str) -> http.client.HTTPResponse:
    client = http.client.HTTPConnection(*server_of(stack, "AWS endpoint"), timeout=10)
    signed = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    client.request(method, "/", body=b"{}" if method == "POST" else None, headers=signed | headers)
    response = client.getresponse()
    response.read()
    client.close()
    return response


def cors_headers(response: http.client.HTTPResponse) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("access-control-")]


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_the_endpoint_refuses_any_request_from_a_web_page(stack: LocalDeployment, method: str) -> None:
    refused = endpoint_request(stack, method, Origin="http://any-page.example")
    assert refused.status == 403
    assert refused.headers["Content-Type"] == "application/json"
    assert cors_headers(refused) == []


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_the_endpoint_sends_no_cors_headers_moto_would_add(stack: LocalDeployment, method: str) -> None:
    answer = endpoint_request(stack, method)
    assert answer.status == 200
    assert cors_headers(answer) == []


@pytest.mark.parametrize("host", ["rebound.example", "rebound.example:4566", "127.0.0.1.nip.io"])
def test_the_endpoint_refuses_a_host_that_is_not_loopback(stack: LocalDeployment, host: str) -> None:
    assert endpoint_request(stack, "POST", Host=host).status == 403


def test_the_endpoint_applies_concurrent_conditional_writes_one_at_a_time(stack: LocalDeployment) -> None:
    start = threading.Barrier(12)

    def put_first(_: int) -> bool:
        client = local_client("dynamodb", stack.aws_endpoint)
        start.wait()
        try:
            client.put_item(
                TableName=stack.table_name,
                Item={"sessionId": {"S": "race"}, "status": {"S": "probe"}},
                ConditionExpression="attribute_not_exists(sessionId)",
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            assert sorted(pool.map(put_first, range(12))) == [False] * 11 + [True]
    finally:
        local_client("dynamodb", stack.aws_endpoint).delete_item(
            TableName=stack.table_name, Key={"sessionId": {"S": "race"}}
        )


# Control characters in the user agent


@pytest.mark.parametrize("user_agent", [b"a\x00b", b"a\x1b[2Jb", b"a\nb", b"a\x7fb", b"a\x01b"])
def test_a_user_agent_with_a_control_character_http_forbids_is_refused(
    stack: LocalDeployment, user_agent: bytes
) -> None:
    body = b'{"id": "control-refused"}'
    with socket.create_connection(server_of(stack, "front"), timeout=10) as sock:
        sock.sendall(POST + b"Content-Length: %d\r\nUser-Agent: %s\r\n\r\n%s" % (len(body), user_agent, body))
        assert_refused(first_answer_line(sock))


def test_control_characters_are_never_stored_as_the_user_agent(
    stack: LocalDeployment, dynamodb: DynamoDBClient
) -> None:
    # Those HTTP allows in a header: a tab, and C1 controls (sent as UTF-8 bytes, read here as Latin-1).
    for number, user_agent in enumerate(["a\tb", "a\u0085b\u009bc".encode().decode("latin-1")]):
        answer = HttpClient(stack.url, user_agent=user_agent).post("/tokens", json_body={"id": f"control-{number}"})
        assert answer.status == 200
    stored: list[dict[str, Any]] = list(scan_sessions(dynamodb, stack.table_name).values())
    assert {item["userId"] for item in stored} >= {"control-0", "control-1"}
    assert [item["userAgent"] for item in stored if CONTROL_CHARACTERS.search(item.get("userAgent", ""))] == []
