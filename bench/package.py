"""The deployment package: `sam build` artifact size per function, and whether it ships bytecode."""

from __future__ import annotations

import os
import subprocess  # nosec B404
import time
from pathlib import Path

from bench.report import Row
from bench.stack import ROOT

SAM = ROOT / ".tools" / "bin" / "sam"


def _size_mb(directory: Path) -> float:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file()) / 1e6


def run(workdir: Path) -> tuple[list[Row], Path | None]:
    """The rows, and the build directory (under `workdir`) for the cold starts, if SAM CLI is here."""
    if not SAM.exists():
        return [Row("package", "sam build", "", [], note="skipped (no SAM CLI)")], None
    rows: list[Row] = []
    build = workdir / "build"
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - the project's own SAM CLI
        [str(SAM), "build", "--parameter-overrides", "Architecture=x86_64", "--build-dir", str(build)],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        check=True,
        capture_output=True,
        timeout=240,
    )
    elapsed = time.perf_counter() - started
    for function in sorted(path for path in build.iterdir() if path.is_dir()):
        pyc = sum(1 for _ in function.rglob("*.pyc"))
        top = sorted(path.name for path in function.iterdir() if path.is_dir() and "." not in path.name)
        note = f"{pyc} .pyc files; ships {', '.join(top)}"
        rows.append(Row("package", f"{function.name} artifact", "MB", [_size_mb(function)], note=note))
    rows.append(Row("package", "sam build time", "s", [elapsed]))
    return rows, build
