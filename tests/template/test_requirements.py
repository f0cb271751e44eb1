"""What `sam build` packs (functions/requirements.txt) is uv.lock's, as `make requirements` exports it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
REQUIREMENTS = ROOT / "functions" / "requirements.txt"


def pins(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed: `make env` installs it")
    return found


def exported() -> str:
    arguments = re.search(r"^REQUIREMENTS_EXPORT := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert arguments is not None
    command = [uv(), *shlex.split(arguments.group(1))]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_packed_requirements_are_the_lockfiles() -> None:
    assert pins(REQUIREMENTS.read_text()) == pins(exported())


def test_the_package_leaves_the_runtimes_sdk_and_the_xray_sdk_out() -> None:
    names = {pin.partition("==")[0] for pin in pins(REQUIREMENTS.read_text())}

    assert names >= {"aws-lambda-powertools", "pyjwt"}
    assert not names & {"boto3", "botocore", "s3transfer", "aws-xray-sdk", "wrapt"}
