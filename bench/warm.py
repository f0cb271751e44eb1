"""Warm requests in-process: each function's real handler (`respond`) with moto-backed clients.

Each round times a batch of requests and keeps the mean per request. Validate's baseline is
stock `jwt.decode` of the same token with the same checks, timed in the same rounds; the
authorizer's, in each of its modes, is validate itself; the other routes' baseline is the time
their own AWS calls took inside those very requests (moto answers them in-process). AWS calls
are counted and timed through botocore's event hooks on the clients.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
from moto import mock_aws

from bench.service import (
    AUTHORIZER,
    AUTHORIZER_MODES,
    TOKEN_ONLY_AUTHORIZER,
    Service,
    aws_clients,
    bench_template,
    cookie_values,
)
from bench.table import Row
from token_service.domain.key_rings import parse_key_ring

ROUNDS = 7
BATCH = {
    "validate": 1000,
    AUTHORIZER: 100,
    TOKEN_ONLY_AUTHORIZER: 1000,
    "issue": 100,
    "refresh": 100,
    "revoke": 100,
    "list_sessions": 50,
    "end_session": 50,
}
# A user with a few devices, as an account page lists them.
DEVICES_USER, DEVICES = "64c4devices", 3
type Requests = Callable[[int], list[Callable[[], object]]]  # a round's batch of requests, made ready untimed


class AwsCalls:
    """The operations the clients made and the time spent in them, from botocore's event hooks."""

    def __init__(self, *clients: Any) -> None:
        self.clear()
        for client in clients:
            client.meta.events.register("provide-client-params", self._start)
            client.meta.events.register("after-call", self._end)

    def clear(self) -> None:
        self.names: list[str] = []
        self.seconds = self._started = 0.0

    def _start(self, model: Any, **_: Any) -> None:
        self.names.append(f"{model.service_model.service_name}:{model.name}")
        self._started = time.perf_counter()

    def _end(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started


def _per_request_us(requests: list[Callable[[], object]]) -> float:
    started = time.perf_counter()
    for request in requests:
        request()
    return (time.perf_counter() - started) / len(requests) * 1e6


def _requests(service: Service) -> tuple[dict[str, Requests], Callable[[], object]]:
    """Each function's requests (refresh presents the token its previous answer rotated in; end_session
    ends a new session each time), and validate's baseline: stock `jwt.decode` of the same token with
    the same checks."""
    access, refresh = service.issue()
    events = {name: service.event(name, access) for name in ("validate", *AUTHORIZER_MODES)}
    events |= {"issue": service.event("issue"), "revoke": service.event("revoke", service.issue()[1])}
    devices = [service.issue(DEVICES_USER)[0] for _ in range(DEVICES)]
    events["list_sessions"] = service.event("list_sessions", devices[-1])
    presented = [refresh]

    def rotate() -> object:
        response = service.respond("refresh", service.event("refresh", presented[0]))
        presented[0] = cookie_values(response["cookies"])["refreshToken"]
        return response

    def repeated(request: Callable[[], object]) -> Requests:
        return lambda batch: [request] * batch

    def end_sessions(batch: int) -> list[Callable[[], object]]:
        return [
            functools.partial(service.respond, "end_session", service.fresh_event("end_session")) for _ in range(batch)
        ]

    requests = {name: repeated(functools.partial(service.respond, name, event)) for name, event in events.items()}
    settings = service.settings
    ring = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]["Value"]
    key = parse_key_ring(ring).verification_key(jwt.get_unverified_header(access)["kid"])
    assert key is not None, "the access ring has no key for the token's kid"
    decode = functools.partial(
        jwt.decode, access, key, algorithms=["HS256"], audience=settings.audience, issuer=settings.issuer
    )
    return requests | {"refresh": repeated(rotate), "end_session": end_sessions}, decode


def run() -> Iterator[Row]:
    """Each function's time row and AWS calls row, as its rounds end."""
    with mock_aws():
        ssm, dynamodb = aws_clients()
        service = Service(bench_template(), ssm, dynamodb)
        calls = AwsCalls(ssm, dynamodb)
        requests, decode = _requests(service)
        measured: dict[str, list[float]] = {}
        for name, batch in BATCH.items():
            for request in requests[name](1):
                request()  # first-call costs are the cold start's
            samples, baseline, per_request, aws = [], [], [], []
            for _ in range(ROUNDS):
                ready = requests[name](batch)
                calls.clear()
                samples.append(_per_request_us(ready))
                per_request.append(len(calls.names) / batch)
                aws.append(calls.seconds / batch * 1e6)
                baseline.append(_per_request_us([decode] * batch) if name == "validate" else aws[-1])
            measured[name] = samples
            yield _time_row(name, measured, baseline, aws)
            operations = ", ".join(sorted(set(calls.names))) or "none"
            yield Row(f"AWS calls per warm request: {name}", "calls", per_request, note=operations)


def _time_row(name: str, measured: dict[str, list[float]], baseline: list[float], aws: list[float]) -> Row:
    """The authorizer beside validate (measured before it), its AWS calls' time in the note; the others
    beside their own baseline."""
    measure, samples = f"warm {name}: handler.respond", measured[name]
    if name in AUTHORIZER_MODES:
        note = f"its AWS calls {statistics.median(aws):.0f} µs"
        return Row(measure, "µs", samples, measured["validate"], "validate", note)
    return Row(measure, "µs", samples, baseline, "jwt.decode" if name == "validate" else "its AWS calls")
