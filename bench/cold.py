"""Cold starts: each run is a fresh interpreter that imports one handler and answers its first event.

Each runs `sam build`'s artifact of the function (or, without SAM CLI, the same package built
here) with `-S -s -B` (no site-packages, no bytecode written, as on Lambda's read-only
/var/task) next to boto3 and its dependencies, which the Lambda Python runtime provides already
compiled; then the same artifact with its .pyc removed, which is what SAM's own python builder
ships. SSM and DynamoDB are the local stack's endpoint, or SSM through the parameters extension
stand-in in front of it.
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess  # nosec B404
import sys
import sysconfig
import time
import uuid
from collections.abc import Mapping, Sequence
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
ARTIFACT_PACKAGES = ("jwt", "aws_lambda_powertools", "jmespath")
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


BASELINE = "boto3 baseline"


@dataclass(frozen=True)
class Job:
    """One configuration to cold-start: a function (or the boto3 baseline) in a layout, with extra environment."""

    layout: Layout
    name: str
    extra: Mapping[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.layout.name, self.name, tuple(sorted(self.extra.items()))))


def _runtime(workdir: Path) -> Path:
    """boto3 and its dependencies, with their bytecode, as the Lambda Python runtime provides them.

    They are compiled here first: an installer need not have written their bytecode (uv does
    not), and the children run with -B, so without this every run would compile botocore.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = workdir / "runtime"
    runtime.mkdir()
    for name in (*RUNTIME_PACKAGES, *RUNTIME_MODULES):
        source = site / name
        if source.is_dir():
            compileall.compile_dir(source, quiet=1)
        else:
            compileall.compile_file(source, quiet=1)
        (runtime / name).symlink_to(source)
    return runtime


