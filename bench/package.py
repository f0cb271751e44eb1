"""The deployment package per function, as `sam build` makes it: the artifact the cold starts run."""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
from pathlib import Path

from bench.table import Row
from infra.template import ROOT

SAM = ROOT / ".tools" / "bin" / "sam"


def run(workdir: Path) -> tuple[Path, list[Row]]:
    """The build directory (one folder per function) and a row per function: its size, unzipped and zipped."""
    build = workdir / "build"
    command = [
        str(SAM),
        "build",
        "--parallel",
        "--parameter-overrides",
        "Architecture=x86_64",
        "--build-dir",
        str(build),
    ]
    finished = subprocess.run(  # noqa: S603 - the project's own SAM CLI
        command, cwd=ROOT, env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, capture_output=True, timeout=300, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"sam build failed: {(finished.stdout + finished.stderr).decode(errors='replace')[-2000:]}")
    rows = []
    for function in sorted(path for path in build.iterdir() if path.is_dir()):
        files = [path for path in function.rglob("*") if path.is_file()]
        zipped = Path(shutil.make_archive(str(workdir / "zips" / function.name), "zip", function))
        bytecode = sum(path.suffix == ".pyc" for path in files)
        note = f"zipped {zipped.stat().st_size / 1e6:.1f} MB; {bytecode} .pyc"
        rows.append(
            Row(f"package {function.name}", "MB", [sum(path.stat().st_size for path in files) / 1e6], note=note)
        )
    return build, rows
