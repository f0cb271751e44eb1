"""`python -m bench`: every measurement, then one table."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench import cold, load, package, warm
from bench.report import Row, render
from bench.stack import StackProcess


def main() -> int:
    started = time.perf_counter()
    rows: list[Row] = []
    print("warm handlers (moto, stubbed)...", file=sys.stderr, flush=True)
    rows += warm.run()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        print("deployment package...", file=sys.stderr, flush=True)
        package_rows, build_dir = package.run(workdir)
        print("local stack, cold starts...", file=sys.stderr, flush=True)
        with StackProcess() as stack:
            rows += cold.run(stack, workdir, build_dir)
            print("load...", file=sys.stderr, flush=True)
            rows += load.run(stack)
        rows += package_rows
    rows.append(Row("bench", "total time", "s", [time.perf_counter() - started]))
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
