"""The local stack under wrk, beside the reference Express app (reference-express/) under the same load.

wrk holds CONNECTIONS keep-alive connections from one thread for SECONDS; the two servers take
turns, route by route, REPEATS times, so a noisy spell hits both alike. Our refresh chains: each
request presents a refresh token that an earlier answer rotated in (a queue holding one per
connection), so every request is a real rotation; the reference never rotates, so its refresh
presents the same token every time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess  # nosec B404
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.prerequisites import REFERENCE, Unmet
from bench.service import HEADERS, USER, cookie_values
from bench.table import Row
from infra.template import ROOT

CONNECTIONS = 16
SECONDS = 4
REPEATS = 3
HOST = "127.0.0.1"
NEEDS_PACKAGES = "make bench needs the reference app's packages from the npm registry"
# npm's error lines that give no reason: its error code, the failed call, where its log is.
NPM_DETAILS = ("code ", "syscall ", "errno ", "path ", "A complete log")
ROUTES = {"validate": ("GET", "/tokens/validate"), "issue": ("POST", "/tokens"), "refresh": ("POST", "/tokens/refresh")}

FIXED = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "bench/1.0"
wrk.headers["Cookie"] = {cookie}
"""
CHAIN = """
local tokens = {{{tokens}}}
request = function()
  local cookie = "refreshToken=" .. (table.remove(tokens, 1) or "")
  return wrk.format("POST", nil, {{["Cookie"] = cookie, ["User-Agent"] = "bench/1.0"}})
end
response = function(status, headers)
  for name, value in pairs(headers) do
    local token = string.lower(name) == "set-cookie" and string.match(value, "^refreshToken=([^;]+)")
    if token then table.insert(tokens, token) end
  end
end
"""
SUMMARY = """
done = function(summary, latency)
  local errors = summary.errors
  io.write(string.format('\\n{"rate": %f, "p99_ms": %f, "failed": %d}\\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1e3,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    port: int
    rotates: bool

    def issued(self, cookie: str) -> str:
        """A new session's token, as `cookie` carries it."""
        status, cookies = _request(self.port, "POST", "/tokens", json.dumps({"id": USER}).encode())
        if status != 200:
            raise RuntimeError(f"{self.name} answered POST /tokens with {status}")
        return cookies[cookie]

    def script(self, route: str) -> str:
        if route == "refresh" and self.rotates:
            # One per connection, and one for the request() wrk makes before the run to check it.
            tokens = (json.dumps(self.issued("refreshToken")) for _ in range(CONNECTIONS + 1))
            return CHAIN.format(tokens=", ".join(tokens))
        body = json.dumps(json.dumps({"id": USER})) if route == "issue" else "nil"
        cookie = {"validate": "accessToken", "refresh": "refreshToken"}.get(route)
        presented = json.dumps(f"{cookie}={self.issued(cookie)}") if cookie else "nil"
        return FIXED.format(method=json.dumps(ROUTES[route][0]), body=body, cookie=presented)


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str]]:
    """The status and the cookies set by one request on a new connection."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        return response.status, cookie_values(response.msg.get_all("Set-Cookie") or [])
    finally:
        connection.close()


def _wrk(server: Server, route: str, workdir: Path) -> dict[str, float]:
    script = workdir / "load.lua"
    script.write_text(server.script(route) + SUMMARY, encoding="utf-8")
    url = f"http://{HOST}:{server.port}{ROUTES[route][1]}"
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s", "-s", str(script), url]
    finished = subprocess.run(command, capture_output=True, check=True, timeout=SECONDS + 30)  # noqa: S603
    result: dict[str, float] = json.loads(finished.stdout.splitlines()[-1])
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serving(name: str, command: list[str], cwd: Path, log: Path, *, rotates: bool) -> Iterator[Server]:
    """`command` serving on a free port (given as PORT), from when it answers `GET /` until the block ends."""
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, or node
            command, cwd=cwd, env={**os.environ, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=output
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                if _request(port, "GET", "/")[0] == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield Server(name, port, rotates)
    finally:
        process.terminate()
        process.wait(timeout=30)


def prepare(workdir: Path) -> Path:
    """A copy of the reference app in `workdir`, its packages installed there so that the clone stays
    as it was. The bench does it first: a registry out of reach stops the run before any measuring."""
    directory = workdir / REFERENCE.name
    shutil.copytree(REFERENCE, directory, ignore=shutil.ignore_patterns("node_modules"))
    npm = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        subprocess.run(npm, cwd=directory, check=True, capture_output=True, text=True, timeout=300)  # noqa: S603
    except subprocess.CalledProcessError as failed:
        raise Unmet(f"{NEEDS_PACKAGES}: npm ci failed: {_npm_error(failed.stderr)}") from None
    except subprocess.TimeoutExpired:
        raise Unmet(f"{NEEDS_PACKAGES}: npm ci took over 300 s") from None
    return directory


def _npm_error(stderr: str) -> str:
    """npm's first error line that says what went wrong."""
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip() for line in stderr.splitlines()]
    reasons = [line for line in lines if line and not line.startswith(NPM_DETAILS)]
    return reasons[0] if reasons else "npm printed no reason"


def run(workdir: Path, reference: Path) -> list[Row]:
    """Rows for each route, once every repeat is done: the servers took turns on all of them."""
    stack = [sys.executable, "-m", "infra.local", "--aws-port", "0"]
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with (
        _serving("local stack", stack, ROOT, workdir / "stack.log", rotates=True) as ours,
        _serving("Express", ["node", "app.js"], reference, workdir / "express.log", rotates=False) as theirs,
    ):
        for _ in range(REPEATS):
            for route in ROUTES:
                for server in (ours, theirs):
                    results.setdefault((server.name, route), []).append(_wrk(server, route, workdir))
    rows = []
    for route in ROUTES:
        mine, express = results[ours.name, route], results[theirs.name, route]
        p99 = f"p99 {statistics.median(_all(mine, 'p99_ms')):.1f} ms"
        p99 += f" (Express {statistics.median(_all(express, 'p99_ms')):.1f})"
        failed = f"failed {sum(_all(mine, 'failed')):.0f} (Express {sum(_all(express, 'failed')):.0f})"
        measure = f"local stack under wrk: {route}" + (", chained rotations" if route == "refresh" else "")
        rows.append(Row(measure, "req/s", _all(mine, "rate"), _all(express, "rate"), "Express", f"{p99}; {failed}"))
    return rows


def _all(runs: list[dict[str, float]], field: str) -> list[float]:
    return [run[field] for run in runs]
