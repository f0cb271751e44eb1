"""The local stack: an embedded AWS endpoint and an HTTP front serving the template's functions.

    python -m infra.local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                          [--function-logs] [--log-events]

The endpoint (`infra.aws_endpoint`, a child process) is moto provisioned from `template.yaml`;
the front (`infra.front`, a thread here) routes each request by the template's HttpApi events to
the handler Lambda would call, after the Lambda authorizer the API's definition puts before it,
under the template's environment pointed at the endpoint. Locally
cookies lack `Secure` (plain http) and `POST /tokens` is open. `LocalStack` serves the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self

from infra import demo
from infra.aws_endpoint import AwsEndpoint
from infra.cors import Cors
from infra.events import authorizer_event, http_api_event
from infra.front import (
    Event,
    Function,
    LambdaAuthorizer,
    LocalApi,
    Reply,
    ReplyListener,
    RouteKey,
    log_to_current_stdout,
)
from infra.provision import DUMMY_CREDENTIALS, REGION, SESSIONS_TABLE, local_client, provision
from infra.serving import PortTakenError, ServerStartError, ServerThread, Service, listening_socket
from infra.template import ROOT, Authorizer, Route, Template, add_parameter_option

HOST = "127.0.0.1"
DEFAULT_PORT = 3019
DEFAULT_AWS_PORT = 4566
DEFAULT_STAGE = "local"
LOCAL_PARAMETERS = {"CookieSecure": "false", "IssueAuthorization": "NONE"}
HEADER_SOURCE = "$request.header."
# Settings that would send the handlers' AWS calls elsewhere, or make boto3 fail on a profile.
_FOREIGN_AWS_SETTINGS = (
    "AWS_ENDPOINT_URL_",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_running = threading.Lock()  # the functions' environment is process-wide: one stack at a time


class LocalStackError(RuntimeError):
    """The local stack cannot serve the template faithfully."""


def sessions_table_name(stage: str) -> str:
    return f"token-service-{stage}-sessions"


class LocalStack(Service):
    """The AWS endpoint and the front, started and stopped together; one at a time per process.

    Each start imports the functions' code afresh (a cold start) under the environment it sets.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        stage: str = DEFAULT_STAGE,
        parameters: Mapping[str, str] | None = None,
        on_reply: ReplyListener | None = None,
    ) -> None:
        """`parameters` override the template's (and the local ones); unknown names are a KeyError."""
        if "Stage" in (parameters or {}):
            raise KeyError("Stage is the stage argument, not a parameter")
        self.stage = stage
        self.table_name = sessions_table_name(stage)
        self.template = Template.load(
            parameters={"Stage": stage, **LOCAL_PARAMETERS, **(parameters or {})},
            resource_names={SESSIONS_TABLE: self.table_name},
        )
        if self.template.parameters["IssueAuthorization"] != "NONE":
            raise LocalStackError("the local front checks no SigV4 signature: IssueAuthorization must stay NONE")
        self._port = port
        self._on_reply = on_reply
        self._endpoint = AwsEndpoint(aws_port)
        self._api: LocalApi | None = None
        self._front: ServerThread | None = None
        self._environment: dict[str, str] = {}
        self._saved_environment: dict[str, str | None] = {}
        self._holds_process = False

    def start(self) -> Self:
        if not _running.acquire(blocking=False):
            raise LocalStackError("a local stack already runs in this process (they would share its environment)")
        self._holds_process = True
        try:
            # The front's port first: a taken one is an error before the slow steps.
            with listening_socket(HOST, self._port, "HTTP API (--port, PORT)") as listener:
                self._endpoint.start()
                self._serve(listener)
        except (PortTakenError, ServerStartError) as error:
            self.stop()
            raise LocalStackError(str(error)) from error
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, listener: socket.socket) -> None:
        self._environment = shared_environment(self.template)
        provision(self.aws_endpoint, self.template, self.table_name, self.stage)
        missing = local_client("ssm", self.aws_endpoint).get_parameters(Names=self._key_rings())["InvalidParameters"]
        if missing:
            raise LocalStackError(f"the functions read key rings {missing} that `provision` does not make")
        changes = process_environment(self._environment, self.aws_endpoint, os.environ)
        self._saved_environment = {name: os.environ.get(name) for name in changes}
        _apply(changes)
        with cold_start_imports(self.template):
            routes, authorizers = api_routes(self.template)
            log_to_current_stdout()
            port = listener.getsockname()[1]
            self._api = LocalApi(
                routes, authorizers=authorizers, port=port, on_reply=self._on_reply, cors=Cors.of(self.template)
            )
            warm_up(self._api)
        self._front = ServerThread(self._api, listener.dup(), "local-http-api")
        self._front.start()

    def stop(self) -> None:
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._endpoint.stop()
        _apply(self._saved_environment)
        self._saved_environment = {}
        self._api = None
        if self._holds_process:
            self._holds_process = False
            _running.release()

    def _key_rings(self) -> list[str]:
        return [self._environment[f"{ring}_KEYS_PARAMETER"] for ring in ("ACCESS", "REFRESH")]

    def failure(self) -> str | None:
        """What stopped serving while the stack should run, if anything did."""
        front_stopped = self._front is not None and not self._front.alive
        return self._endpoint.failure() or ("the HTTP front (uvicorn) stopped" if front_stopped else None)

    @property
    def api(self) -> LocalApi:
        if self._api is None:
            raise LocalStackError("the local stack is not running")
        return self._api

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api.port}"

    @property
    def aws_endpoint(self) -> str:
        return self._endpoint.url

    @contextlib.contextmanager
    def captured_events(self) -> Iterator[list[Event]]:
        """The events the front hands to handlers while the block runs."""
        events: list[Event] = []
        self.api.listeners.append(events.append)
        try:
            yield events
        finally:
            self.api.listeners.remove(events.append)

    def describe(self) -> str:
        endpoint, table, stage = self.aws_endpoint, self.table_name, self.stage
        routes = sorted(self.template.routes(), key=lambda route: route.path)
        width = max(len(route.path) for route in routes)
        aws = f"--endpoint-url {endpoint} --region {REGION}"
        credentials = " ".join(f"{name}={value}" for name, value in DUMMY_CREDENTIALS.items())
        rings = ", ".join(self._key_rings())
        scan = (
            f"import boto3; print(boto3.client('dynamodb', endpoint_url='{endpoint}', region_name='{REGION}', "
            f"aws_access_key_id='local', aws_secret_access_key='local').scan(TableName='{table}')['Items'])"
        )
        return "\n".join(
            [
                f"token-service local stack, stage {stage}",
                f"  HTTP API      {self.url}  (uvicorn in this process, pid {os.getpid()})",
                *(f"    {r.method:<6} {r.path:<{width}}  {r.function} ({r.handler}){behind(r)}" for r in routes),
                *(f"  authorizer    {described}" for described in describe_authorizers(self.template, caches=True)),
                f"  try it        {self.url}{demo.PATH}  (a page with a button per route; local only)",
                f"  AWS endpoint  {endpoint}  (moto: DynamoDB, SSM; region {REGION}, any credentials; "
                f"child process, pid {self._endpoint.pid})",
                f"  sessions      {table}",
                f"    {credentials} aws {aws} dynamodb scan --table-name {table}",
                f'    python -c "{scan}"',
                f"  key rings     {rings}",
                f"    python -m infra.keys rotate --stage {stage} {aws}",
                "One line per request: method, path, status, outcome, milliseconds. Ctrl-C stops.",
            ]
        )


