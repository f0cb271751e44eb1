"""Cold starts: each run is a fresh interpreter that imports one handler and answers its first event.

Two layouts: the development environment (`.venv`, bytecode cached), and a SAM-like one: the
function code and `requirements.txt`'s packages copied without `__pycache__`, run with `-S -B`
(no site-packages, no bytecode written) next to boto3 and its dependencies, which the Lambda
Python runtime provides already compiled. SSM is the local stack's endpoint, or the parameters
extension stand-in in front of it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess  # nosec B404
import sys
import sysconfig
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.report import Row
from bench.stack import HOST, ROOT, STAGE, StackProcess, issue
from infra.events import http_api_event
from infra.local import LOCAL_PARAMETERS, REGION, sessions_table_name
from infra.parameters_extension import ParametersExtension
from infra.template import Template

RUNS = 5
SESSION_TOKEN = "bench-session-token"  # noqa: S105 - a stand-in's shared secret, not a credential
# What `sam build` installs from functions/requirements.txt (pip's resolution of it).
ARTIFACT_PACKAGES = ("token_service", "jwt", "aws_lambda_powertools", "aws_xray_sdk", "wrapt", "jmespath")
ARTIFACT_MODULES = ("typing_extensions.py",)
# What the Lambda Python runtime provides, with its bytecode.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3")
RUNTIME_MODULES = ("six.py",)
FUNCTIONS = {
    "validate": ("ValidateFunction", "token_service.handlers.validate", "GET", "/tokens/validate"),
    "issue": ("IssueFunction", "token_service.handlers.issue", "POST", "/tokens"),
    "refresh": ("RefreshFunction", "token_service.handlers.refresh", "POST", "/tokens/refresh"),
    "revoke": ("RevokeFunction", "token_service.handlers.revoke", "POST", "/tokens/revoke"),
}

CHILD = r"""
import time
started = time.perf_counter()
import json, os, sys
spec = json.loads(os.environ.pop("BENCH_SPEC"))
sys.path[:0] = spec["path"]
result = {}
calls = []
def count(model, **_):
    calls.append(model.service_model.service_name + ":" + model.name)
if spec["count"]:
    import boto3
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call", count)
    started = time.perf_counter()
if spec["kind"] == "boto3":
    import boto3
    boto3.client("ssm")
    result["init_ms"] = (time.perf_counter() - started) * 1000
elif spec["kind"] == "function":
    import importlib
    from types import SimpleNamespace
    handler = importlib.import_module(spec["module"]).handler
    imported = time.perf_counter()
    context = SimpleNamespace(
        function_name=spec["function"], memory_limit_in_mb=512, aws_request_id=spec["request_id"],
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:" + spec["function"],
    )
    response = handler(spec["event"], context)
    done = time.perf_counter()
    result.update(
        import_ms=(imported - started) * 1000, invoke_ms=(done - imported) * 1000, init_ms=(done - started) * 1000,
        status=response["statusCode"], boto3_loaded="boto3" in sys.modules, calls=calls,
    )
print("BENCHRESULT " + json.dumps(result), flush=True)
"""


@dataclass
class Runs:
    init_ms: list[float] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)
    invoke_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    boto3_loaded: set[bool] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    name: str
    command: tuple[str, ...]
    # sys.path entries put first: for a function (by template name), and for the boto3 baseline.
    function_paths: Mapping[str, tuple[str, ...]]
    baseline_path: tuple[str, ...]
    environment: Mapping[str, str]


def _copy_without_bytecode(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(source, target)


def sam_like_layout(workdir: Path, build_dir: Path | None) -> Layout:
    """`sam build`'s own artifacts where it ran, else code and requirements copied without bytecode.

    Either goes first on sys.path, before the runtime's boto3 and dependencies (with bytecode),
    as /var/task comes before the runtime's packages on Lambda.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = workdir / "runtime"
    runtime.mkdir()
    for name in (*RUNTIME_PACKAGES, *RUNTIME_MODULES):
        (runtime / name).symlink_to(site / name)
    functions = [function for function, *_ in FUNCTIONS.values()]
    if build_dir is not None and all((build_dir / function).is_dir() for function in functions):
        paths = {function: (str(build_dir / function), str(runtime)) for function in functions}
        name = "sam build, no .pyc"
    else:
        artifact = workdir / "artifact"
        artifact.mkdir()
        _copy_without_bytecode(ROOT / "functions" / "token_service", artifact / "token_service")
        for package in (*ARTIFACT_PACKAGES[1:], *ARTIFACT_MODULES):
            _copy_without_bytecode(site / package, artifact / package)
        paths = {function: (str(artifact), str(runtime)) for function in functions}
        name = "copied, no .pyc"
    return Layout(name, (sys.executable, "-S", "-s", "-B"), paths, (str(runtime),), {"PYTHONDONTWRITEBYTECODE": "1"})


