"""What the bench needs beyond the project's environment, checked before anything is measured.

Whatever is missing is reported as one line saying what to install, so that a run stops in its
first seconds rather than after minutes of measuring.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess  # nosec B404
from collections.abc import Callable
from pathlib import Path

from bench.package import SAM

REFERENCE = Path(__file__).parent / "reference-express"
NODE = "Node.js {minimum} or later with npm (https://nodejs.org, or the system's nodejs and npm packages)"
WRK = "wrk (apt-get install wrk, brew install wrk, or https://github.com/wg/wrk)"


class Unmet(Exception):
    """A prerequisite the bench cannot run without: its message is the one line that says so."""


def _needs(what: str) -> str:
    return f"make bench needs {what}"


def node_minimum() -> int:
    """The oldest Node.js major the reference app's package.json accepts (its engines field, ">=N")."""
    engines = json.loads((REFERENCE / "package.json").read_text(encoding="utf-8"))["engines"]["node"]
    found = re.search(r"\d+", engines)
    assert found is not None, f"engines.node is no version: {engines}"
    return int(found.group())


def _node() -> str | None:
    minimum = node_minimum()
    node = shutil.which("node")
    if node is None:
        return _needs(NODE.format(minimum=minimum))
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout  # noqa: S603
    major = re.match(r"v(\d+)\.", version.strip())  # `node --version` answers "v20.20.2"
    if major is None or int(major.group(1)) < minimum:
        return _needs(NODE.format(minimum=minimum)) + f"; this node is {version.strip() or 'unknown'}"
    return None


def _npm() -> str | None:
    return None if shutil.which("npm") else _needs(NODE.format(minimum=node_minimum()))


def _wrk() -> str | None:
    return None if shutil.which("wrk") else _needs(WRK)


def _sam() -> str | None:
    # The project's own SAM CLI builds the artifacts the cold starts run; `make bench` installs it.
    return None if SAM.is_file() else _needs(f"the SAM CLI at {SAM}: run `make bench`, which installs it")


CHECKS: tuple[Callable[[], str | None], ...] = (_node, _npm, _wrk, _sam)


def check() -> None:
    """Raises Unmet for the first prerequisite missing."""
    for needed in CHECKS:
        problem = needed()
        if problem is not None:
            raise Unmet(problem)
