"""`python -m infra.local` (what `make run` runs): what it prints, how it stops, and what it does when a part fails."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from infra.local.banner import COMMAND_PREFIX

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
READY = re.compile(r"\(ready in \d+\.\d s\)\n")


class Command:
    """The command in its own process, its output lines read by a thread (a pipe's readline would block the test)."""

    def __init__(self, *options: str) -> None:
        environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "--port", "0", "--aws-port", "0", *options],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            process_group=0,  # a group of its own, as a shell's job: signals to it reach no test
        )
        assert self.process.stdout is not None
        self._lines = queue.Queue[str]()
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        self.seen: list[str] = []

    def _read(self, stdout: IO[str]) -> None:
        for line in iter(stdout.readline, ""):
            self._lines.put(line)

    def next_line(self, seconds: float = 10) -> str:
        self.seen.append(self._lines.get(timeout=seconds))
        return self.seen[-1]

    def until_ready(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (self.seen and READY.fullmatch(self.seen[-1])):
            try:
                self.next_line(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"not ready in {STARTUP_SECONDS} s (exit code {self.process.poll()}): {self.text}")
        return self.text

    def finish(self, seconds: float = 15) -> tuple[str, str]:
        """(stdout, stderr), once the process has ended."""
        self.process.wait(timeout=seconds)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        self._reader.join(timeout=10)
        while not self._lines.empty():
            self.seen.append(self._lines.get())
        return self.text, stderr

    @property
    def text(self) -> str:
        return "".join(self.seen)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def command(request: pytest.FixtureRequest) -> Iterator[Command]:
    running = Command(*getattr(request, "param", ()))
    yield running
    running.kill()


def address(banner: str, what: str) -> tuple[str, int]:
    match = re.search(rf"{what}\s+http://(127\.0\.0\.1):(\d+)", banner)
    assert match is not None, banner
    return match[1], int(match[2])


def get(server: tuple[str, int], path: str, **headers: str) -> tuple[int, bytes]:
    client = http.client.HTTPConnection(*server, timeout=10)
    try:
        client.request("GET", path, headers=headers)
        response = client.getresponse()
        return response.status, response.read()
    finally:
        client.close()


def test_the_banner_comes_first_each_request_prints_one_line_and_ctrl_c_stops_cleanly(command: Command) -> None:
    banner = command.until_ready()
    # Nothing before the banner, nothing from the warm-up: no function log line, no metrics.
    assert banner.startswith("token-service local stack, stage local\n")
    assert not [line for line in banner.splitlines() if line.startswith("{")], banner
    for route in ("GET    /tokens/validate", "POST   /tokens/refresh", "POST   /tokens "):
        assert route in banner
    for protected in ("GET    /tokens/sessions ", "DELETE /tokens/sessions/{sessionId} "):
        assert re.search(rf"{re.escape(protected)}.*  behind tokenAuthorizer\n", banner), banner
    assert re.search(
        r"authorizer +tokenAuthorizer: TokenAuthorizerFunction, identity source \$request\.header\.Cookie, "
        r"answers cached 10 s\n",
        banner,
    )
    assert 'scan(TableName="token-service-local-sessions")' in banner
    front, endpoint = address(banner, "HTTP API"), address(banner, "AWS endpoint")

    idle = http.client.HTTPConnection(*front, timeout=10)
    try:
        idle.request("GET", "/")
        assert idle.getresponse().read() == b"Hello Token!"
        assert re.fullmatch(r"GET / 200 \S+ \d+\.\d ms\n", command.next_line())
        assert get(front, "/tokens/validate?secret=1")[0] == 400
        # The path without its query; the outcome is the one the function logged.
        assert re.fullmatch(r"GET /tokens/validate 400 rejected:\S+ \d+\.\d ms\n", command.next_line())
        assert get(front, "/nowhere")[0] == 404
        assert re.fullmatch(r"GET /nowhere 404 - \d+\.\d ms\n", command.next_line())
        # The authorizer's refusals are lines too: 401 before it runs, 403 with its outcome.
        assert get(front, "/tokens/sessions")[0] == 401
        assert re.fullmatch(r"GET /tokens/sessions 401 - \d+\.\d ms\n", command.next_line())
        assert get(front, "/tokens/sessions", Cookie="accessToken=forged")[0] == 403
        assert re.fullmatch(r"GET /tokens/sessions 403 rejected:\S+ \d+\.\d ms\n", command.next_line())

        command.process.send_signal(signal.SIGINT)
        stdout, stderr = command.finish()

        assert idle.sock is not None
        assert idle.sock.recv(1) == b"", "the kept-alive connection is closed"
    finally:
        idle.close()
    assert command.process.returncode == 0, stdout + stderr
    assert stdout.endswith("ms\nstopped\n")
    assert "Traceback" not in stdout + stderr
    for port in (front, endpoint):
        socket.create_server(port).close()  # free again


@pytest.mark.parametrize("command", [("--function-logs",)], indirect=True)
def test_function_logs_show_what_lambda_would_log_and_sigterm_stops_cleanly(command: Command) -> None:
    front = address(command.until_ready(), "HTTP API")
    assert get(front, "/tokens/validate")[0] == 400
    printed = [command.next_line()]
    while not printed[-1].startswith("GET /tokens/validate 400 "):
        printed.append(command.next_line())
    records = [json.loads(line) for line in printed[:-1]]
    assert [record["message"] for record in records if "message" in record] == ["request"]
    assert any("_aws" in record for record in records), "the invocation's EMF metrics"

    command.process.send_signal(signal.SIGTERM)
    stdout, stderr = command.finish()
    assert command.process.returncode == 0, stdout + stderr
    assert stdout.endswith("stopped\n")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_process_group_stops_cleanly(command: Command, stop_signal: signal.Signals) -> None:
    # What `timeout`, docker and systemd send (SIGTERM) and a terminal's Ctrl-C (SIGINT): the child gets it too.
    command.until_ready()

    os.killpg(command.process.pid, stop_signal)
    stdout, stderr = command.finish()

    assert command.process.returncode == 0, stdout + stderr
    assert stdout.endswith("stopped\n")
    assert "error" not in stderr


@pytest.mark.parametrize("kill_signal", [signal.SIGKILL, signal.SIGTERM])
def test_when_the_aws_endpoint_dies_the_command_says_so_and_exits_1(
    command: Command, kill_signal: signal.Signals
) -> None:
    banner = command.until_ready()
    pid = re.search(r"AWS endpoint .* pid (\d+)\)", banner)
    assert pid is not None, banner
    os.kill(int(pid[1]), kill_signal)

    _, stderr = command.finish()

    assert command.process.returncode == 1
    assert f"the AWS endpoint (moto, pid {pid[1]}) exited with code {-kill_signal}" in stderr


def test_every_command_the_banner_prints_runs_as_printed(command: Command) -> None:
    banner = command.until_ready()
    printed = [line.removeprefix(COMMAND_PREFIX) for line in banner.splitlines() if line.startswith(COMMAND_PREFIX)]
    assert printed, banner
    # As from a shell with no AWS settings at all: no credentials, region or endpoint but those printed.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    for line in printed:
        finished = subprocess.run(
            shlex.split(line), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
        )
        assert finished.returncode == 0, f"{line}\n{finished.stdout}{finished.stderr}"


def run_until_it_exits(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("option", ["--port", "--aws-port"])
def test_a_taken_port_is_a_clear_error(option: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        finished = run_until_it_exits(option, str(port), "--aws-port" if option == "--port" else "--port", "0")
    assert finished.returncode == 1
    assert f"127.0.0.1:{port} is taken" in finished.stderr


@pytest.mark.parametrize(
    ("parameter", "said"),
    [
        ("AuthorizerCacheSeconds=2", "parameter AuthorizerCacheSeconds must be one of ['0', '1', '5', '10', '30']"),
        ("NoSuchParameter=1", "template has no parameters ['NoSuchParameter']"),
    ],
)
def test_a_bad_parameter_is_a_clear_error(parameter: str, said: str) -> None:
    finished = run_until_it_exits("--port", "0", "--aws-port", "0", "--parameter", parameter)
    assert finished.returncode == 2
    assert said in finished.stderr
    assert "Traceback" not in finished.stderr
