"""Logging out everywhere: one request ending every session of a user who has many, against the embedded endpoint.

The endpoint applies one AWS request at a time, as moto must for conditional writes to stay
whole; DynamoDB serves the revocations side by side, so this is an upper bound.
"""

from __future__ import annotations

import json
import time

from bench.service import HEADERS, Service, aws_clients, bench_template, cookie_values
from bench.table import Row
from infra.local.events import http_api_event

SESSIONS = 1000
ROUNDS = 3


def run(endpoint_url: str) -> list[Row]:
    service = Service(bench_template(), *aws_clients(endpoint_url))
    samples = []
    for round_number in range(ROUNDS):
        login = json.dumps({"id": f"everywhere-{round_number}"}).encode()
        for _ in range(SESSIONS):
            issued = service.respond("issue", http_api_event("POST", "/tokens", body=login, headers=HEADERS))
        body = json.dumps({"refreshToken": cookie_values(issued["cookies"])["refreshToken"], "all": True})
        event = http_api_event("POST", "/tokens/revoke", body=body.encode(), headers=HEADERS)
        started = time.perf_counter()
        service.respond("revoke", event)
        samples.append(time.perf_counter() - started)
    measure = f"log out everywhere: {SESSIONS} sessions of one user"
    return [Row(measure, "s", samples, note="embedded endpoint; the function's timeout is 10 s")]