def venv_layout() -> Layout:
    return Layout(".venv, .pyc cached", (sys.executable,), {}, (), {})


def _base_environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    environment = {name: os.environ[name] for name in keep if name in os.environ}
    environment |= {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    return environment


def run_child(layout: Layout, spec: dict[str, Any], environment: Mapping[str, str]) -> tuple[dict[str, Any], float]:
    child_environment = {**_base_environment(), **environment, **layout.environment}
    function = spec["kind"] == "function"
    path = layout.function_paths.get(spec["function"], ()) if function else layout.baseline_path
    child_environment["BENCH_SPEC"] = json.dumps({**spec, "path": list(path)})
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603 - our own interpreter and script
        [*layout.command, "-c", CHILD], env=child_environment, capture_output=True, check=False, timeout=60
    )
    wall = (time.perf_counter() - started) * 1000
    for line in finished.stdout.decode(errors="replace").splitlines():
        if line.startswith("BENCHRESULT "):
            return json.loads(line.removeprefix("BENCHRESULT ")), wall
    raise RuntimeError(f"cold-start child failed: {finished.stderr.decode(errors='replace')[-2000:]}")


def _pass_wall(layout: Layout) -> float:
    started = time.perf_counter()
    subprocess.run([*layout.command, "-c", "pass"], check=True, env={**_base_environment(), **layout.environment})  # noqa: S603
    return (time.perf_counter() - started) * 1000


class ColdStarts:
    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack
        template = Template.load(
            parameters={"Stage": STAGE, **LOCAL_PARAMETERS, "LogLevel": "WARNING"},
            resource_names={"SessionsTable": sessions_table_name(STAGE)},
        )
        self.environments = {
            name: {**template.function_environment(function), "AWS_ENDPOINT_URL": stack.aws_endpoint}
            for name, (function, *_) in FUNCTIONS.items()
        }

    def _event(self, name: str) -> dict[str, Any]:
        _, _, method, path = FUNCTIONS[name]
        if name == "issue":
            return http_api_event(
                method, path, body=b'{"id":"64c4bench"}', headers={"content-type": "application/json"}
            )
        access, refresh = issue(self.stack.port)
        cookie = f"accessToken={access}" if name == "validate" else f"refreshToken={refresh}"
        return http_api_event(method, path, cookies=[cookie], headers={"user-agent": "bench/1.0"})

    def function(self, layout: Layout, name: str, extra: Mapping[str, str] | None = None) -> Runs:
        function, module, *_ = FUNCTIONS[name]
        environment = {**self.environments[name], "AWS_LAMBDA_FUNCTION_NAME": function, **(extra or {})}
        runs = Runs()
        for attempt in range(RUNS + 1):
            spec = {
                "kind": "function",
                "module": module,
                "function": function,
                "event": self._event(name),
                "request_id": str(uuid.uuid4()),
                "count": attempt == RUNS,  # one extra run counts AWS calls; it is not timed
            }
            result, wall = run_child(layout, spec, environment)
            runs.statuses.add(int(result["status"]))
            if spec["count"]:
                runs.calls = list(result["calls"])
                continue
            runs.boto3_loaded.add(bool(result["boto3_loaded"]))
            runs.init_ms.append(result["init_ms"])
            runs.import_ms.append(result["import_ms"])
            runs.invoke_ms.append(result["invoke_ms"])
            runs.wall_ms.append(wall)
        return runs

    def boto3_baseline(self, layout: Layout) -> Runs:
        runs = Runs()
        for _ in range(RUNS):
            result, wall = run_child(layout, {"kind": "boto3", "count": False}, self.environments["issue"])
            runs.init_ms.append(result["init_ms"])
            runs.wall_ms.append(wall)
        return runs


