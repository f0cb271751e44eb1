"""The local stack (`python -m infra.local`) in its own process, and HTTP helpers to talk to it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGE = "local"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def request(
    port: int, method: str, path: str, *, body: bytes | None = None, cookie: str | None = None
) -> tuple[int, list[str]]:
    """(status, Set-Cookie values) of one request on a fresh connection."""
    headers = {"user-agent": "bench/1.0"}
    if body is not None:
        headers["content-type"] = "application/json"
    if cookie is not None:
        headers["cookie"] = cookie
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.msg.get_all("Set-Cookie") or []
    finally:
        connection.close()


def cookie(set_cookies: list[str], name: str) -> str:
    for value in set_cookies:
        if value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    raise KeyError(name)


def issue(port: int, user: str = "64c4bench") -> tuple[str, str]:
    """(access token, refresh token) of a new session."""
    status, cookies = request(port, "POST", "/tokens", body=json.dumps({"id": user}).encode())
    if status != 200:
        raise RuntimeError(f"POST /tokens answered {status}")
    return cookie(cookies, "accessToken"), cookie(cookies, "refreshToken")


def wait_until_up(port: int, process: subprocess.Popen[bytes] | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            if request(port, "GET", "/")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not come up")


class StackProcess:
    """`python -m infra.local` with LogLevel=WARNING, its output in a temporary file."""

    def __init__(self) -> None:
        self.port = free_port()
        self.aws_port = free_port()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def aws_endpoint(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    def start(self) -> StackProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
        command = [
            sys.executable,
            "-m",
            "infra.local",
            "--port",
            str(self.port),
            "--aws-port",
            str(self.aws_port),
            "--stage",
            STAGE,
            "--parameter",
            "LogLevel=WARNING",
        ]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_until_up(self.port, self._process)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._log.close()

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
