"""`sam local start-api` on the template, its functions pointed at the embedded AWS endpoint.

    python -m infra.local.sam_local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                              [--container-aws-host host.docker.internal] [--sam sam] [--sam-python PATH]

The real SAM CLI builds the functions (x86_64 unless `--parameter Architecture=arm64`) and serves
them from Lambda containers (Docker), an `--env-vars` file pointing them at the endpoint. With
`SAM_LOCAL_WRAPPER` set (a `sam-hostnet` script, for a Docker engine with loopback networking only
and no registry), SAM runs through it under SAM CLI's own Python (`--sam-python`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import yaml

from infra.local.aws_endpoint import AwsEndpoint
from infra.local.banner import command, describe_authorizers, described_routes, key_rotation
from infra.local.command import add_stack_arguments, serve_until_stopped, stack_options
from infra.local.deployment import (
    DEFAULT_AWS_PORT,
    DEFAULT_PORT,
    DEFAULT_STAGE,
    HOST,
    LOCAL_PARAMETERS,
    sessions_table_name,
)
from infra.local.provision import DUMMY_CREDENTIALS, REGION, SESSIONS_TABLE, provision
from infra.local.serving import PortTakenError, ServerStartError, Service, listening_socket, wait_until_answers
from infra.template import TEMPLATE_PATH, Template

ROOT = TEMPLATE_PATH.parent
BUILD_DIR = ROOT / ".aws-sam" / "sam-local"
LAMBDA_CONTAINERS = "label=sam.cli.container.type=lambda"
READY_SECONDS = 180


class SamLocalError(RuntimeError):
    """SAM CLI could not build the template."""


class SamLocal(Service):
    """The embedded AWS endpoint plus `sam local start-api` (its output goes to this process's), together."""

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        stage: str = DEFAULT_STAGE,
        parameters: Mapping[str, str] | None = None,
        sam: str = "sam",
        wrapper: str | None = None,
        sam_python: str | None = None,
        container_aws_host: str | None = None,
    ) -> None:
        if wrapper and not sam_python:
            raise SamLocalError('SAM_LOCAL_WRAPPER runs under "$(uv tool dir)/aws-sam-cli/bin/python": set SAM_PYTHON')
        self.port = port
        self.stage = stage
        self.table_name = sessions_table_name(stage)
        self.parameters = {"Stage": stage, **LOCAL_PARAMETERS, "Architecture": "x86_64", **(parameters or {})}
        self.template = Template.load(parameters=self.parameters, resource_names={SESSIONS_TABLE: self.table_name})
        self.container_aws_host = container_aws_host
        self._endpoint = AwsEndpoint(
            aws_port,
            # All interfaces only when containers reach the endpoint from outside this machine's network.
            host="0.0.0.0" if container_aws_host else HOST,  # noqa: S104  # nosec B104
            host_names=[container_aws_host] if container_aws_host else [],
        )
        self._sam = sam
        self._wrapped = [sam_python, wrapper] if wrapper and sam_python else []
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        try:
            listening_socket(HOST, self.port, "HTTP API (--port, PORT)").close()
            self._endpoint.start()
            provision(self._endpoint.url, self.template, self.table_name, self.stage)
            self._build()
            resolve_for_sam_local(BUILD_DIR / "template.yaml", self.template)
            self._start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # SAM and what it started
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            remove_lambda_containers()
        self._endpoint.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def failure(self) -> str | None:
        """Which process stopped while both should run, if one did."""
        if self._process is not None and self._process.poll() is not None:
            return f"sam local start-api (pid {self._process.pid}) exited with code {self._process.returncode}"
        return self._endpoint.failure()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def aws_endpoint(self) -> str:
        return self._endpoint.url

    @property
    def container_aws_endpoint(self) -> str:
        """The embedded endpoint as the functions in their containers reach it."""
        return (
            f"http://{self.container_aws_host}:{self._endpoint.port}" if self.container_aws_host else self.aws_endpoint
        )

    def describe(self) -> str:
        return "\n".join(
            [
                f"token-service on sam local start-api, stage {self.stage}",
                f"  HTTP API      {self.url}  (SAM CLI, pid {self._process.pid if self._process else '-'})",
                *described_routes(self.template, handlers=False),
                *(f"  authorizer    {described}" for described in describe_authorizers(self.template, caches=False)),
                f"  parameters    {self._overrides()}",
                f"  AWS endpoint  {self.aws_endpoint}  (moto: DynamoDB, SSM; region {REGION}, any credentials; "
                f"child process, pid {self._endpoint.pid})",
                f"    functions reach it as {self.container_aws_endpoint}",
                f"  sessions      {self.table_name}",
                command(key_rotation(self.stage, self.aws_endpoint)),
                "Ctrl-C stops.",
            ]
        )

    def _overrides(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.parameters.items())

    def _build(self) -> None:
        argv = [self._sam, "build", "--template-file", str(TEMPLATE_PATH), "--build-dir", str(BUILD_DIR)]
        done = subprocess.run(  # noqa: S603  # nosec B603
            [*argv, "--parameter-overrides", self._overrides()],
            cwd=ROOT,
            env=sam_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SamLocalError(f"sam build failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _start_api(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="token-service-sam-local-"))
        env_vars = self._workdir / "env-vars.json"
        # SESSIONS_TABLE too: SAM resolves `!Ref SessionsTable` to the logical id, not the stage's table.
        every_function = {"AWS_ENDPOINT_URL": self.container_aws_endpoint, "SESSIONS_TABLE": self.table_name}
        env_vars.write_text(json.dumps({"Parameters": every_function}, indent=2), encoding="utf-8")
        argv = [*(self._wrapped or [self._sam]), "local", "start-api", "--template", str(BUILD_DIR / "template.yaml")]
        argv += ["--host", HOST, "--port", str(self.port), "--region", REGION, "--env-vars", str(env_vars)]
        argv += ["--parameter-overrides", self._overrides(), "--warm-containers", "EAGER"]
        if self._wrapped:
            argv += ["--skip-pull-image", "--container-host", "127.0.0.1"]
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603
            argv,
            cwd=ROOT,
            env=sam_environment(),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches this process only; it stops SAM and its containers
        )
        wait_until_answers(
            self.port, self._process.poll, f"sam local start-api (pid {self._process.pid})", READY_SECONDS
        )


def resolve_for_sam_local(built_template: Path, template: Template) -> None:
    """Rewrite the built template where `sam local` reads it otherwise than CloudFormation and API Gateway."""
    document = yaml.safe_load(built_template.read_text(encoding="utf-8"))
    resolve_layers(document, template)
    name_route_authorizers(document, template)
    built_template.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def resolve_layers(document: dict[str, Any], template: Template) -> None:
    """Resolve the Layers of the Globals and functions, as CloudFormation would.

    `sam local` reads Layers literally and refuses a condition ("Fn::If is an Invalid Layer Arn").
    """
    functions = [
        resource.get("Properties", {})
        for resource in document.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in [document.get("Globals", {}).get("Function", {}), *functions]:
        if "Layers" not in properties:
            continue
        layers = template.resolve(properties.pop("Layers"))
        if layers in ({"Ref": "AWS::NoValue"}, []):  # no layers, as CloudFormation reads either
            continue
        if not isinstance(layers, list) or not all(isinstance(arn, str) for arn in layers):
            raise SamLocalError(f"cannot resolve Layers {layers} for sam local")
        properties["Layers"] = layers


def name_route_authorizers(document: dict[str, Any], template: Template) -> None:
    """Each HttpApi event names the Lambda authorizer the API's definition requires for its route.

    Deployed, the transform merges the events into the definition's paths, `security` included;
    `sam local` takes a route's authorizer from its event only (`Auth.Authorizer`), and the template
    cannot name it there: the transform wants such authorizers declared in the HttpApi's `Auth`.
    """
    resources = document["Resources"]
    for route in template.routes():
        for event in resources[route.function]["Properties"].get("Events", {}).values():
            declared = event["Properties"]
            is_route = (str(declared.get("Method", "")).upper(), declared.get("Path")) == (route.method, route.path)
            if event["Type"] == "HttpApi" and is_route and route.authorizer is not None:
                declared["Auth"] = {"Authorizer": route.authorizer}


def sam_environment() -> dict[str, str]:
    """SAM's environment: dummy credentials (SAM hands its credentials to the containers), no telemetry."""
    environment = {name: value for name, value in os.environ.items() if name != "AWS_SESSION_TOKEN"}
    return environment | DUMMY_CREDENTIALS | {"SAM_CLI_TELEMETRY": "0", "AWS_REGION": REGION}


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


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.sam_local", description=__doc__.split("\n\n")[0])
    add_stack_arguments(parser, "sam local start-api port (env PORT)", "LogLevel=DEBUG or Architecture=arm64")
    parser.add_argument(
        "--container-aws-host",
        default=os.environ.get("SAM_LOCAL_CONTAINER_AWS_HOST") or None,
        metavar="HOST",
        help="the name containers reach this machine by, when they do not share its network "
        "(Docker Desktop: host.docker.internal); opens the AWS endpoint on all interfaces",
    )
    parser.add_argument("--sam", default=os.environ.get("SAM", "sam"), help="SAM CLI executable (env SAM)")
    parser.add_argument(
        "--sam-python", default=os.environ.get("SAM_PYTHON"), help="SAM CLI's Python, for SAM_LOCAL_WRAPPER"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print("starting the AWS endpoint, sam build, sam local start-api ...", flush=True)
    try:
        sam_local = SamLocal(
            **stack_options(args),
            sam=args.sam,
            wrapper=os.environ.get("SAM_LOCAL_WRAPPER") or None,
            sam_python=args.sam_python,
            container_aws_host=args.container_aws_host,
        ).start()
    except (KeyError, ValueError, PortTakenError, ServerStartError, SamLocalError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return serve_until_stopped(sam_local.describe(), started, sam_local.failure, sam_local.stop)


if __name__ == "__main__":
    sys.exit(main())
