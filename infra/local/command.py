"""The local stack: an embedded AWS endpoint and an HTTP front serving the template's functions.

    python -m infra.local [--port 3019] [--aws-port 4566] [--stage local] [--parameter NAME=VALUE ...]
                          [--function-logs] [--log-events]

It prints what it serves (`banner`) and one line per request until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from infra.local import LocalDeploymentError, banner
from infra.local.deployment import DEFAULT_AWS_PORT, DEFAULT_PORT, DEFAULT_STAGE, LocalDeployment
from infra.local.front import ReplyListener
from infra.local.responses import Reply
from infra.template import add_parameter_option


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
        deployment = LocalDeployment(**stack_options(args), on_reply=request_printer(function_logs=args.function_logs))
    except (KeyError, ValueError, LocalDeploymentError) as error:
        parser.error(f"--parameter: {error.args[0]}")
    try:
        deployment.start()
    except LocalDeploymentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: start() has stopped what it started
        return 130
    if args.log_events:
        deployment.api.listeners.append(lambda event: print(json.dumps(event), file=sys.stderr, flush=True))
    return serve_until_stopped(banner.describe(deployment), started, deployment.failure, deployment.stop)


def serve_until_stopped(banner: str, since: float, failure: Callable[[], str | None], stop: Callable[[], None]) -> int:
    """Print `banner`, wait for Ctrl-C or SIGTERM or for `failure` to report what stopped, then stop.

    A stop signal is a clean stop even when a child process died with it: sent to the process group
    (Ctrl-C, `timeout`, docker, systemd), it reaches the children too.
    """
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
    if what is not None and not received:
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
