"""What only a real network does: answers lost after a write was applied, and dependencies that hang.

The AWS side here is moto's server over real HTTP, so that botocore's own retries run as they
do on Lambda. Each function's clients are built by the service's composition root, with the
service's client configuration, pointed through a proxy or at a socket that never answers.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from moto.server import ThreadedMotoServer

from infra.local.events import http_api_event
from infra.local.provision import REGION, create_key_rings, create_table
from infra.template import Template
from tests.support.handler_calls import FORGED_TOKEN, USER_ID, Answer, call, end_session_call, expected_body
from tests.support.service import STAGE, TABLE_NAME, Service, build_service
from token_service.adapters.aws_clients import CLIENT_CONFIG
from token_service.config import Settings
from token_service.domain.access import Caller
from token_service.handlers import issue, refresh, revoke, validate
from token_service.http_api import messages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

UNAVAILABLE = expected_body("errorMessage", messages.DEPENDENCY_UNAVAILABLE)


class LossyProxy(ThreadingHTTPServer):
    """Forwards AWS requests to `upstream`; the next one of `drop_answer_to` is applied there, its answer lost."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.drop_answer_to: str | None = None
        self.dropped: list[str] = []


class _Forward(BaseHTTPRequestHandler):
    server: LossyProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=10)
        upstream.request("POST", self.path, body, dict(self.headers))
        answer = upstream.getresponse()
        payload = answer.read()
        target = self.headers.get("X-Amz-Target", "")
        if self.server.drop_answer_to and target.endswith("." + self.server.drop_answer_to):
            self.server.drop_answer_to = None
            self.server.dropped.append(target)
            self.close_connection = True  # the write was applied; the caller never hears of it
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in {"connection", "transfer-encoding", "content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        # moto's state is process-wide: what this server held must not leak into other tests.
        reset = http.client.HTTPConnection(host, port, timeout=10)
        reset.request("POST", "/moto-api/reset")
        reset.getresponse().read()
        server.stop()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[LossyProxy]:
    with LossyProxy(moto_url) as running:
        Thread(target=running.serve_forever, daemon=True).start()
        yield running
        running.shutdown()


def client(service: str, address: str) -> Any:
    """A client as the functions make them (the service's configuration, standard retries), at `address`."""
    make: Any = boto3.client
    return make(service, endpoint_url=f"http://{address}", region_name=REGION, config=CLIENT_CONFIG)


@pytest.fixture
def lossy(moto_url: str, proxy: LossyProxy, template: Template, settings: Settings) -> Service:
    """The service on moto's server, its DynamoDB calls through the proxy."""
    direct_dynamodb, ssm = client("dynamodb", moto_url), client("ssm", moto_url)
    create_table(direct_dynamodb, template, TABLE_NAME)
    create_key_rings(ssm, STAGE)
    proxied: DynamoDBClient = client("dynamodb", f"127.0.0.1:{proxy.server_address[1]}")
    service = build_service(settings, ssm, proxied)
    service.dynamodb = direct_dynamodb  # what the table holds, read past the proxy
    return service


def sessions(service: Service) -> list[dict[str, str]]:
    items = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [{name: str(next(iter(value.values()))) for name, value in item.items()} for item in items]


def refreshed(service: Service, answer: Answer) -> Answer:
    cookies = [f"refreshToken={answer.cookie_value('refreshToken')}"]
    return call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=cookies)


def test_an_issue_whose_answer_was_lost_is_a_success_holding_the_one_stored_session(
    lossy: Service, proxy: LossyProxy
) -> None:
    proxy.drop_answer_to = "PutItem"

    issued = call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})

    assert proxy.dropped == ["DynamoDB_20120810.PutItem"]
    assert issued.status == 200
    (stored,) = sessions(lossy)
    assert stored["status"] == "active"
    assert refreshed(lossy, issued).status == 200, "the stored session is the one the client holds"


