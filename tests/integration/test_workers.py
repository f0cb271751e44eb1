"""The front as worker processes (`make run`'s default): one port, one embedded AWS endpoint, a clean stop."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.local import LocalStack, LocalStackError
from tests.integration.browser import Browser
from tests.integration.conftest import dynamodb_of, scan_sessions
from tests.integration.walkthrough import walk_through

ROOT = Path(__file__).resolve().parents[2]


def test_the_walkthrough_through_two_workers(workers_stack: LocalStack) -> None:
    stored = walk_through(
        Browser(workers_stack.url),
        workers_stack.url,
        lambda: scan_sessions(dynamodb_of(workers_stack), workers_stack.table_name),
    )
    assert (stored["userAgent"], stored["ip"]) == ("insomnia/10.2.0", "127.0.0.1")


def test_a_session_issued_by_one_worker_refreshes_on_any(workers_stack: LocalStack) -> None:
    """Each request on a new connection, so the kernel spreads them over both workers."""
    browser = Browser(workers_stack.url)
    assert browser.post("/tokens", json_body={"id": "spread"}).status == 200
    statuses = [browser.post("/tokens/refresh").status for _ in range(20)]
    assert statuses == [200] * 20


def test_the_handlers_are_not_in_this_process(workers_stack: LocalStack) -> None:
    with pytest.raises(LocalStackError, match="2 worker processes"):
        _ = workers_stack.api
    with pytest.raises(LocalStackError), workers_stack.captured_events():
        pass


def test_a_stack_stops_with_connections_open_and_frees_its_ports() -> None:
    workers = LocalStack(port=0, aws_port=0, workers=2).start()
    address = urlsplit(workers.url)
    client = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    client.request("GET", "/")
    assert client.getresponse().read() == b"Hello Token!"
    idle = socket.create_connection((address.hostname, address.port), timeout=10)
    try:
        workers.stop()
        assert idle.recv(1) == b"", "the open connection is closed"
    finally:
        idle.close()
        client.close()
    with socket.create_server((address.hostname or "", address.port or 0)):
        pass  # the port is free again


@pytest.mark.parametrize("which", ["port", "aws_port"])
def test_a_taken_port_is_a_clear_error(workers_stack: LocalStack, which: str) -> None:
    taken = urlsplit(workers_stack.url if which == "port" else workers_stack.aws_endpoint).port
    assert taken is not None
    other = LocalStack(**{"port": 0, "aws_port": 0, which: taken}, workers=2)  # type: ignore[arg-type]
    with pytest.raises(LocalStackError, match=f"127.0.0.1:{taken} is taken"):
        other.start()


@pytest.mark.parametrize("option", ["--port", "--aws-port"])
def test_the_command_on_a_taken_port_says_so(workers_stack: LocalStack, option: str) -> None:
    """With its front in its own process (one worker), which a stack in this one cannot show."""
    taken = urlsplit(workers_stack.url if option == "--port" else workers_stack.aws_endpoint).port
    other = "--aws-port" if option == "--port" else "--port"
    finished = subprocess.run(
        [sys.executable, "-m", "infra.local", "--workers", "1", option, str(taken), other, "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert f"127.0.0.1:{taken} is taken" in finished.stderr
