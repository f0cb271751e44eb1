"""The local stack: an embedded AWS endpoint and an HTTP front serving the template's functions.

    python -m infra.local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                          [--access-log] [--log-events]

One process holds both. moto serves DynamoDB and SSM on loopback, provisioned from
`template.yaml` itself (the sessions table as declared, the stage's key rings); the front
(`infra.local_http`) routes each request by the template's HttpApi events to the very handler
function Lambda would call, with the environment the template gives the functions, pointed at
the embedded endpoint. Nothing reaches AWS.

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
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from infra.events import http_api_event
from infra.local_http import Event, Function, LocalApi, LocalHttpServer, lambda_reply
from infra.provision import create_key_rings, create_table
from infra.template import TEMPLATE_PATH, Template

HOST = "127.0.0.1"
DEFAULT_PORT = 3019
DEFAULT_AWS_PORT = 4566
DEFAULT_STAGE = "local"
REGION = "us-east-1"
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

# The environment is process-wide: one stack runs at a time in a process.
_running = threading.Lock()


class LocalStackError(RuntimeError):
    """The local stack cannot serve the template faithfully."""


def sessions_table_name(stage: str) -> str:
    return f"token-service-{stage}-sessions"


class LocalStack:
    """moto on loopback plus the HTTP front, started and stopped together.

    Each start imports the functions' code afresh (a cold start), so stacks can follow one
    another in a process; two at once cannot, since the functions' environment is process-wide.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        stage: str = DEFAULT_STAGE,
        parameters: Mapping[str, str] | None = None,
        template_path: Path = TEMPLATE_PATH,
        access_log: bool = False,
    ) -> None:
        """`parameters` override the template's (and the local ones); unknown names are a KeyError."""
        if "Stage" in (parameters or {}):
            raise KeyError("Stage is the stage argument, not a parameter")
        self.stage = stage
        self.table_name = sessions_table_name(stage)
        self.template = Template.load(
            template_path,
            parameters={"Stage": stage, **LOCAL_PARAMETERS, **(parameters or {})},
            resource_names={SESSIONS_TABLE: self.table_name},
        )
        if self.template.parameters["IssueAuthorization"] != "NONE":
            raise LocalStackError("the local front checks no SigV4 signature: IssueAuthorization must stay NONE")
        self._template_path = template_path
        self._port = port
        self._aws_port = aws_port
        self._access_log = access_log
        self._moto: ThreadedMotoServer | None = None
        self._http: LocalHttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._environment: dict[str, str] = {}
        self._holds_process = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalStack:
        if not _running.acquire(blocking=False):
            raise LocalStackError("a local stack already runs in this process (they would share its environment)")
        self._holds_process = True
        try:
            self._start_aws()
            self._environment = shared_environment(self.template)
            self._apply_environment(self._environment)
            self._provision(self._environment)
            with cold_start_imports(self.template):
                routes = api_routes(self.template, self._template_path.parent)
                warm_up(routes)
            self._start_http(routes)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.close_connections()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(timeout=5)
            self._http = self._http_thread = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
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
        return f"http://{HOST}:{self._running_http().server_port}"

    @property
    def aws_endpoint(self) -> str:
        if self._moto is None:
            raise LocalStackError("the local stack is not running")
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def api(self) -> LocalApi:
        return self._running_http().api

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
        width = max(len(path) for _, path in self.api.routes)
        routes = [
            f"    {method:<6} {path:<{width}}  {function.name} ({function.handler_path})"
            for (method, path), function in sorted(self.api.routes.items(), key=lambda item: item[0][1])
        ]
        credentials = " ".join(f"{name}={value}" for name, value in DUMMY_CREDENTIALS.items())
        scan = (
            f"import boto3; print(boto3.client('dynamodb', endpoint_url='{endpoint}', region_name='{REGION}', "
            f"aws_access_key_id='local', aws_secret_access_key='local').scan(TableName='{table}')['Items'])"
        )
        environment = self._environment
        return "\n".join(
            [
                f"token-service local stack, stage {self.stage}",
                f"  HTTP API      {self.url}",
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
        # Quiet: no werkzeug line per request; its errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self._aws_port:
            ensure_free(self._aws_port, "AWS endpoint (--aws-port, AWS_PORT)")
        self._moto = ThreadedMotoServer(ip_address=HOST, port=self._aws_port, verbose=False)
        self._moto.start()
        # moto's state lives in the process, not the server: a stack that follows another starts empty.
        reset = urllib.request.Request(f"{self.aws_endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(reset, timeout=10).close()

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

    def _start_http(self, routes: Mapping[tuple[str, str], Function]) -> None:
        try:
            self._http = LocalHttpServer((HOST, self._port), LocalApi(routes), access_log=self._access_log)
        except OSError as error:
            what = f"HTTP API (--port, PORT): {HOST}:{self._port}"
            raise LocalStackError(f"{what} is taken ({error.strerror})") from error
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="local-http-api", daemon=True
        )
        self._http_thread.start()

    def _running_http(self) -> LocalHttpServer:
        if self._http is None:
            raise LocalStackError("the local stack is not running")
        return self._http


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


def ensure_free(port: int, what: str) -> None:
    """Fail with a message rather than hang: moto's server thread dies silently on a taken port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise LocalStackError(f"{what}: {HOST}:{port} is taken ({error.strerror})") from error


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
            access_log=args.access_log,
        )
    except (KeyError, LocalStackError) as error:
        parser.error(f"--parameter: {error.args[0]}")
    try:
        stack.start()
    except LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.log_events:
        stack.api.add_listener(_print_event)
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


def _print_event(event: Event) -> None:
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
    parser.add_argument("--access-log", action="store_true", help="print one line per request")
    parser.add_argument("--log-events", action="store_true", help="print every event handed to a handler (stderr)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