def test_a_refresh_whose_answer_was_lost_rotates_exactly_once(lossy: Service, proxy: LossyProxy) -> None:
    issued = call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    (before,) = sessions(lossy)
    proxy.drop_answer_to = "UpdateItem"

    rotated = refreshed(lossy, issued)

    assert proxy.dropped == ["DynamoDB_20120810.UpdateItem"]
    assert rotated.status == 200
    (after,) = sessions(lossy)
    assert (after["status"], after["previousTokenId"]) == ("active", before["currentTokenId"])
    assert refreshed(lossy, rotated).status == 200, "the client holds the session's current refresh token"


def test_logging_out_everywhere_whose_answer_was_lost_ends_every_session(lossy: Service, proxy: LossyProxy) -> None:
    phone = call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    proxy.drop_answer_to = "UpdateItem"

    answer = call(
        revoke.handler,
        lossy.revocation,
        "POST",
        "/tokens/revoke",
        json_body={"refreshToken": phone.cookie_value("refreshToken"), "all": True},
    )

    assert (answer.status, proxy.dropped) == (200, ["DynamoDB_20120810.UpdateItem"])
    assert [stored["status"] for stored in sessions(lossy)] == ["revoked", "revoked"]


def test_ending_a_session_whose_answer_was_lost_is_a_success(lossy: Service, proxy: LossyProxy) -> None:
    laptop = call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    phone = call(issue.handler, lossy.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    laptop_session, phone_session = (session_of(answer) for answer in (laptop, phone))
    proxy.drop_answer_to = "UpdateItem"

    answer = end_session_call(lossy.ending, Caller(USER_ID, laptop_session).context(), phone_session)

    assert (answer.status, proxy.dropped) == (200, ["DynamoDB_20120810.UpdateItem"])
    assert {stored["sessionId"]: stored["status"] for stored in sessions(lossy)} == {
        laptop_session: "active",
        phone_session: "revoked",
    }


def session_of(answer: Answer) -> str:
    session_id: str = jwt.decode(answer.cookie_value("accessToken"), options={"verify_signature": False})["sid"]
    return session_id


class Context:
    """Lambda's context as far as the deadline reads it."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections (the kernel completes them) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"127.0.0.1:{listener.getsockname()[1]}"


TIMEOUT_SECONDS = 5.0


@pytest.mark.parametrize("hanging", ["dynamodb", "ssm"])
def test_a_hanging_dependency_ends_in_the_contracts_503_before_the_timeout(
    service: Service, settings: Settings, silent_endpoint: str, hanging: str
) -> None:
    clients = {"dynamodb": service.dynamodb, "ssm": service.ssm, hanging: client(hanging, silent_endpoint)}
    function = build_service(settings, clients["ssm"], clients["dynamodb"])
    event_body = {"id": USER_ID}
    started = time.monotonic()

    response = issue.handler.respond(_event(event_body), function.sessions, Context(TIMEOUT_SECONDS))

    elapsed = time.monotonic() - started
    assert (response["statusCode"], response["body"]) == (503, UNAVAILABLE)
    assert elapsed < TIMEOUT_SECONDS, f"answered after {elapsed:.1f} s"
    assert service.dynamodb.scan(TableName=TABLE_NAME)["Items"] == []


def test_validate_with_a_hanging_ssm_ends_in_503_before_the_timeout(
    service: Service, settings: Settings, silent_endpoint: str
) -> None:
    function = build_service(settings, client("ssm", silent_endpoint), service.dynamodb)
    started = time.monotonic()

    event = http_api_event("GET", "/tokens/validate", cookies=[f"accessToken={FORGED_TOKEN}"])
    response = validate.handler.respond(event, function.validator, Context(4))

    assert (response["statusCode"], response["body"]) == (503, UNAVAILABLE)
    assert time.monotonic() - started < 4


def _event(body: object) -> dict[str, Any]:
    return http_api_event(
        "POST", "/tokens", body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
