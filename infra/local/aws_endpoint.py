"""The embedded AWS endpoint: moto's server application in a child process, served by uvicorn.

    python -m infra.local.aws_endpoint --listener-fd N [--host-name NAME ...]   (started by `AwsEndpoint`)

moto runs on one worker thread (a2wsgi), so each AWS request is applied whole, one at a time, as
DynamoDB applies a conditional write; its own process keeps it off the front's GIL. uvicorn
serves it because waitress buffers chunk-size lines and trailers without a bound. It holds the
key rings and the sessions table, so it answers programs on this machine only: requests with
`Origin` (web pages) or a non-loopback `Host` (DNS rebinding) are refused, and no CORS header
goes out.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess  # nosec B404
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from infra.local.serving import ServerThread, Service, listening_socket, wait_until_answers

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost"})
MAX_BODY_BYTES = 32 * 1024 * 1024  # DynamoDB's largest request (a 16 MB batch) fits

type Environ = dict[str, Any]
type StartResponse = Callable[..., Callable[[bytes], object]]
type WsgiApplication = Callable[[Environ, StartResponse], Iterable[bytes]]


class AwsEndpoint(Service):
    """moto on `host:port` (0: a free port) from `start` until `stop`, in a child process.

    `host` 0.0.0.0 opens it to containers that do not share this machine's network; they reach
    it by one of `host_names`, which it then accepts in `Host` too.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, host_names: Collection[str] = ()) -> None:
        self.port = port
        self.host = host
        self.host_names = tuple(host_names)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        """Returns once it answers; PortTakenError, or ServerStartError if the child exits first."""
        with listening_socket(self.host, self.port, "AWS endpoint (--aws-port, AWS_PORT)") as listener:
            self.port = listener.getsockname()[1]
            # Our own interpreter running our own module.
            self._process = subprocess.Popen(  # noqa: S603  # nosec B603
                [
                    sys.executable,
                    "-m",
                    "infra.local.aws_endpoint",
                    f"--listener-fd={listener.fileno()}",
                    *(f"--host-name={name}" for name in self.host_names),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(listener.fileno(),),
            )
        try:
            wait_until_answers(self.port, self.exit_code, f"the AWS endpoint (pid {self.pid})", 60)
        except BaseException:
            self.stop()
            raise
        return self

    def exit_code(self) -> int | None:
        """None while the child runs (or before it starts); its exit code once it has ended."""
        return self._process.poll() if self._process is not None else None

    def stop(self) -> None:
        """The child stops when its standard input closes (so also when this process dies)."""
        process = self._process
        if process is None or process.stdin is None or process.stdin.closed:
            return
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def failure(self) -> str | None:
        code = self.exit_code()
        return None if code is None else f"the AWS endpoint (moto, pid {self.pid}) exited with code {code}"


def same_machine_only(application: WsgiApplication, host_names: Collection[str] = ()) -> WsgiApplication:
    """`application` for programs on this machine: no `Origin`, a loopback `Host`, no CORS headers back."""
    allowed = LOOPBACK_NAMES | {name.lower() for name in host_names}

    def guarded(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if "HTTP_ORIGIN" in environ:
            return _refuse(start_response, "403 Forbidden", "requests from web pages (with Origin) are refused")
        if urlsplit("//" + environ.get("HTTP_HOST", "")).hostname not in allowed:
            return _refuse(start_response, "403 Forbidden", "Host must name this machine")
        if not all(value.isascii() for key, value in environ.items() if key.startswith("HTTP_")):
            return _refuse(start_response, "400 Bad Request", "header values must be ASCII")
        if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return _refuse(start_response, "413 Content Too Large", "the body is too large")

        def start_without_cors(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return application(environ, start_without_cors)

    return guarded


def _refuse(start_response: StartResponse, status: str, message: str) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listener-fd", type=int, required=True, help="a listening socket to serve on")
    parser.add_argument("--host-name", action="append", default=[], help="another name Host may carry")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the parent stops us
    # Imported here: the parent needs neither.
    from a2wsgi import WSGIMiddleware  # noqa: PLC0415
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: PLC0415

    moto: Any = same_machine_only(DomainDispatcherApplication(create_backend_app), args.host_name)
    ServerThread(WSGIMiddleware(moto, workers=1), socket.socket(fileno=args.listener_fd), "aws-endpoint").start()
    sys.stdin.buffer.read()  # until the parent closes it, or dies
    return 0


if __name__ == "__main__":
    sys.exit(main())
