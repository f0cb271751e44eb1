"""Load over loopback: the local stack and, when node is present, the reference Express app.

wrk drives N keep-alive connections, one per thread, so refresh can chain: each connection
presents the refresh token its previous answer set, and every request is a valid rotation.
The reference's refresh does not rotate; it gets the same cookie each time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # nosec B404
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.report import Row
from bench.stack import HOST, ROOT, StackProcess, cookie, free_port, issue, request, wait_until_up

CONNECTIONS = 16
SECONDS = 5
REPEATS = 3
REFERENCE = ROOT / ".." / "shared" / "reference" / "seed-express"

DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHRESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"status\":%d,\"socket\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""

STATIC = r"""
wrk.method = "{method}"
wrk.path = "{path}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "bench/1.0"
{cookie}
"""

CHAIN = r"""
local tokens = {{{tokens}}}
local next_token = 1
function setup(thread)
  thread:set("token", tokens[next_token])
  next_token = next_token + 1
end
function request()
  return wrk.format("POST", "/tokens/refresh", {{["Cookie"] = "refreshToken=" .. token, ["User-Agent"] = "bench/1.0"}})
end
function response(status, headers, body)
  if status ~= 200 then return end
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      local found = string.match(value, "^refreshToken=([^;]+)")
      if found then token = found end
    end
  end
end
"""


@dataclass
class LoadRuns:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    errors: int = 0


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string for these ASCII values


def _static_script(method: str, path: str, body: str | None, cookie_header: str | None) -> str:
    return STATIC.format(
        method=method,
        path=path,
        body=_lua_string(body) if body is not None else "nil",
        cookie=f'wrk.headers["Cookie"] = {_lua_string(cookie_header)}' if cookie_header else "",
    )


def _wrk(port: int, script: str, workdir: Path) -> dict[str, float]:
    path = workdir / "script.lua"
    path.write_text(script + DONE, encoding="utf-8")
    command = [
        "wrk",
        f"-t{CONNECTIONS}",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--timeout",
        "5s",
        "-s",
        str(path),
        f"http://{HOST}:{port}",
    ]
    finished = subprocess.run(command, capture_output=True, check=True, timeout=SECONDS + 30)  # noqa: S603
    for line in finished.stdout.decode().splitlines():
        if line.startswith("BENCHRESULT "):
            result: dict[str, float] = json.loads(line.removeprefix("BENCHRESULT "))
            return result
    raise RuntimeError(f"wrk printed no result: {finished.stdout.decode()[-500:]}")


def _record(runs: LoadRuns, result: dict[str, float]) -> None:
    runs.rps.append(result["requests"] / (result["duration_us"] / 1e6))
    runs.p50_ms.append(result["p50_us"] / 1000)
    runs.p99_ms.append(result["p99_us"] / 1000)
    runs.errors += int(result["status"] + result["socket"])


class Reference:
    """The Express tutorial app from a temporary copy, after `npm ci`."""

    def __init__(self, workdir: Path) -> None:
        self.directory = workdir / "seed-express"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Reference:
        shutil.copytree(REFERENCE, self.directory, ignore=shutil.ignore_patterns("node_modules"))
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],  # noqa: S607 - npm from PATH
            cwd=self.directory,
            check=True,
            capture_output=True,
            timeout=180,
        )
        self._process = subprocess.Popen(
            ["node", "app.js"],  # noqa: S607 - node from PATH
            cwd=self.directory,
            env={**os.environ, "PORT": str(self.port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(self.port, self._process, timeout=30)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


def _ours(stack: StackProcess, workdir: Path, results: dict[str, LoadRuns]) -> None:
    access, _ = issue(stack.port)
    body = json.dumps({"id": "64c4bench"})
    _record(
        results["validate"],
        _wrk(stack.port, _static_script("GET", "/tokens/validate", None, f"accessToken={access}"), workdir),
    )
    _record(results["issue"], _wrk(stack.port, _static_script("POST", "/tokens", body, None), workdir))
    tokens = ",".join(_lua_string(issue(stack.port)[1]) for _ in range(CONNECTIONS))
    _record(results["refresh"], _wrk(stack.port, CHAIN.format(tokens=tokens), workdir))


def _reference(reference: Reference, workdir: Path, results: dict[str, LoadRuns]) -> None:
    port = reference.port
    status, cookies = request(port, "POST", "/tokens", body=json.dumps({"id": "64c4bench"}).encode())
    if status != 200:
        raise RuntimeError(f"reference POST /tokens answered {status}")
    access, refresh = cookie(cookies, "accessToken"), cookie(cookies, "refreshToken")
    body = json.dumps({"id": "64c4bench"})
    _record(
        results["validate"],
        _wrk(port, _static_script("GET", "/tokens/validate", None, f"accessToken={access}"), workdir),
    )
    _record(results["issue"], _wrk(port, _static_script("POST", "/tokens", body, None), workdir))
    _record(
        results["refresh"],
        _wrk(port, _static_script("POST", "/tokens/refresh", None, f"refreshToken={refresh}"), workdir),
    )


def run(stack: StackProcess) -> list[Row]:
    if shutil.which("wrk") is None:
        return [Row("load", "skipped", "", [], note="wrk not installed (apt-get install -y wrk)")]
    names = ("validate", "issue", "refresh")
    ours = {name: LoadRuns() for name in names}
    theirs = {name: LoadRuns() for name in names}
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        has_node = shutil.which("node") is not None and shutil.which("npm") is not None and REFERENCE.is_dir()
        reference = Reference(workdir) if has_node else None
        if reference is not None:
            reference.__enter__()
        try:
            for _ in range(REPEATS):
                _ours(stack, workdir, ours)
                if reference is not None:
                    _reference(reference, workdir, theirs)
        finally:
            if reference is not None:
                reference.__exit__(None, None, None)
    rows: list[Row] = []
    targets = {"validate": "min:2", "issue": "min:1", "refresh": "min:1"}
    for name in names:
        mine, reference_runs = ours[name], theirs[name]
        note = f"non-2xx/socket errors {mine.errors}" + (f", reference {reference_runs.errors}" if has_node else "")
        rows.append(
            Row(
                "load local stack",
                f"{name} req/s ({CONNECTIONS} conns, {SECONDS}s)",
                "req/s",
                mine.rps,
                reference_runs.rps,
                "express" if has_node else "",
                target=targets[name] if has_node else "",
                note=note + ("; chained" if name == "refresh" else ""),
            )
        )
        rows.append(Row("load local stack", f"{name} p50", "ms", mine.p50_ms, reference_runs.p50_ms, "express"))
        rows.append(Row("load local stack", f"{name} p99", "ms", mine.p99_ms, reference_runs.p99_ms, "express"))
    if not has_node:
        rows.append(Row("load reference", "skipped", "", [], note="node/npm or ../shared/reference missing"))
    return rows