def _apply(changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def shared_environment(template: Template) -> dict[str, str]:
    """The environment every function declares; they share one process here, so they must agree.

    One declared empty or not at all is set empty (Lambda passes an empty string, read as unset),
    so the shell's value cannot stand in.
    """
    functions = sorted(template.resources_of_type("AWS::Serverless::Function"))
    environments = {name: template.function_environment(name) for name in functions}
    names = sorted({variable for environment in environments.values() for variable in environment})
    normalized = {function: {name: env.get(name, "") for name in names} for function, env in environments.items()}
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
    """Import the functions' packages afresh, as a cold start does, then put earlier copies back.

    Their modules read the environment when imported: copies imported earlier under another
    environment (a test run's unit tests) would serve stale state.
    """
    functions = template.resources_of_type("AWS::Serverless::Function").values()
    packages = {str(function["Properties"]["Handler"]).split(".", 1)[0] for function in functions}

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


def api_routes(template: Template) -> tuple[dict[RouteKey, Function], dict[RouteKey, LambdaAuthorizer]]:
    """(method, path) → the function behind it, for every HttpApi event; and → the Lambda authorizer
    API Gateway runs first, where the API's definition requires one. Functions imported as Lambda does."""
    function = functools.cache(functools.partial(imported_function, template))
    declared = template.authorizers()
    authorizers: dict[str, LambdaAuthorizer] = {}  # one per authorizer: its cache serves all its routes
    routes: dict[RouteKey, Function] = {}
    protected: dict[RouteKey, LambdaAuthorizer] = {}
    for route in template.routes():
        if not route.path.startswith("/") or "+}" in route.path:
            raise LocalStackError(f"{route.function}: the local front matches {{name}} segments, not {route.path}")
        routes[(route.method, route.path)] = function(route.function)
        if route.authorizer is not None:
            if route.authorizer not in authorizers:
                authorizers[route.authorizer] = lambda_authorizer(declared[route.authorizer], function)
            protected[(route.method, route.path)] = authorizers[route.authorizer]
    return routes, protected


def imported_function(template: Template, name: str) -> Function:
    """The template's function `name`: its handler imported from its code as Lambda does, its settings."""
    properties = {**template.function_globals, **template.resources[name]["Properties"]}
    code_root = str((ROOT / str(template.resolve(properties.get("CodeUri", ".")))).resolve())
    if code_root not in sys.path:
        sys.path.insert(0, code_root)
    module_name, _, attribute = str(properties["Handler"]).rpartition(".")
    return Function(
        name=name,
        handler_path=str(properties["Handler"]),
        handler=getattr(importlib.import_module(module_name), attribute),
        memory_mb=int(template.resolve(properties.get("MemorySize", 128))),
        timeout_seconds=int(template.resolve(properties.get("Timeout", 3))),
        region=REGION,
    )


def lambda_authorizer(declared: Authorizer, function: Callable[[str], Function]) -> LambdaAuthorizer:
    """The authorizer the API's definition declares, as the front runs it; what it cannot run faithfully
    is a LocalStackError."""
    if declared.function is None:
        raise LocalStackError(f"authorizer {declared.name}: its authorizerUri names no function of the template")
    if (declared.kind, declared.payload_format_version, declared.simple_responses) != ("request", "2.0", True):
        raise LocalStackError(
            f"authorizer {declared.name}: the local front runs request authorizers with payload format 2.0 "
            "and simple responses only"
        )
    if not all(source.startswith(HEADER_SOURCE) for source in declared.identity_source):
        raise LocalStackError(f"authorizer {declared.name}: the local front reads identity sources from headers only")
    headers = [source.removeprefix(HEADER_SOURCE) for source in declared.identity_source]
    return LambdaAuthorizer(function(declared.function), headers, declared.ttl_seconds)


def warm_up(api: LocalApi) -> None:
    """Invoke each function once before any request, authorizers included: the functions share this
    process and boto3 cannot build clients from several threads at once; a configuration fault shows now, too.
    """
    first_calls: dict[str, tuple[Function, Event]] = {}
    for (method, path), function in api.routes.items():
        event = http_api_event(method, path, headers={"user-agent": "token-service-local"})
        first_calls.setdefault(function.name, (function, event))
        if (authorizer := api.authorizers.get((method, path))) is not None:
            first_calls.setdefault(authorizer.function.name, (authorizer.function, authorizer_event(event)))
    for function, event in first_calls.values():
        reply = api.invoke(function, event)
        if reply.status >= 500:
            raise LocalStackError(f"{function.name} failed its first invocation: {reply.status} {reply.body!r}")


def behind(route: Route) -> str:
    return f"  behind {route.authorizer}" if route.authorizer else ""


def describe_authorizers(template: Template, *, caches: bool) -> list[str]:
    """What a banner says of each authorizer: its function, what it reads, what is cached (if the front `caches`)."""
    described = []
    for authorizer in template.authorizers().values():
        sources = ", ".join(authorizer.identity_source)
        if not caches:
            cache = "invoked for every request (SAM CLI caches nothing)"
        elif sources and authorizer.ttl_seconds:
            cache = f"answers cached {authorizer.ttl_seconds} s"
        else:
            cache = "nothing cached"
        described.append(f"{authorizer.name}: {authorizer.function}, identity source {sources or 'none'}, {cache}")
    return described


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.split("\n\n")[0])
    add_stack_arguments(parser, "HTTP port (env PORT; 0: a free one)", "LogLevel=WARNING")
    parser.add_argument(
        "--function-logs", action="store_true", help="also print what each invocation writes, as Lambda logs it"
    )
    parser.add_argument("--log-events", action="store_true", help="print every event handed to a handler (stderr)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        stack = LocalStack(**stack_options(args), on_reply=request_printer(function_logs=args.function_logs))
    except (KeyError, ValueError, LocalStackError) as error:
        parser.error(f"--parameter: {error.args[0]}")
    try:
        stack.start()
    except LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: start() has stopped what it started
        return 130
    if args.log_events:
        stack.api.listeners.append(lambda event: print(json.dumps(event), file=sys.stderr, flush=True))
    return serve_until_stopped(stack.describe(), started, stack.failure, stack.stop)


def serve_until_stopped(banner: str, since: float, failure: Callable[[], str | None], stop: Callable[[], None]) -> int:
    """Print `banner`, wait for Ctrl-C or SIGTERM or for `failure` to report what stopped, then stop."""
    received: list[int] = []
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda number, frame: received.append(number))
    print(f"{banner}\n(ready in {time.perf_counter() - since:.1f} s)", flush=True)
    what = None
    while not received and what is None:
        time.sleep(0.2)
        what = failure()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    stop()
    if what is not None:
        print(f"error: {what}; stopped", file=sys.stderr, flush=True)
        return 1
    print("stopped", flush=True)
    return 0


