"""What `python -m infra.local` and `infra.local.sam_local` print once serving: what runs where, commands to try.

Each command line (`    $ …`) runs as printed from the repository's root, in the shell's quoting.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from infra.local import demo
from infra.local.deployment import LocalDeployment
from infra.local.provision import REGION
from infra.template import ROOT, Route, Template

COMMAND_PREFIX = "    $ "


def describe(deployment: LocalDeployment) -> str:
    endpoint, table = deployment.aws_endpoint, deployment.table_name
    return "\n".join(
        [
            f"token-service local stack, stage {deployment.stage}",
            f"  HTTP API      {deployment.url}  (uvicorn in this process, pid {os.getpid()})",
            *described_routes(deployment.template, handlers=True),
            *(f"  authorizer    {line}" for line in describe_authorizers(deployment.template, caches=True)),
            f"  try it        {deployment.url}{demo.PATH}  (a page with a button per route; local only)",
            f"  AWS endpoint  {endpoint}  (moto: DynamoDB, SSM; region {REGION}, any credentials; "
            f"child process, pid {deployment.aws_endpoint_pid})",
            f"  sessions      {table}",
            command(table_scan(endpoint, table)),
            f"  key rings     {', '.join(deployment.key_rings())}",
            command(key_rotation(deployment.stage, endpoint)),
            "One line per request: method, path, status, outcome, milliseconds. Ctrl-C stops.",
        ]
    )


def command(argv: list[str]) -> str:
    return COMMAND_PREFIX + shlex.join(argv)


def python() -> str:
    """This interpreter as typed from the repository's root: the project's environment, not whatever `python` is."""
    executable = Path(sys.executable)
    return str(executable.relative_to(ROOT)) if executable.is_relative_to(ROOT) else str(executable)


def key_rotation(stage: str, endpoint: str) -> list[str]:
    return [python(), "-m", "infra.keys", "rotate", "--stage", stage, "--endpoint-url", endpoint, "--region", REGION]


def table_scan(endpoint: str, table: str) -> list[str]:
    """A scan of the sessions table with boto3 alone, as any program on this machine would make it."""
    # Double quotes inside: the shell's single quotes then hold the code as it is.
    client = (
        f'boto3.client("dynamodb", endpoint_url="{endpoint}", region_name="{REGION}", '
        'aws_access_key_id="local", aws_secret_access_key="local")'
    )
    return [python(), "-c", f'import boto3; print({client}.scan(TableName="{table}")["Items"])']


def described_routes(template: Template, *, handlers: bool) -> list[str]:
    """One line per route: method, path, function (and its handler), the authorizer it is behind."""
    routes = sorted(template.routes(), key=lambda route: route.path)
    width = max(len(route.path) for route in routes)
    return [f"    {r.method:<6} {r.path:<{width}}  {r.function}{_handler(r, handlers)}{_behind(r)}" for r in routes]


def _handler(route: Route, shown: bool) -> str:
    return f" ({route.handler})" if shown else ""


def _behind(route: Route) -> str:
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
