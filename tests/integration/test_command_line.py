"""`python -m infra.local` (what `make run` runs): it serves, says what it serves, and stops cleanly."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


class Output:
    """A process's output lines, read by a thread (a pipe's readline would block the test)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._process, self._stdout, self._lines = process, process.stdout, queue.Queue[str]()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.seen: list[str] = []

    def _read(self) -> None:
        for line in iter(self._stdout.readline, ""):
            self._lines.put(line)

    def until_ready(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (self.seen and self.seen[-1].startswith("(ready in")):
            try:
                self.seen.append(self._lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"not ready in {STARTUP_SECONDS} s (exit code {self._process.poll()}): {self.text}")
        return self.text

    def rest(self) -> str:
        """Everything, once the process has ended."""
        self._reader.join(timeout=10)
        while not self._lines.empty():
            self.seen.append(self._lines.get())
        return self.text

    @property
    def text(self) -> str:
        return "".join(self.seen)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_the_command_serves_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--port", "0", "--aws-port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        banner = output.until_ready()
        url = re.search(r"HTTP API\s+(http://127\.0\.0\.1:\d+)", banner)
        assert url is not None, banner
        for route in ("GET    /tokens/validate", "POST   /tokens/refresh", "POST   /tokens "):
            assert route in banner
        assert re.search(r"AWS endpoint\s+http://127\.0\.0\.1:\d+", banner)
        assert "dynamodb scan --table-name token-service-local-sessions" in banner
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url[1] + "/", timeout=10) as answer:
            assert answer.read() == b"Hello Token!"

        process.send_signal(stop_signal)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    everything = output.rest()
    assert process.returncode == 0, everything
    assert everything.rstrip().endswith("stopped")
    assert "Traceback" not in everything
