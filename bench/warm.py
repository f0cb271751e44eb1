"""Warm requests in-process: each token route's real handler (`respond`) with moto-backed clients.

Each round times a batch of requests and keeps the mean per request. Validate's baseline is
stock `jwt.decode` of the same token with the same checks, timed in the same rounds; the other
routes' baseline is the time their own AWS calls took inside those very requests (moto answers
them in-process). AWS calls are counted and timed through botocore's event hooks on the clients.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import jwt
from moto import mock_aws

from bench.service import Service, aws_clients, bench_template, cookie_values
from bench.table import Row
from token_service.key_rings import parse_key_ring

ROUNDS = 7
BATCH = {"validate": 1000, "issue": 100, "refresh": 100, "revoke": 100}


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


def _per_request_us(request: Callable[[], object], batch: int) -> float:
    started = time.perf_counter()
    for _ in range(batch):
        request()
    return (time.perf_counter() - started) / batch * 1e6


def _requests(service: Service) -> tuple[dict[str, Callable[[], object]], Callable[[], object]]:
    """One request of each route (refresh presents the token its previous answer rotated in), and
    validate's baseline: stock `jwt.decode` of the same token with the same checks."""
    access, refresh = service.issue()
    events = {"validate": service.event("validate", access), "issue": service.event("issue")}
    events["revoke"] = service.event("revoke", service.issue()[1])
    presented = [refresh]

    def rotate() -> object:
        response = service.respond("refresh", service.event("refresh", presented[0]))
        presented[0] = cookie_values(response["cookies"])["refreshToken"]
        return response

    requests = {name: functools.partial(service.respond, name, event) for name, event in events.items()}
    settings = service.settings
    ring = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]["Value"]
    key = parse_key_ring(ring).verification_key(jwt.get_unverified_header(access)["kid"])
    assert key is not None, "the access ring has no key for the token's kid"
    decode = functools.partial(
        jwt.decode, access, key, algorithms=["HS256"], audience=settings.audience, issuer=settings.issuer
    )
    return requests | {"refresh": rotate}, decode


def run() -> list[Row]:
    with mock_aws():
        ssm, dynamodb = aws_clients()
        service = Service(bench_template(), ssm, dynamodb)
        calls = AwsCalls(ssm, dynamodb)
        requests, decode = _requests(service)
        times: list[Row] = []
        counts: list[Row] = []
        for name, batch in BATCH.items():
            requests[name]()  # first-call costs are the cold start's
            samples, baseline, per_request = [], [], []
            for _ in range(ROUNDS):
                calls.clear()
                samples.append(_per_request_us(requests[name], batch))
                per_request.append(len(calls.names) / batch)
                aws_us = calls.seconds / batch * 1e6
                baseline.append(_per_request_us(decode, batch) if name == "validate" else aws_us)
            base = "jwt.decode" if name == "validate" else "its AWS calls"
            times.append(Row(f"warm {name}: handler.respond", "µs", samples, baseline, base))
            operations = ", ".join(sorted(set(calls.names))) or "none"
            counts.append(Row(f"AWS calls per warm request: {name}", "calls", per_request, note=operations))
    return times + counts
