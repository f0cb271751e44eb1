"""The local stack: an embedded AWS endpoint and an HTTP front serving the template's functions.

    python -m infra.local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                          [--workers 2] [--access-log] [--log-events]

moto serves DynamoDB and SSM on loopback from a child process (`infra.moto_server`),
provisioned from `template.yaml` itself (the sessions table as declared, the stage's key
rings); the front (`infra.local_http`) routes each request by the template's HttpApi events to
the very handler function Lambda would call, with the environment the template gives the
functions, pointed at the embedded endpoint. Nothing reaches AWS. With one worker the front
runs in this process; with more, each worker is a process of its own (`infra.front_worker`),
a separate set of execution environments, all on one port, all calling the one moto.

Template parameters for a local run: cookies without `Secure` (plain http), `POST /tokens`
open; `--parameter` sets others (e.g. `LogLevel=WARNING`, `RefreshGraceSeconds=5`).
`LocalStack` is the same thing as a library, for the integration tests (ports 0 = free ports).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from infra.child_server import ChildServer, ChildServerError
from infra.events import http_api_event
from infra.local_http import Event, Function, LocalApi, LocalHttpServer, lambda_reply
from infra.provision import create_key_rings, create_table
from infra.template import TEMPLATE_PATH, Template

HOST = "127.0.0.1"
DEFAULT_PORT = 3019
DEFAULT_AWS_PORT = 4566
DEFAULT_STAGE = "local"
# Two front processes keep moto busy while one of them runs a handler (see the README's Performance).
DEFAULT_WORKERS = 2
REGION = "us-east-1"
# wrk and browsers open their connections in a burst.
LISTEN_BACKLOG = 1024
LOCAL_PARAMETERS = {"CookieSecure": "false", "IssueAuthorization": "NONE"}
SESSIONS_TABLE = "SessionsTable"
# Any credentials do for moto; these are only set when the environment has none, so boto3 never
# goes looking for real ones (instance metadata, SSO) on the network.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # nosec B105
# Settings that would send the handlers' AWS calls somewhere other than the embedded endpoint,
# or make boto3 fail on a profile the local stack does not need.
_FOREIGN_AWS_SETTINGS = (
    "AWS_ENDPOINT_URL_",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")

# The environment is process-wide: one stack with its front in this process runs at a time.
_running = threading.Lock()


class LocalStackError(RuntimeError):
    """The local stack cannot serve the template faithfully."""


def sessions_table_name(stage: str) -> str:
    return f"token-service-{stage}-sessions"


class LocalStack:
    """moto on loopback (a child process) plus the HTTP front, started and stopped together.

    With `workers=1` the front runs in this process: each start imports the functions' code
    afresh (a cold start), so stacks can follow one another in a process, but two such stacks
    at once cannot, since the functions' environment is process-wide; `api` and
    `captured_events` see its handlers. With more workers, the front is that many processes.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        stage: str = DEFAULT_STAGE,
        parameters: Mapping[str, str] | None = None,
        template_path: Path = TEMPLATE_PATH,
        workers: int = 1,
        access_log: bool = False,
        log_events: bool = False,
    ) -> None:
        """`parameters` override the template's (and the local ones); unknown names are a KeyError."""
        if "Stage" in (parameters or {}):
            raise KeyError("Stage is the stage argument, not a parameter")
        if workers < 1:
            raise LocalStackError("the front needs at least one worker")
        self.stage = stage
        self.table_name = sessions_table_name(stage)
        self._template_parameters = {"Stage": stage, **LOCAL_PARAMETERS, **(parameters or {})}
        self._resource_names = {SESSIONS_TABLE: self.table_name}
        self.template = Template.load(
            template_path, parameters=self._template_parameters, resource_names=self._resource_names
        )
        if self.template.parameters["IssueAuthorization"] != "NONE":
            raise LocalStackError("the local front checks no SigV4 signature: IssueAuthorization must stay NONE")
        self._template_path = template_path
        self._port = port
        self._aws_port = aws_port
        self._workers = workers
        self._access_log = access_log
        self._log_events = log_events
        self._aws: ChildServer | None = None
        self._aws_url = ""
        self._http: LocalHttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._front_workers: list[ChildServer] = []
        self._url = ""
        self._saved_environment: dict[str, str | None] = {}
        self._environment: dict[str, str] = {}
        self._holds_process = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalStack:
        in_process = self._workers == 1
        if in_process and not _running.acquire(blocking=False):
            raise LocalStackError("a local stack already runs in this process (they would share its environment)")
        self._holds_process = in_process
        try:
            self._start_aws()
            self._environment = shared_environment(self.template)
            self._provision(self._environment)
            if in_process:
                self._start_http_here()
            else:
                self._start_front_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for worker in self._front_workers:
            worker.stop()
        self._front_workers = []
        if self._http is not None:
            self._http.shutdown()
            self._http.close_connections()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(timeout=5)
            self._http = self._http_thread = None
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
        self._url = ""
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}
        if self._holds_process:
            self._holds_process = False
            _running.release()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- what it serves --------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._url:
            raise LocalStackError("the local stack is not running")
        return self._url

    @property
    def aws_endpoint(self) -> str:
        if self._aws is None:
            raise LocalStackError("the local stack is not running")
        return self._aws_url

    @property
    def api(self) -> LocalApi:
        """The in-process front's routes and listeners (workers=1 only)."""
        if self._http is None:
            what = "is not running" if not self._url else f"serves from {self._workers} worker processes"
            raise LocalStackError(f"the local stack {what}: its handlers are not in this process")
        return self._http.api

    @contextlib.contextmanager
    def captured_events(self) -> Iterator[list[Event]]:
        """The events the front hands to handlers while the block runs."""
        events: list[Event] = []
        self.api.add_listener(events.append)
        try:
            yield events
        finally:
            self.api.remove_listener(events.append)

    def describe(self) -> str:
        endpoint, table = self.aws_endpoint, self.table_name
        served = sorted(self.template.routes(), key=lambda route: route.path)
        width = max(len(route.path) for route in served)
        routes = [
            f"    {route.method:<6} {route.path:<{width}}  {route.function} ({route.handler})" for route in served
        ]
        workers = "this process" if self._workers == 1 else f"{self._workers} worker processes"
        credentials = " ".join(f"{name}={value}" for name, value in DUMMY_CREDENTIALS.items())
        scan = (
            f"import boto3; print(boto3.client('dynamodb', endpoint_url='{endpoint}', region_name='{REGION}', "
            f"aws_access_key_id='local', aws_secret_access_key='local').scan(TableName='{table}')['Items'])"
        )
        environment = self._environment
        return "\n".join(
            [
                f"token-service local stack, stage {self.stage}",
                f"  HTTP API      {self.url}  (front: {workers})",
                *routes,
                f"  AWS endpoint  {endpoint}  (moto: DynamoDB, SSM; region {REGION}, any credentials)",
                f"  sessions      {table}",
                f"    {credentials} aws --endpoint-url {endpoint} --region {REGION} dynamodb scan --table-name {table}",
                f'    python -c "{scan}"',
                f"  key rings     {environment['ACCESS_KEYS_PARAMETER']}, {environment['REFRESH_KEYS_PARAMETER']}",
                f"    python -m infra.keys rotate --stage {self.stage} --endpoint-url {endpoint} --region {REGION}",
                "Ctrl-C stops.",
            ]
        )

    # -- steps -----------------------------------------------------------------------------

    def _start_aws(self) -> None:
        listener = listening_socket(self._aws_port, "AWS endpoint (--aws-port, AWS_PORT)")
        with listener:
            self._aws_url = _url(listener)
            self._aws = ChildServer("infra.moto_server", listener)
            _start_children([self._aws])

    def _apply_environment(self, functions_environment: Mapping[str, str]) -> None:
        changes = process_environment(functions_environment, self.aws_endpoint, os.environ)
        self._saved_environment = {name: os.environ.get(name) for name in changes}
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _provision(self, environment: Mapping[str, str]) -> None:
        options: Any = {"endpoint_url": self.aws_endpoint, "region_name": REGION}
        options |= {name.lower(): value for name, value in DUMMY_CREDENTIALS.items()}
        create_table(boto3.client("dynamodb", **options), self.template, self.table_name)
        ssm = boto3.client("ssm", **options)
        create_key_rings(ssm, self.stage)
        wanted = [environment["ACCESS_KEYS_PARAMETER"], environment["REFRESH_KEYS_PARAMETER"]]
        missing = ssm.get_parameters(Names=wanted)["InvalidParameters"]
        if missing:
            raise LocalStackError(f"the functions read key rings {missing} that `create_key_rings` does not make")

    def _start_http_here(self) -> None:
        """The front on a thread of this process, its handlers imported here."""
        self._apply_environment(self._environment)
        with cold_start_imports(self.template):
            routes = api_routes(self.template, self._template_path.parent)
            warm_up(routes)
        listener = listening_socket(self._port, "HTTP API (--port, PORT)")
        self._url = _url(listener)
        self._http = LocalHttpServer(listener, LocalApi(routes), access_log=self._access_log)
        if self._log_events:
            self._http.api.add_listener(print_event)
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="local-http-api", daemon=True
        )
        self._http_thread.start()

    def _start_front_workers(self) -> None:
        """The front as worker processes on one port; this process's environment stays as it is."""
        changes = process_environment(self._environment, self.aws_endpoint, os.environ)
        environment = {name: value for name, value in (os.environ | changes).items() if value is not None}
        arguments = [
            f"--template={self._template_path}",
            f"--parameters={json.dumps(self._template_parameters)}",
            f"--resource-names={json.dumps(self._resource_names)}",
            *(["--access-log"] if self._access_log else []),
            *(["--log-events"] if self._log_events else []),
        ]
        listeners = port_sharing_sockets(self._port, self._workers, "HTTP API (--port, PORT)")
        try:
            self._url = _url(listeners[0])
            self._front_workers = [
                ChildServer("infra.front_worker", listener, arguments, environment) for listener in listeners
            ]
            _start_children(self._front_workers)
        finally:
            for listener in listeners:
                listener.close()


