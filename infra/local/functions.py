"""The template's functions as Lambda runs them: handlers imported from their code afresh, a context, standard output.

Their modules read the environment when imported, so each deployment imports them anew, as a cold
start does; what they print goes wherever `sys.stdout` points during an invocation (captured, as
Lambda's log stream is).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.local.events import ACCOUNT_ID
from infra.local.provision import REGION
from infra.template import ROOT, Template

type Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The part of Lambda's context object handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float  # time.monotonic() when Lambda would stop the invocation

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class Function:
    """A function of the template: the handler Lambda would call and what its context reports."""

    name: str
    handler_path: str
    handler: Callable[[Event, Any], Any]
    memory_mb: int
    timeout_seconds: int
    region: str

    def invoke(self, event: Event) -> Any:
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"
        deadline = time.monotonic() + self.timeout_seconds
        return self.handler(event, LambdaContext(self.name, arn, self.memory_mb, str(uuid.uuid4()), deadline))


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


class CurrentStdout:
    """Writes wherever `sys.stdout` points at the moment, `contextlib.redirect_stdout` included."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def log_to_current_stdout() -> None:
    """Every logging handler bound to this process's stdout follows `sys.stdout` instead: Powertools'
    Logger keeps the stdout of its import, which an invocation's redirection would not reach.
    """
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for handler in [handler for known in loggers for handler in getattr(known, "handlers", [])]:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(CurrentStdout())
