"""Cold starts: a fresh interpreter imports one function from its `sam build` artifact and answers one event.

Set up as Lambda's: no site-packages, no bytecode written (/var/task is read-only), the artifact
first on sys.path, then boto3 and its dependencies compiled, as the runtime provides them. Each
function with the artifact's .pyc and without, reading its key rings through boto3 and through the
parameters extension's local stand-in, against the embedded AWS endpoint; the baseline imports
boto3 and makes one client. Every configuration starts once per round: a noisy spell hits all alike.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess  # nosec B404
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.service import AUTHORIZER_MODES, REGION, Service, aws_clients, bench_template
from bench.table import Row, progress
from infra.local.parameters_extension import ParametersExtension

ROUNDS = 5
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
SESSION_TOKEN = "bench-session"  # noqa: S105 - what the extension stand-in expects, not a credential
BASELINE = "baseline"
# The token routes and the authorizer in each of its modes; the sessions routes run behind it (warm only).
COLD_STARTS = ("issue", "validate", "refresh", "revoke", *AUTHORIZER_MODES)
AWS_CONFIGURATION_FILES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
# The baseline as a function: its imports, then one client in its first invocation.
BASELINE_MODULE = """import boto3
def handler(event, context):
    boto3.client("ssm")
    return {"statusCode": 200}
"""

CHILD = r"""
import time
started = time.perf_counter()
import json, sys
spec = json.load(sys.stdin)
sys.path[:0] = spec["path"]
calls = []
if spec["count"]:
    import boto3
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "before-call", lambda model, **_: calls.append(model.service_model.service_name + ":" + model.name)
    )
    started = time.perf_counter()
import importlib, types
module, name = spec["handler"].rsplit(".", 1)
handler = getattr(importlib.import_module(module), name)
imported = time.perf_counter()
context = types.SimpleNamespace(
    function_name=spec["function"], function_version="$LATEST", memory_limit_in_mb=512, aws_request_id="bench",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:" + spec["function"],
    get_remaining_time_in_millis=lambda: 10_000,
)
answer = handler(spec["event"], context)
done = time.perf_counter()
# An authorizer's answer is no HTTP response: API Gateway goes on to the route, or answers 403.
status = answer.get("statusCode", 200 if answer.get("isAuthorized") is True else 403)
print("\n" + json.dumps({"import_ms": (imported - started) * 1e3, "total_ms": (done - started) * 1e3,
      "status": status, "calls": calls, "boto3": "boto3" in sys.modules}))