def request_printer(*, function_logs: bool) -> ReplyListener:
    """One short line per request; with `function_logs`, what the function wrote first, as Lambda logs it."""

    def print_reply(method: str, path: str, reply: Reply, milliseconds: float) -> None:
        if function_logs:
            sys.stdout.write(reply.output)
        print(f"{method} {path} {reply.status} {reply.outcome} {milliseconds:.1f} ms", flush=True)

    return print_reply


def stack_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"port": args.port, "aws_port": args.aws_port, "stage": args.stage, "parameters": dict(args.parameter)}


def add_stack_arguments(parser: argparse.ArgumentParser, port_help: str, parameter_example: str) -> None:
    """The options every command that runs the stack takes: ports, stage, template parameters."""

    def port(environment_name: str, default: int) -> int:
        raw = os.environ.get(environment_name, "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() else default

    parser.add_argument("--port", type=int, default=port("PORT", DEFAULT_PORT), help=port_help)
    parser.add_argument(
        "--aws-port",
        type=int,
        default=port("AWS_PORT", DEFAULT_AWS_PORT),
        help="embedded AWS endpoint port (env AWS_PORT; 0: a free one)",
    )
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="the template's Stage parameter")
    add_parameter_option(parser, f"a template parameter (repeatable), e.g. {parameter_example}")


if __name__ == "__main__":
    sys.exit(main())
