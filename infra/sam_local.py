"""`sam local start-api` on the template, its functions pointed at the embedded AWS endpoint.

    python -m infra.sam_local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                              [--container-aws-host host.docker.internal] [--sam sam]

The AWS side is `infra.local.LocalStack` (moto provisioned from the template; its own HTTP
front runs too, on a free loopback port, unused here). The API side is the real SAM CLI: it
builds the functions (`sam build`, x86_64 unless `--parameter Architecture=arm64`) and serves
them from Lambda containers, given an `--env-vars` file that points them at the endpoint.
Needs Docker and SAM CLI. Where containers do not share the host's network (Docker Desktop on
macOS or Windows), `--container-aws-host host.docker.internal` also opens the endpoint on all
interfaces and gives the functions that name for it.

With `SAM_LOCAL_WRAPPER` set (a `sam-hostnet` script), SAM runs through it, with the Python of
the SAM CLI installation, `--skip-pull-image` and `--container-host 127.0.0.1`: for machines
whose Docker engine has loopback networking only and no registry.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import cast

import yaml

from infra.local import (
    DEFAULT_AWS_PORT,
    DEFAULT_PORT,
    DEFAULT_STAGE,
    DUMMY_CREDENTIALS,
    HOST,
    LOCAL_PARAMETERS,
    REGION,
    LocalStack,
    LocalStackError,
    add_stack_arguments,
    ensure_free,
)
from infra.template import TEMPLATE_PATH, Template

ROOT = TEMPLATE_PATH.parent
BUILD_DIR = ROOT / ".aws-sam" / "sam-local"
READY_MARK = "Running on http"
LAMBDA_CONTAINERS = "label=sam.cli.container.type=lambda"
LOCAL_ARCHITECTURE = {"Architecture": "x86_64"}


class SamLocalError(RuntimeError):
    """SAM CLI could not build or serve the template."""


class SamLocal:
    """The embedded AWS endpoint plus `sam local start-api`, started and stopped together."""

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        stage: str = DEFAULT_STAGE,
        parameters: Mapping[str, str] | None = None,
        sam: str = "sam",
        wrapper: str | None = None,
        container_aws_host: str | None = None,
        build_dir: Path = BUILD_DIR,
        echo: bool = False,
        ready_timeout: float = 180,
    ) -> None:
        """`echo` copies SAM's output (requests, function logs) to stderr as it comes."""
        self.port = port
        self.stage = stage
        self.parameters = {**LOCAL_ARCHITECTURE, **(parameters or {})}
        self.container_aws_host = container_aws_host
        self._aws_port = aws_port
        self._sam = sam
        self._wrapper = wrapper
        self._build_dir = build_dir
        self._echo = echo
        self._ready_timeout = ready_timeout
        self._stack: LocalStack | None = None
        self._relay: Relay | None = None
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: list[str] = []
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SamLocal:
        try:
            self._start_aws()
            self._workdir = Path(tempfile.mkdtemp(prefix="token-service-sam-local-"))
            env_vars = self._workdir / "env-vars.json"
            env_vars.write_text(json.dumps(self.env_vars(), indent=2) + "\n", encoding="utf-8")
            self._build()
            resolve_layers(self._build_dir / "template.yaml", self.stack.template)
            self._start_api(env_vars)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process is not None:
            _stop_process_group(self._process)
            self._process = None
            remove_lambda_containers()
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        if self._stack is not None:
            self._stack.stop()
            self._stack = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> SamLocal:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- what it serves --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def stack(self) -> LocalStack:
        if self._stack is None:
            raise SamLocalError("not running")
        return self._stack

    @property
    def aws_endpoint(self) -> str:
        """The embedded endpoint from this machine (through the relay when there is one)."""
        if self._relay is not None:
            return f"http://{HOST}:{self._relay.port}"
        return self.stack.aws_endpoint

    @property
    def container_aws_endpoint(self) -> str:
        """The embedded endpoint as the functions in their containers reach it."""
        if self._relay is not None and self.container_aws_host:
            return f"http://{self.container_aws_host}:{self._relay.port}"
        return self.stack.aws_endpoint

    @property
    def output(self) -> str:
        """What SAM CLI has printed so far."""
        return "".join(self._output)

    def parameter_overrides(self) -> dict[str, str]:
        return {"Stage": self.stage, **LOCAL_PARAMETERS, **self.parameters}

    def env_vars(self) -> dict[str, dict[str, str]]:
        """`--env-vars`: every function gets these (SAM only sets variables the template declares).

        SESSIONS_TABLE too: SAM resolves `!Ref SessionsTable` to the logical id, while the
        embedded endpoint holds the table under its stage's name.
        """
        return {
            "Parameters": {"AWS_ENDPOINT_URL": self.container_aws_endpoint, "SESSIONS_TABLE": self.stack.table_name}
        }

    def describe(self) -> str:
        stack, endpoint = self.stack, self.aws_endpoint
        routes = sorted(stack.api.routes.items(), key=lambda item: item[0][1])
        width = max(len(path) for _, path in stack.api.routes)
        overrides = " ".join(f"{name}={value}" for name, value in self.parameter_overrides().items())
        return "\n".join(
            [
                f"token-service on sam local start-api, stage {self.stage}",
                f"  HTTP API      {self.url}",
                *(f"    {method:<6} {path:<{width}}  {function.name}" for (method, path), function in routes),
                f"  parameters    {overrides}",
                f"  AWS endpoint  {endpoint}  (moto: DynamoDB, SSM; region {REGION}, any credentials)",
                f"    functions reach it as {self.container_aws_endpoint}",
                f"  sessions      {stack.table_name}",
                f"    python -m infra.keys rotate --stage {self.stage} --endpoint-url {endpoint} --region {REGION}",
                "Ctrl-C stops.",
            ]
        )

    # -- steps -----------------------------------------------------------------------------

    def _start_aws(self) -> None:
        parameters = {name: value for name, value in self.parameters.items() if name != "Stage"}
        # moto listens on loopback only; with a container host the relay opens the port to them.
        aws_port = 0 if self.container_aws_host else self._aws_port
        stack = LocalStack(port=0, aws_port=aws_port, stage=self.stage, parameters=parameters)
        # Its front warms the handlers up in this process; their logs would only confuse SAM's.
        with contextlib.redirect_stdout(io.StringIO()):
            self._stack = stack.start()
        if self.container_aws_host:
            self._relay = Relay(self._aws_port, stack.aws_endpoint)

    def _sam_argv(self, *arguments: str) -> list[str]:
        if self._wrapper:
            return [sam_interpreter(self._sam), self._wrapper, *arguments]
        return [self._sam, *arguments]

    def _overrides_argument(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.parameter_overrides().items())

    def _build(self) -> None:
        argv = [
            self._sam,
            "build",
            "--template-file",
            str(TEMPLATE_PATH),
            "--build-dir",
            str(self._build_dir),
            "--parameter-overrides",
            self._overrides_argument(),
        ]
        done = subprocess.run(  # noqa: S603  # nosec B603
            argv, cwd=ROOT, env=sam_environment(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SamLocalError(f"sam build failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _start_api(self, env_vars: Path) -> None:
        argv = self._sam_argv(
            "local",
            "start-api",
            "--template",
            str(self._build_dir / "template.yaml"),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--region",
            REGION,
            "--parameter-overrides",
            self._overrides_argument(),
            "--env-vars",
            str(env_vars),
            "--warm-containers",
            "EAGER",
        )
        if self._wrapper:
            argv += ["--skip-pull-image", "--container-host", "127.0.0.1"]
        ensure_free(self.port, "HTTP API (--port, PORT)")
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603
            argv,
            cwd=ROOT,
            env=sam_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop SAM and its containers
        )
        self._reader = threading.Thread(target=self._read_output, name="sam-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self._ready_timeout
        while not self._ready.wait(0.2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                what = "exited" if self._process.poll() is not None else f"not ready in {self._ready_timeout:.0f} s"
                raise SamLocalError(f"sam local start-api {what}:\n{self.output[-4000:]}")

    def _read_output(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace")
            self._output.append(line)
            if self._echo:
                sys.stderr.write(line)
                sys.stderr.flush()
            if READY_MARK in line:
                self._ready.set()


class Relay:
    """TCP on all interfaces → the loopback endpoint, for containers outside the host's network."""

    def __init__(self, port: int, target_url: str) -> None:
        host, _, target_port = target_url.removeprefix("http://").partition(":")
        self._target = (host, int(target_port))
        self._server = socket.create_server(("0.0.0.0", port), reuse_port=False)  # noqa: S104  # nosec B104
        self.port: int = self._server.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="aws-relay", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        with client, socket.create_connection(self._target, timeout=30) as upstream:
            upstream.settimeout(None)
            selector = selectors.DefaultSelector()
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while not self._closed.is_set():
                for key, _ in selector.select(timeout=1):
                    source, sink = cast(socket.socket, key.fileobj), cast(socket.socket, key.data)
                    data = source.recv(65536)
                    if not data:
                        selector.close()
                        return
                    sink.sendall(data)
            selector.close()


def resolve_layers(built_template: Path, template: Template) -> None:
    """Resolve `Layers: !If [...]` in the built template's Globals and functions, as CloudFormation would.

    `sam local` reads Layers literally and refuses a condition ("Fn::If is an Invalid Layer Arn").
    """
    document = yaml.safe_load(built_template.read_text(encoding="utf-8"))
    functions = [
        resource.get("Properties", {})
        for resource in document.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    changed = False
    for properties in [document.get("Globals", {}).get("Function", {}), *functions]:
        layers = properties.get("Layers")
        if not isinstance(layers, dict):
            continue
        if set(layers) != {"Fn::If"}:
            raise SamLocalError(f"cannot resolve Layers {layers} for sam local")
        condition, when_true, when_false = layers["Fn::If"]
        chosen = when_true if template.condition(condition) else when_false
        if chosen == {"Ref": "AWS::NoValue"}:
            del properties["Layers"]
        else:
            properties["Layers"] = template.resolve(chosen)
        changed = True
    if changed:
        built_template.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def sam_environment() -> dict[str, str]:
    """SAM's environment: dummy credentials (SAM hands its credentials to the containers), no telemetry."""
    environment = {name: value for name, value in os.environ.items() if name != "AWS_SESSION_TOKEN"}
    return environment | DUMMY_CREDENTIALS | {"SAM_CLI_TELEMETRY": "0", "AWS_REGION": REGION}


def sam_interpreter(sam: str) -> str:
    """The Python SAM CLI is installed in (a wrapper must run in it), from the `sam` script's first line."""
    path = shutil.which(sam)
    if path is None:
        raise SamLocalError(f"SAM CLI not found: {sam}")
    first = Path(path).read_bytes().split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if not first.startswith("#!") or "python" not in first:
        raise SamLocalError(f"{path} is not a Python script; cannot run SAM_LOCAL_WRAPPER with its interpreter")
    return first[2:].strip().split()[0]


def remove_lambda_containers() -> None:
    """SAM leaves its warm containers behind when stopped; remove them."""
    docker = shutil.which("docker")
    if docker is None:
        return
    listed = subprocess.run(  # noqa: S603  # nosec B603
        [docker, "ps", "-aq", "--filter", LAMBDA_CONTAINERS], capture_output=True, text=True, check=False
    )
    ids = listed.stdout.split()
    if ids:
        subprocess.run([docker, "rm", "-f", *ids], capture_output=True, check=False)  # noqa: S603  # nosec B603


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    for stop_signal, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, stop_signal)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    if process.stdout is not None:
        process.stdout.close()


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    sam_local = SamLocal(
        port=args.port,
        aws_port=args.aws_port,
        stage=args.stage,
        parameters=dict(args.parameter),
        sam=args.sam,
        wrapper=os.environ.get("SAM_LOCAL_WRAPPER") or None,
        container_aws_host=args.container_aws_host,
        echo=True,
    )
    print("starting the AWS endpoint, sam build, sam local start-api ...", flush=True)
    try:
        sam_local.start()
    except (KeyError, LocalStackError, SamLocalError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(sam_local.describe(), f"(ready in {time.perf_counter() - started:.1f} s)", sep="\n", flush=True)
    _wait(sam_local)
    exited = not sam_local.running
    sam_local.stop()
    print("sam local start-api exited" if exited else "stopped", flush=True)
    return 1 if exited else 0


def _wait(sam_local: SamLocal) -> None:
    """Until Ctrl-C or SIGTERM, or SAM exits on its own."""
    received: list[int] = []
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda number, frame: received.append(number))
    while not received and sam_local.running:
        time.sleep(0.2)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.sam_local", description=__doc__.split("\n\n")[0])
    add_stack_arguments(parser, "sam local start-api port (env PORT)", "LogLevel=DEBUG or Architecture=arm64")
    parser.add_argument(
        "--container-aws-host",
        default=os.environ.get("SAM_LOCAL_CONTAINER_AWS_HOST") or None,
        metavar="HOST",
        help="the name containers reach this machine by, when they do not share its network "
        "(Docker Desktop: host.docker.internal); opens the AWS endpoint on all interfaces "
        "(env SAM_LOCAL_CONTAINER_AWS_HOST)",
    )
    parser.add_argument("--sam", default=os.environ.get("SAM", "sam"), help="SAM CLI executable (env SAM)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