"""


def fresh_interpreter(spec: Mapping[str, Any], environment: Mapping[str, str]) -> dict[str, Any]:
    """CHILD run once in a new interpreter: isolated (-I), without site-packages (-S), writing no bytecode (-B)."""
    finished = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", "-B", "-c", CHILD],
        input=json.dumps(spec).encode(),
        env=dict(environment),
        capture_output=True,
        timeout=60,
        check=False,
    )
    result: dict[str, Any] = json.loads(finished.stdout.splitlines()[-1]) if finished.returncode == 0 else {}
    if result.get("status") != 200:
        output = (finished.stdout + finished.stderr).decode(errors="replace")
        raise RuntimeError(f"cold start of {spec['function']} failed: {output[-2000:]}")
    return result


@dataclass(frozen=True, slots=True)
class Start:
    name: str  # one of COLD_STARTS, or BASELINE
    bytecode: bool = True
    extension: bool = False

    def __str__(self) -> str:
        if self.name == BASELINE:
            return "cold start baseline: import boto3 + 1 client"
        return f"cold start {self.name}: {'.pyc' if self.bytecode else 'no .pyc'}, {self.ssm}"

    @property
    def ssm(self) -> str:
        return "extension" if self.extension else "boto3"


class ColdStarts:
    def __init__(self, build: Path, workdir: Path, endpoint_url: str, extension_port: int) -> None:
        self.service = Service(bench_template(), *aws_clients(endpoint_url))
        self.runtime = _runtime(workdir / "runtime")
        self.artifacts = {True: build, False: workdir / "without-pyc"}
        shutil.copytree(build, self.artifacts[False], ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        lambda_environment = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint_url}
        lambda_environment |= {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        lambda_environment |= {"AWS_SESSION_TOKEN": SESSION_TOKEN}
        # Nothing of this machine's own AWS configuration.
        self.lambda_environment = lambda_environment | dict.fromkeys(AWS_CONFIGURATION_FILES, os.devnull)
        self.extension_port = str(extension_port)

    def run(self, start: Start, *, count: bool = False) -> dict[str, Any]:
        spec: dict[str, Any] = {"path": [str(self.runtime)], "handler": f"{BASELINE}.handler"}
        spec |= {"function": BASELINE, "event": {}, "count": count}
        environment = dict(self.lambda_environment)
        if start.name != BASELINE:
            target = self.service.targets[start.name]
            spec["event"] = self.service.fresh_event(start.name)
            spec |= {"path": [str(self.artifacts[start.bytecode] / target.function), str(self.runtime)]}
            spec |= {"handler": target.handler, "function": target.function}
            environment = self.service.environment(start.name) | environment
            environment["AWS_LAMBDA_FUNCTION_NAME"] = target.function
        if start.extension:
            environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = self.extension_port
        return fresh_interpreter(spec, environment)


def _runtime(directory: Path) -> Path:
    """boto3 and its dependencies compiled, as the runtime ships them (an installer need not have), and the baseline."""
    directory.mkdir()
    (directory / f"{BASELINE}.py").write_text(BASELINE_MODULE, encoding="utf-8")
    site = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME:
        (directory / name).symlink_to(site / name)
        if (site / name).is_dir():
            compileall.compile_dir(site / name, quiet=1)
        else:
            compileall.compile_file(site / name, quiet=1)
    return directory


def run(build: Path, workdir: Path, endpoint_url: str) -> Iterator[Row]:
    """The timing rows once the last round is done, then each configuration's SSM calls as counted."""
    ssm, _ = aws_clients(endpoint_url)
    through_extension: list[str] = []
    ssm.meta.events.register("before-call", lambda model, **_: through_extension.append(f"ssm:{model.name}"))
    with ParametersExtension(ssm, SESSION_TOKEN) as stand_in:
        cold = ColdStarts(build, workdir, endpoint_url, stand_in.port)
        configurations = [(pyc, extension) for pyc in (True, False) for extension in (False, True)]
        starts = [Start(name, *configuration) for name in COLD_STARTS for configuration in configurations]
        yield from _timed(cold, starts)
        for start in (start for start in starts if start.bytecode):
            through_extension.clear()
            calls = cold.run(start, count=True)["calls"] + through_extension
            yield _ssm_calls(start, [call for call in calls if call.startswith("ssm:")])


def _timed(cold: ColdStarts, starts: list[Start]) -> list[Row]:
    """Each start and the baseline once per round, so that a noisy spell hits all alike."""
    baseline: list[float] = []
    results: dict[Start, list[dict[str, Any]]] = {start: [] for start in starts}
    for round_number in range(ROUNDS):
        progress(f"cold starts, round {round_number + 1} of {ROUNDS}")
        baseline.append(cold.run(Start(BASELINE))["total_ms"])
        for start in starts:
            results[start].append(cold.run(start))
    rows = [Row(str(Start(BASELINE)), "ms", baseline)]
    for start, runs in results.items():
        note = f"imports {statistics.median(run['import_ms'] for run in runs):.0f} ms"
        note += "" if runs[0]["boto3"] else "; boto3 never loaded"
        rows.append(Row(str(start), "ms", [run["total_ms"] for run in runs], baseline, "boto3 + client", note))
    return rows


def _ssm_calls(start: Start, calls: list[str]) -> Row:
    note = ", ".join(f"{count} {call}" for call, count in Counter(calls).items())
    return Row(f"SSM calls per cold start: {start.name}, {start.ssm}", "calls", [len(calls)], note=note)