def _ssm_counter(ssm: Any) -> list[str]:
    calls: list[str] = []
    ssm.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def _extension_reachable(port: int) -> str:
    """Whether ExtensionParameterSource's default host ('localhost') reaches the 127.0.0.1 stand-in, and how fast."""
    from token_service.keys import ExtensionParameterSource  # noqa: PLC0415

    source = ExtensionParameterSource(port, SESSION_TOKEN)
    started = time.perf_counter()
    try:
        source.fetch([f"/token-service/{STAGE}/access-keys"])
    except Exception as error:
        return f"localhost FAILS: {error!r}"
    return f"localhost→127.0.0.1 ok {(time.perf_counter() - started) * 1000:.1f} ms"


def run(stack: StackProcess, workdir: Path, build_dir: Path | None) -> list[Row]:
    cold = ColdStarts(stack)
    rows: list[Row] = []
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
    )
    extension_calls = _ssm_counter(ssm)
    with ParametersExtension(ssm, SESSION_TOKEN) as extension:
        reachable = _extension_reachable(extension.port)
        extension_environment = {
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
        }
        for layout in (venv_layout(), sam_like_layout(workdir, build_dir)):
            boto3_runs = cold.boto3_baseline(layout)
            pass_wall = [_pass_wall(layout) for _ in range(RUNS)]
            section = f"cold {layout.name}"
            rows.append(Row(section, "baseline: import boto3 + 1 client", "ms", boto3_runs.init_ms))
            rows.append(Row(section, "baseline: python -c pass (wall)", "ms", pass_wall))
            for name in FUNCTIONS:
                runs = cold.function(layout, name)
                rows.append(_init_row(section, name, runs, boto3_runs))
                rows.append(Row(section, f"{name} process wall", "ms", runs.wall_ms, pass_wall, "python -c pass"))
                if layout.name.startswith(".venv"):
                    ssm_calls = [call for call in runs.calls if call.startswith("ssm:")]
                    rows.append(
                        Row(
                            "SSM calls",
                            f"{name} per cold start",
                            "calls",
                            [float(len(ssm_calls))],
                            target="eq:1",
                            note=",".join(runs.calls),
                        )
                    )
            extension_calls.clear()
            runs = cold.function(layout, "validate", extension_environment)
            per_start = len(extension_calls) / (RUNS + 1)
            row = _init_row(section, "validate+extension", runs, boto3_runs, target="max:0.5")
            note = f"boto3 loaded: {sorted(runs.boto3_loaded)}; {per_start:g} GetParameter/start; {reachable}"
            rows.append(Row(**{**_row_fields(row), "note": note}))
    return rows


def _row_fields(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in Row.__dataclass_fields__}


def _init_row(section: str, name: str, runs: Runs, baseline: Runs, target: str = "") -> Row:
    if not target and name in ("issue", "refresh"):
        target = "max:1.15"
    split = f"import {statistics.median(runs.import_ms):.0f} + 1st call {statistics.median(runs.invoke_ms):.0f}"
    statuses = ",".join(str(status) for status in sorted(runs.statuses))
    return Row(
        section,
        f"{name} init (import+1st call)",
        "ms",
        runs.init_ms,
        baseline.init_ms,
        "boto3+client",
        target=target,
        note=f"{split}; status {statuses}",
    )


__all__ = ["HOST", "run"]
