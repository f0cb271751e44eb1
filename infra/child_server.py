"""Servers in child processes of the local stack, on a listening socket the parent bound.

The parent binds the port (a taken port is its error to report, and port 0 is known at once)
and hands the socket to `python -m <module>`; the child writes `ready` to a pipe once it
serves, and stops when its standard input closes, which is also what happens when the parent
dies. Ctrl-C reaches the whole process group: children ignore it and let the parent stop them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import subprocess  # nosec B404
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from infra.http_server import HttpServer

ROOT = Path(__file__).resolve().parent.parent
READY = b"ready\n"
START_SECONDS = 60
STOP_SECONDS = 10


class ChildServerError(RuntimeError):
    """A child process did not come up."""


class ChildServer:
    """`python -m module` serving on `listener` from `launch` until `stop`; the caller closes `listener`."""

    def __init__(
        self,
        module: str,
        listener: socket.socket,
        arguments: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        self._listener = listener
        self._arguments = list(arguments)
        self._environment = dict(environment) if environment is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._ready_reader = -1

    def launch(self) -> None:
        """Start the process; `wait_until_ready` then waits for it to serve."""
        ready_reader, ready_writer = os.pipe()
        listener_fd = self._listener.fileno()
        command = [sys.executable, "-m", self.module, f"--listener-fd={listener_fd}", f"--ready-fd={ready_writer}"]
        try:
            self._process = subprocess.Popen(  # noqa: S603  # nosec B603 - our own interpreter and module
                [*command, *self._arguments],
                cwd=ROOT,
                env=self._environment,
                stdin=subprocess.PIPE,
                pass_fds=(listener_fd, ready_writer),
            )
        except BaseException:
            os.close(ready_reader)
            raise
        finally:
            os.close(ready_writer)
        self._ready_reader = ready_reader

    def wait_until_ready(self) -> None:
        try:
            readable, _, _ = select.select([self._ready_reader], [], [], START_SECONDS)
            if readable and os.read(self._ready_reader, len(READY)) == READY:
                return
            exited = self._process.poll() if self._process is not None else None
            state = f"exited with {exited}" if exited is not None else f"was not ready in {START_SECONDS} s"
            raise ChildServerError(f"{self.module} {state}")
        finally:
            self._close_ready_reader()

    def _close_ready_reader(self) -> None:
        if self._ready_reader >= 0:
            os.close(self._ready_reader)
            self._ready_reader = -1

    def stop(self) -> None:
        self._close_ready_reader()
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- in the child ---------------------------------------------------------------------------


def child_arguments(description: str) -> argparse.ArgumentParser:
    """The options `ChildServer` passes; a child module adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--listener-fd", type=int, required=True, help="a listening socket to serve on")
    parser.add_argument("--ready-fd", type=int, required=True, help="a pipe to write 'ready' to once serving")
    return parser


def serve_as_child(args: argparse.Namespace, make_server: Callable[[socket.socket], HttpServer]) -> int:
    """Serve on the inherited socket until standard input closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = make_server(socket.socket(fileno=args.listener_fd))
    threading.Thread(target=_stop_when_stdin_closes, args=(server,), name="stdin-watch", daemon=True).start()
    os.write(args.ready_fd, READY)
    os.close(args.ready_fd)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _stop_when_stdin_closes(server: HttpServer) -> None:
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    server.shutdown()