def _package_like_sam(workdir: Path) -> Path:
    """Without SAM CLI: what functions/Makefile builds, from this environment's packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    artifact = workdir / "artifact"
    artifact.mkdir()
    without_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "functions" / "token_service", artifact / "token_service", ignore=without_bytecode)
    for package in ARTIFACT_PACKAGES:
        shutil.copytree(site / package, artifact / package, ignore=without_bytecode)
    for module in ARTIFACT_MODULES:
        shutil.copy2(site / module, artifact / module)
    compileall.compile_dir(artifact, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return artifact


def package_layouts(workdir: Path, build_dir: Path | None) -> list[Layout]:
    """The package as deployed (with its .pyc), then the same package with its .pyc removed.

    Each goes first on sys.path, before the runtime's boto3, as /var/task comes before the
    runtime's packages on Lambda; `-S -s -B`: no site-packages, no bytecode written.
    """
    runtime = _runtime(workdir)
    functions = [function for function, *_ in FUNCTIONS.values()]
    if build_dir is not None and all((build_dir / function).is_dir() for function in functions):
        built, origin = {function: build_dir / function for function in functions}, "sam build"
    else:
        artifact = _package_like_sam(workdir)
        built, origin = dict.fromkeys(functions, artifact), "copied"
    stripped: dict[str, Path] = {}
    for function, directory in built.items():
        stripped[function] = workdir / "stripped" / function
        if not stripped[function].exists():
            shutil.copytree(directory, stripped[function], ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = (sys.executable, "-S", "-s", "-B")
    environment = {"PYTHONDONTWRITEBYTECODE": "1"}
    return [
        Layout(f"{origin}, .pyc", command, _paths(built, runtime), (str(runtime),), environment),
        Layout(f"{origin}, .pyc removed", command, _paths(stripped, runtime), (str(runtime),), environment),
    ]


def _paths(directories: Mapping[str, Path], runtime: Path) -> dict[str, tuple[str, ...]]:
    return {function: (str(directory), str(runtime)) for function, directory in directories.items()}


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

    def measure(self, jobs: Sequence[Job]) -> dict[Job, Runs]:
        """Each job RUNS times, round-robin, so that a noisy spell of the machine hits all of them alike."""
        results = {job: Runs() for job in jobs}
        for _ in range(RUNS):
            for job in jobs:
                self._once(job, results[job], count=False)
        return results

    def count_calls(self, job: Job, runs: Runs) -> None:
        """One more, untimed run of a function that records the AWS calls it makes."""
        self._once(job, runs, count=True)

    def _once(self, job: Job, runs: Runs, *, count: bool) -> None:
        if job.name == BASELINE:
            result, wall = run_child(job.layout, {"kind": "boto3", "count": False}, self.environments["issue"])
            runs.init_ms.append(result["init_ms"])
            runs.wall_ms.append(wall)
            return
        function, module, *_ = FUNCTIONS[job.name]
        environment = {**self.environments[job.name], "AWS_LAMBDA_FUNCTION_NAME": function, **job.extra}
        spec = {
            "kind": "function",
            "module": module,
            "function": function,
            "event": self._event(job.name),
            "request_id": str(uuid.uuid4()),
            "count": count,
        }
        result, wall = run_child(job.layout, spec, environment)
        runs.statuses.add(int(result["status"]))
        if count:
            runs.calls = list(result["calls"])
            return
        runs.boto3_loaded.add(bool(result["boto3_loaded"]))
        runs.init_ms.append(result["init_ms"])
        runs.import_ms.append(result["import_ms"])
        runs.invoke_ms.append(result["invoke_ms"])
        runs.wall_ms.append(wall)


def _ssm_counter(ssm: Any) -> list[str]:
    calls: list[str] = []
    ssm.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def run(stack: StackProcess, workdir: Path, build_dir: Path | None) -> list[Row]:
    cold = ColdStarts(stack)
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
    )
    extension_calls = _ssm_counter(ssm)
    deployed, stripped = package_layouts(workdir, build_dir)
    with ParametersExtension(ssm, SESSION_TOKEN) as extension:
        through_extension = {
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
        }
        jobs = [Job(layout, name) for layout in (deployed, stripped) for name in (BASELINE, *FUNCTIONS)]
        jobs += [Job(deployed, name, through_extension) for name in FUNCTIONS]
        results = cold.measure(jobs)
        extension_calls_per_start: dict[str, int] = {}
        for job in jobs:
            if job.name != BASELINE and (job.layout is deployed or job.extra):
                extension_calls.clear()
                cold.count_calls(job, results[job])
                extension_calls_per_start[job.name] = len(extension_calls)
    rows = _layout_rows(deployed, results, with_targets=True)
    for name in FUNCTIONS:
        runs = results[Job(deployed, name, through_extension)]
        rows += _extension_rows(deployed, name, runs, results[Job(deployed, BASELINE)], extension_calls_per_start[name])
    return rows + _layout_rows(stripped, results, with_targets=False)


def _layout_rows(layout: Layout, results: Mapping[Job, Runs], *, with_targets: bool) -> list[Row]:
    """Baselines, then each function reading its rings through boto3 (SSM calls counted where targeted)."""
    section = f"cold {layout.name}"
    baseline = results[Job(layout, BASELINE)]
    pass_wall = [_pass_wall(layout) for _ in range(RUNS)]
    rows = [
        Row(section, "baseline: import boto3 + 1 client", "ms", baseline.init_ms),
        Row(section, "baseline: python -c pass (wall)", "ms", pass_wall),
    ]
    for name in FUNCTIONS:
        runs = results[Job(layout, name)]
        target = "max:1.15" if with_targets and name in ("issue", "refresh") else ""
        rows.append(_init_row(section, name, runs, baseline, target))
        if with_targets:
            rows.append(Row(section, f"{name} process wall", "ms", runs.wall_ms, pass_wall, "python -c pass"))
            ssm_calls = [call for call in runs.calls if call.startswith("ssm:")]
            note = ",".join(runs.calls)
            rows.append(
                Row("SSM calls", f"{name} per cold start", "calls", [float(len(ssm_calls))], target="eq:1", note=note)
            )
    return rows


def _extension_rows(layout: Layout, name: str, runs: Runs, baseline: Runs, extension_calls: int) -> list[Row]:
    """The function with the parameters extension: its init, and the SSM calls the extension made for it."""
    target = {"validate": "max:0.5", "issue": "max:1.15", "refresh": "max:1.15"}.get(name, "")
    row = _init_row(f"cold {layout.name}", f"{name}+extension", runs, baseline, target)
    clients = ",".join(runs.calls) or "no AWS SDK call"
    note = f"{row.note}; boto3 loaded: {sorted(runs.boto3_loaded)}; SDK calls: {clients}"
    ssm_row = Row(
        "SSM calls",
        f"{name}+extension per cold start",
        "calls",
        [float(extension_calls)],
        note="the extension's GetParameter, one per ring (it has no batch call)",
    )
    return [Row(**{**_row_fields(row), "note": note}), ssm_row]


def _row_fields(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in Row.__dataclass_fields__}


def _init_row(section: str, name: str, runs: Runs, baseline: Runs, target: str = "") -> Row:
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
