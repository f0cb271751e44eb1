"""`python -m bench`: every measurement, then one table on stdout (progress on stderr)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import cold, everywhere, load, package, warm
from bench.table import Row, render
from infra.aws_endpoint import AwsEndpoint
from token_service.observability import logger


def _without_real_aws() -> None:
    """No setting that could reach real AWS or defeat moto's mock; any credentials do for moto."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")):
            del os.environ[name]
    os.environ |= {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def _progress(step: str) -> None:
    print(f"bench: {step}...", file=sys.stderr, flush=True)


def main() -> int:
    started = time.perf_counter()
    _without_real_aws()
    # The handlers run in this process too: their log lines are formatted, a cost users pay, but not shown.
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(Path(os.devnull).open("w"))  # noqa: SIM115 - for the life of the process
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        _progress("sam build")
        build, package_rows = package.run(workdir)
        _progress("cold starts")
        with AwsEndpoint() as endpoint:
            rows = cold.run(build, workdir, endpoint.url)
        _progress("warm requests")
        rows += warm.run()
        _progress("logging out everywhere")
        with AwsEndpoint() as endpoint:
            rows += everywhere.run(endpoint.url)
        _progress("the local stack and Express under wrk")
        rows += package_rows + load.run(workdir)
    rows.append(Row("bench run", "s", [time.perf_counter() - started]))
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
