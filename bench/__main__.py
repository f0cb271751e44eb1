"""`python -m bench`: each row on stdout as it is measured, then the whole table (progress on stderr)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import cold, everywhere, load, package, prerequisites, warm
from bench.table import Row, print_header, print_row, progress, render
from infra.local.aws_endpoint import AwsEndpoint
from token_service.observability import logger


def _without_real_aws() -> None:
    """No setting that could reach real AWS or defeat moto's mock; any credentials do for moto."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")):
            del os.environ[name]
    os.environ |= {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def _quiet_handlers() -> None:
    """The handlers run in this process too: their log lines are formatted, a cost users pay, but not shown."""
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(Path(os.devnull).open("w"))  # noqa: SIM115 - for the life of the process


def _measured(workdir: Path, reference: Path) -> Iterator[Row]:
    """Every row, as each is measured."""
    progress("sam build")
    build, package_rows = package.run(workdir)
    yield from package_rows
    progress("cold starts")
    with AwsEndpoint() as endpoint:
        yield from cold.run(build, workdir, endpoint.url)
    progress("warm requests")
    yield from warm.run()
    progress("logging out everywhere")
    with AwsEndpoint() as endpoint:
        yield from everywhere.run(endpoint.url)
    progress("the local stack and Express under wrk")
    yield from load.run(workdir, reference)


def main() -> int:
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        try:
            prerequisites.check()
            progress("npm ci for the reference Express app")
            reference = load.prepare(workdir)
        except prerequisites.Unmet as unmet:
            print(unmet, file=sys.stderr)
            return 2
        _without_real_aws()
        _quiet_handlers()
        print_header()
        for row in _measured(workdir, reference):
            print_row(row)
            rows.append(row)
    rows.append(Row("bench run", "s", [time.perf_counter() - started]))
    print_row(rows[-1])
    print("\n" + render(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