def shared_environment(template: Template) -> dict[str, str]:
    """The environment every function declares; they share one process here, so they must agree.

    A variable declared empty counts as not declared: Lambda passes it as an empty string, and
    the functions (like boto3 with AWS_ENDPOINT_URL) read an empty variable as unset. It is set
    empty here too, so the same name from the shell cannot stand in for it.
    """
    functions = sorted(template.resources_of_type("AWS::Serverless::Function"))
    environments = {name: template.function_environment(name) for name in functions}
    names = sorted({variable for environment in environments.values() for variable in environment})
    normalized = {
        function: {name: environment.get(name, "") for name in names} for function, environment in environments.items()
    }
    (first, shared), *others = normalized.items()
    for function, environment in others:
        differing = [name for name in names if environment[name] != shared[name]]
        if differing:
            raise LocalStackError(
                f"{function} and {first} differ in {', '.join(differing)}; the local stack runs every function in "
                "one process (one environment, modules imported once) and cannot give them different values"
            )
    return shared


def process_environment(
    functions_environment: Mapping[str, str], aws_endpoint: str, current: Mapping[str, str]
) -> dict[str, str | None]:
    """The changes to make to this process's environment (None: remove) to run the functions locally."""
    changes: dict[str, str | None] = dict(functions_environment)
    changes |= {"AWS_ENDPOINT_URL": aws_endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    changes |= {name: None for name in current if name.startswith(_FOREIGN_AWS_SETTINGS)}
    changes |= {name: value for name, value in DUMMY_CREDENTIALS.items() if not current.get(name)}
    for name in ("NO_PROXY", "no_proxy"):  # a configured HTTP proxy must not carry loopback calls
        listed = [entry.strip() for entry in current.get(name, "").split(",") if entry.strip()]
        changes[name] = ",".join([*listed, *(host for host in _LOOPBACK_NAMES if host not in listed)])
    return changes


@contextlib.contextmanager
def cold_start_imports(template: Template) -> Iterator[None]:
    """Import the functions' packages afresh, under the environment just set, as a cold start does.

    Their modules read the environment when imported (Powertools' Logger and Metrics, cached
    settings and clients); copies this process imported earlier, with another environment (a
    test run imports the handlers for its unit tests), would serve with stale state. The
    stack keeps the fresh copies it imported; the earlier ones are put back for everyone else.
    """
    packages = {route.handler.split(".", 1)[0] for route in template.routes()}

    def ours(name: str) -> bool:
        return name.split(".", 1)[0] in packages

    earlier = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in earlier:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(earlier)


def api_routes(template: Template, root: Path) -> dict[tuple[str, str], Function]:
    """(method, path) → the function behind it, for every HttpApi event in the template."""
    function_globals = template.document.get("Globals", {}).get("Function", {})
    functions: dict[str, Function] = {}
    table: dict[tuple[str, str], Function] = {}
    for route in template.routes():
        if "{" in route.path or not route.path.startswith("/"):
            raise LocalStackError(f"{route.function}: the local front matches literal paths only, not {route.path}")
        if (route.method, route.path) in table:
            raise LocalStackError(f"{route.method} {route.path} is routed to two functions")
        if route.function not in functions:
            properties = template.resources[route.function]["Properties"]
            merged = {**function_globals, **properties}
            functions[route.function] = _load_function(template, route.function, merged, root)
        table[(route.method, route.path)] = functions[route.function]
    return table


def _load_function(template: Template, name: str, properties: Mapping[str, Any], root: Path) -> Function:
    """Import the handler as Lambda does: from the function's code directory."""
    code_root = str((root / str(template.resolve(properties.get("CodeUri", ".")))).resolve())
    if code_root not in sys.path:
        sys.path.insert(0, code_root)
    handler_path = str(properties["Handler"])
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    return Function(
        name=name,
        handler_path=handler_path,
        handler=handler,
        memory_mb=int(template.resolve(properties.get("MemorySize", 128))),
        timeout_seconds=int(template.resolve(properties.get("Timeout", 3))),
        region=REGION,
    )


def warm_up(routes: Mapping[tuple[str, str], Function]) -> None:
    """Invoke each function once, one after another, before any request arrives.

    In Lambda every function has its own process; here they share one, and boto3 cannot build
    clients from several threads at once. A first invocation with an empty request builds each
    handler's clients, and shows a configuration fault now rather than on the first request.
    """
    first_routes = {function.name: (method, path, function) for (method, path), function in routes.items()}
    for method, path, function in first_routes.values():
        event = http_api_event(method, path, headers={"user-agent": "token-service-local warm-up"})
        reply = lambda_reply(function.invoke(event))
        if reply.status >= 500:
            raise LocalStackError(f"{function.name} failed its first invocation: {reply.status} {reply.body!r}")


def _url(listener: socket.socket) -> str:
    return f"http://{HOST}:{listener.getsockname()[1]}"


def _start_children(children: Sequence[ChildServer]) -> None:
    """Start child servers side by side (each takes a cold start), failing as the stack's error."""
    try:
        for child in children:
            child.launch()
        for child in children:
            child.wait_until_ready()
    except ChildServerError as error:
        raise LocalStackError(str(error)) from error


def listening_socket(port: int, what: str) -> socket.socket:
    """A socket listening on loopback; a taken port is an error that says which option moves it."""
    try:
        return socket.create_server((HOST, port), backlog=LISTEN_BACKLOG)
    except OSError as error:
        raise LocalStackError(f"{what}: {HOST}:{port} is taken ({error.strerror})") from error


def port_sharing_sockets(port: int, count: int, what: str) -> list[socket.socket]:
    """`count` sockets listening on one loopback port, the kernel spreading connections over them.

    One socket shared by every worker would not spread them: whichever worker wakes first
    accepts a whole burst of new connections. With SO_REUSEPORT Linux hashes each connection to
    one of the sockets. A plain bind first makes a taken port (or another stack's) an error.
    """
    with listening_socket(port, what) as probe:
        port = probe.getsockname()[1]
    listeners: list[socket.socket] = []
    try:
        for _ in range(count):
            listeners.append(socket.create_server((HOST, port), backlog=LISTEN_BACKLOG, reuse_port=True))
    except OSError as error:
        for listener in listeners:
            listener.close()
        raise LocalStackError(f"{what}: {HOST}:{port} is taken ({error.strerror})") from error
    return listeners


def ensure_free(port: int, what: str) -> None:
    """Fail with a message now rather than when a server started later finds the port taken."""
    listening_socket(port, what).close()


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        stack = LocalStack(
            port=args.port,
            aws_port=args.aws_port,
            stage=args.stage,
            parameters=dict(args.parameter),
            workers=args.workers,
            access_log=args.access_log,
            log_events=args.log_events,
        )
    except (KeyError, LocalStackError) as error:
        parser.error(f"--parameter: {error.args[0]}")
    try:
        stack.start()
    except LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(stack.describe(), f"(ready in {time.perf_counter() - started:.1f} s)", sep="\n", flush=True)
    _wait_for_a_stop_signal()
    stack.stop()
    print("stopped", flush=True)
    return 0


def _wait_for_a_stop_signal() -> None:
    """Block until Ctrl-C or SIGTERM; a second one while stopping is ignored."""
    received: list[int] = []
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda number, frame: received.append(number))
    while not received:
        signal.pause()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)


