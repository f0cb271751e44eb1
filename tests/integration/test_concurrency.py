"""Many clients at once: no request fails, and every session issued is stored as the clients last saw it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from infra.local.deployment import LocalDeployment
from tests.support.http_client import HttpClient, claims
from tests.support.stack_fixtures import dynamodb_of, scan_sessions

CLIENTS = 16
REQUESTS_PER_CLIENT = 50
# One login, then validate and refresh in turn: five requests per chain.
CHAIN = ("issue", "validate", "refresh", "validate", "refresh")
EXPECTED_STATUS = 200


def run_client(stack: LocalDeployment, number: int, start: threading.Barrier) -> tuple[dict[str, str], list[str]]:
    """Chains of issue/validate/refresh; returns each session's last refresh-token id and any failures."""
    user_id = f"user-{number:02d}"
    sessions: dict[str, str] = {}
    failures: list[str] = []
    client = HttpClient(stack.url, user_agent=f"load/{number}")
    start.wait()
    for step in range(REQUESTS_PER_CLIENT):
        action = CHAIN[step % len(CHAIN)]
        if action == "issue":
            client = HttpClient(stack.url, user_agent=f"load/{number}")
            answer = client.post("/tokens", json_body={"id": user_id})
        elif action == "validate":
            answer = client.get("/tokens/validate")
        else:
            answer = client.post("/tokens/refresh")
        if answer.status != EXPECTED_STATUS:
            failures.append(f"client {number} step {step} {action}: {answer.status} {answer.text}")
            continue
        if action != "validate":
            refresh = claims(client.cookie_value("refreshToken"))
            sessions[refresh["sid"]] = refresh["jti"]
    return sessions, failures


def test_sixteen_clients_at_once(stack: LocalDeployment) -> None:
    start = threading.Barrier(CLIENTS)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda number: run_client(stack, number, start), range(CLIENTS)))
    elapsed = time.perf_counter() - began

    failures = [failure for _, client_failures in results for failure in client_failures]
    assert failures == []
    issued = {sid: jti for sessions, _ in results for sid, jti in sessions.items()}
    assert len(issued) == CLIENTS * REQUESTS_PER_CLIENT // len(CHAIN)
    stored = scan_sessions(dynamodb_of(stack), stack.table_name)
    missing = sorted(set(issued) - set(stored))
    assert missing == []
    for session_id, last_token_id in issued.items():
        item = stored[session_id]
        assert (item["status"], item["currentTokenId"]) == ("active", last_token_id)
    print(f"{CLIENTS * REQUESTS_PER_CLIENT} requests from {CLIENTS} clients in {elapsed:.2f} s")


def test_concurrent_refreshes_with_one_token_rotate_it_once_and_revoke_the_session(stack: LocalDeployment) -> None:
    """Two tabs, a retry, or a thief: with the default grace window of 0 only one request can win."""
    first = HttpClient(stack.url)
    first.post("/tokens", json_body={"id": "racer"})
    token = first.cookie_value("refreshToken")
    start = threading.Barrier(12)

    def race(_: int) -> tuple[int, bool]:
        racer = HttpClient(stack.url)
        start.wait()
        answer = racer.post("/tokens/refresh", json_body={"refreshToken": token})
        return answer.status, any(cookie.startswith("refreshToken=") for cookie in answer.set_cookies)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(race, range(12)))

    assert sorted(results) == [(200, True)] + [(419, False)] * 11
    session_id = claims(token)["sid"]
    assert scan_sessions(dynamodb_of(stack), stack.table_name)[session_id]["status"] == "revoked"
