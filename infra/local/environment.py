"""The process environment the functions run under locally: what the template gives them, pointed at the endpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping

from infra.local import LocalDeploymentError
from infra.local.aws_endpoint import LOOPBACK_NAMES
from infra.local.provision import DUMMY_CREDENTIALS, REGION
from infra.template import Template

# Settings that would send the handlers' AWS calls elsewhere, or make boto3 fail on a profile.
_FOREIGN_AWS_SETTINGS = (
    "AWS_ENDPOINT_URL_",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


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
            raise LocalDeploymentError(
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
        changes[name] = ",".join([*listed, *(host for host in sorted(LOOPBACK_NAMES) if host not in listed)])
    return changes


def apply_environment(changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