def print_event(event: Event) -> None:
    print(json.dumps(event, ensure_ascii=False), file=sys.stderr, flush=True)


def _port(environment_name: str, default: int) -> int:
    raw = os.environ.get(environment_name, "").strip()
    return int(raw) if raw.isdigit() else default


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def add_stack_arguments(parser: argparse.ArgumentParser, port_help: str, parameter_example: str) -> None:
    """The options every command that runs the stack takes: ports, stage, template parameters."""
    parser.add_argument("--port", type=int, default=_port("PORT", DEFAULT_PORT), help=port_help)
    parser.add_argument(
        "--aws-port",
        type=int,
        default=_port("AWS_PORT", DEFAULT_AWS_PORT),
        help="embedded AWS endpoint port (env AWS_PORT; 0: a free one)",
    )
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="the template's Stage parameter")
    parser.add_argument(
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        metavar="NAME=VALUE",
        help=f"a template parameter (repeatable), e.g. {parameter_example}",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.split("\n\n")[0])
    add_stack_arguments(parser, "HTTP port (env PORT; 0: a free one)", "LogLevel=WARNING")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"front processes, each its own execution environments (default {DEFAULT_WORKERS}; 1: in this process)",
    )
    parser.add_argument("--access-log", action="store_true", help="print one line per request")
    parser.add_argument("--log-events", action="store_true", help="print every event handed to a handler (stderr)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
