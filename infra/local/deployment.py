"""The local deployment: the embedded AWS endpoint and the HTTP front serving the template's functions.

The endpoint (`aws_endpoint`, a child process) is moto provisioned from `template.yaml`; the front
(`front`, a thread here) routes each request by the template's HttpApi events to the handler Lambda
would call, after the Lambda authorizer the API's definition puts before it, under the template's
environment pointed at the endpoint. Locally cookies lack `Secure` (plain http) and `POST /tokens`
is open. `LocalDeployment` serves `python -m infra.local` and the tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Self

from infra.local import LocalDeploymentError
from infra.local.aws_endpoint import AwsEndpoint
from infra.local.cors import Cors
from infra.local.environment import apply_environment, process_environment, shared_environment
from infra.local.events import authorizer_event, http_api_event
from infra.local.front import LocalApi, ReplyListener
from infra.local.functions import Event, Function, cold_start_imports, log_to_current_stdout
from infra.local.provision import SESSIONS_TABLE, local_client, provision
from infra.local.routes import api_routes
from infra.local.serving import PortTakenError, ServerStartError, ServerThread, Service, listening_socket
from infra.template import Template

HOST = "127.0.0.1"
DEFAULT_PORT = 3019
DEFAULT_AWS_PORT = 4566
DEFAULT_STAGE = "local"
LOCAL_PARAMETERS = {"CookieSecure": "false", "IssueAuthorization": "NONE"}
_running = threading.Lock()  # the functions' environment is process-wide: one deployment at a time


def sessions_table_name(stage: str) -> str:
    return f"token-service-{stage}-sessions"


class LocalDeployment(Service):
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
            raise LocalDeploymentError("the local front checks no SigV4 signature: IssueAuthorization must stay NONE")
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
            raise LocalDeploymentError("a local stack already runs in this process (they would share its environment)")
        self._holds_process = True
        try:
            # The front's port first: a taken one is an error before the slow steps.
            with listening_socket(HOST, self._port, "HTTP API (--port, PORT)") as listener:
                self._endpoint.start()
                self._serve(listener)
        except (PortTakenError, ServerStartError) as error:
            self.stop()
            raise LocalDeploymentError(str(error)) from error
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, listener: socket.socket) -> None:
        self._environment = shared_environment(self.template)
        provision(self.aws_endpoint, self.template, self.table_name, self.stage)
        missing = local_client("ssm", self.aws_endpoint).get_parameters(Names=self.key_rings())["InvalidParameters"]
        if missing:
            raise LocalDeploymentError(f"the functions read key rings {missing} that `provision` does not make")
        changes = process_environment(self._environment, self.aws_endpoint, os.environ)
        self._saved_environment = {name: os.environ.get(name) for name in changes}
        apply_environment(changes)
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
        apply_environment(self._saved_environment)
        self._saved_environment = {}
        self._api = None
        if self._holds_process:
            self._holds_process = False
            _running.release()

    def key_rings(self) -> list[str]:
        return [self._environment[f"{ring}_KEYS_PARAMETER"] for ring in ("ACCESS", "REFRESH")]

    def failure(self) -> str | None:
        """What stopped serving while the stack should run, if anything did."""
        front_stopped = self._front is not None and not self._front.alive
        return self._endpoint.failure() or ("the HTTP front (uvicorn) stopped" if front_stopped else None)

    @property
    def api(self) -> LocalApi:
        if self._api is None:
            raise LocalDeploymentError("the local stack is not running")
        return self._api

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api.port}"

    @property
    def aws_endpoint(self) -> str:
        return self._endpoint.url

    @property
    def aws_endpoint_pid(self) -> int | None:
        return self._endpoint.pid

    @contextlib.contextmanager
    def captured_events(self) -> Iterator[list[Event]]:
        """The events the front hands to handlers while the block runs."""
        events: list[Event] = []
        self.api.listeners.append(events.append)
        try:
            yield events
        finally:
            self.api.listeners.remove(events.append)


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
            raise LocalDeploymentError(f"{function.name} failed its first invocation: {reply.status} {reply.body!r}")
