"""What the local front does in API Gateway's place: routing, framing, gateway errors, the Lambda context."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.local.authorizers import LambdaAuthorizer
from infra.local.deployment import LocalDeployment
from infra.local.front import LocalApi
from infra.local.functions import Event, Function
from infra.local.responses import Reply, lambda_reply
from tests.support.http_client import USER_ID, HttpClient, message_body

NOT_FOUND = b'{"message":"Not Found"}'
ISSUED = message_body("Token이 정상적으로 발급되었습니다.")


def connection(stack: LocalDeployment) -> http.client.HTTPConnection:
    address = urlsplit(stack.url)
    assert address.hostname is not None
    return http.client.HTTPConnection(address.hostname, address.port, timeout=10)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("DELETE", "/tokens"), ("GET", "/tokens"), ("GET", "/tokens/validate/"), ("HEAD", "/")],
)
def test_an_unknown_route_is_api_gateways_404(client: HttpClient, method: str, path: str) -> None:
    answer = client.request(method, path)
    assert answer.status == 404
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.body == (b"" if method == "HEAD" else NOT_FOUND)


def test_the_routes_and_their_functions_come_from_the_template(stack: LocalDeployment) -> None:
    served = {route: function.handler_path for route, function in stack.api.routes.items()}
    assert served == {(route.method, route.path): route.handler for route in stack.template.routes()}
    health = stack.api.routes[("GET", "/")]
    assert (health.name, health.memory_mb, health.timeout_seconds) == ("HealthFunction", 512, 10)


def test_a_binary_body_reaches_the_handler_base64_encoded(stack: LocalDeployment, client: HttpClient) -> None:
    with stack.captured_events() as events:
        answer = client.post(
            "/tokens", body=json.dumps({"id": USER_ID}).encode(), headers={"Content-Type": "application/octet-stream"}
        )
    assert (answer.status, answer.body) == (200, ISSUED)
    assert events[0]["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(events[0]["body"])) == {"id": USER_ID}


def test_one_connection_carries_many_requests(stack: LocalDeployment) -> None:
    client = connection(stack)
    try:
        for _ in range(3):
            client.request("GET", "/")
            response = client.getresponse()
            assert (response.status, response.read()) == (200, b"Hello Token!")
            assert response.getheader("Connection") is None, "kept alive"
        client.request("GET", "/nowhere")
        assert client.getresponse().read() == NOT_FOUND
    finally:
        client.close()


def test_a_chunked_request_body_is_read_whole(stack: LocalDeployment) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"id": '
        yield json.dumps(USER_ID).encode() + b"}"

    client = connection(stack)
    try:
        client.request(
            "POST", "/tokens", body=chunks(), headers={"Content-Type": "application/json"}, encode_chunked=True
        )
        response = client.getresponse()
        assert (response.status, response.read()) == (200, ISSUED)
    finally:
        client.close()


def test_a_request_over_api_gateways_payload_limit_is_413_unread(stack: LocalDeployment) -> None:
    address = urlsplit(stack.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"POST /tokens HTTP/1.1\r\nHost: local\r\nContent-Length: 10485761\r\n\r\n")
        answer = raw.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.endswith(b'{"message":"Request Entity Too Large"}')


def test_a_chunked_body_over_the_limit_is_413_and_not_kept(stack: LocalDeployment) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    client = connection(stack)
    try:
        client.request("POST", "/tokens", body=chunks(), encode_chunked=True)
        response = client.getresponse()
        assert (response.status, response.read()) == (413, b'{"message":"Request Entity Too Large"}')
    except (BrokenPipeError, ConnectionResetError):
        pass  # the front closed the connection before the client finished sending: also a refusal
    finally:
        client.close()
    assert HttpClient(stack.url).get("/").status == 200


# The translation itself, without sockets


def probe(handler: Any, name: str = "Probe") -> Function:
    return Function(
        name=name, handler_path="probe.handler", handler=handler, memory_mb=256, timeout_seconds=7, region="r"
    )


def front(handler: Any) -> LocalApi:
    return LocalApi({("GET", "/probe"): probe(handler)})


def test_a_handler_gets_a_lambda_context() -> None:
    seen: list[Any] = []

    def record(event: Any, context: Any) -> Any:
        seen.append(context)
        return {"statusCode": 204}

    api = front(record)

    reply = api.respond("GET", "/probe")

    assert reply.status == 204
    (context,) = seen
    assert (context.function_name, context.memory_limit_in_mb) == ("Probe", 256)
    assert context.invoked_function_arn == "arn:aws:lambda:r:123456789012:function:Probe"
    assert context.aws_request_id
    assert 6000 < context.get_remaining_time_in_millis() <= 7000


def test_a_handler_that_raises_is_api_gateways_500() -> None:
    def crash(event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    reply = front(crash).respond("GET", "/probe")
    assert (reply.status, reply.body) == (500, b'{"message":"Internal Server Error"}')


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 200, "body": 5},
        {"statusCode": 99},
        {"statusCode": 200, "headers": {"x-a": "one\ntwo"}},
        {"statusCode": 200, "headers": {"bad name": "v"}},
        {"statusCode": 200, "body": "!", "isBase64Encoded": True},
    ],
)
def test_an_unusable_answer_is_api_gateways_500(result: object) -> None:
    reply = front(lambda event, context: result).respond("GET", "/probe")
    assert (reply.status, reply.body) == (500, b'{"message":"Internal Server Error"}')


def test_an_answer_is_turned_into_http_as_api_gateway_does() -> None:
    reply = lambda_reply(
        {
            "statusCode": 201,
            "headers": {"x-one": 1, "x-flag": True},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    )
    assert reply.status == 201
    assert reply.headers == (("x-one", "1"), ("x-flag", "true"), ("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2"))
    assert reply.body == b"\x00\xff"
    # Payload format 2.0 without a statusCode: a 200 JSON answer.
    inferred = lambda_reply({"hello": "world"})
    assert (inferred.status, inferred.headers, inferred.body) == (
        200,
        (("content-type", "application/json"),),
        b'{"hello": "world"}',
    )


def test_the_outcome_is_read_from_the_functions_request_log_line() -> None:
    def logs(event: Any, context: Any) -> Any:
        print('{"level":"INFO","message":"request","outcome":"issued","status":200}')
        print('{"_aws":{"CloudWatchMetrics":[]},"request":1}')
        return {"statusCode": 200}

    reply = front(logs).respond("GET", "/probe")
    assert reply.outcome == "issued"
    assert reply.output.count("\n") == 2
    assert Reply(200, (), b"", output="not json\n").outcome == "-"


# Path templates and Lambda authorizers, as API Gateway runs them

ITEM = ("GET", "/items/{itemId}")


def echo(event: Event, context: Any) -> Any:
    return {"statusCode": 200, "body": json.dumps(event)}


def test_a_path_template_matches_one_whole_segment_and_names_it() -> None:
    literal = probe(lambda event, context: {"statusCode": 204}, "Literal")
    api = LocalApi({ITEM: probe(echo), ("GET", "/items/new"): literal})

    reply = api.respond("GET", "/items/a%20b")

    event = json.loads(reply.body)
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == ("GET /items/{itemId}", "GET /items/{itemId}")
    assert (event["rawPath"], event["pathParameters"]) == ("/items/a%20b", {"itemId": "a b"})
    assert api.respond("GET", "/items/new").status == 204, "a literal route wins over a template"
    for path in ("/items/", "/items/a/b", "/items"):
        assert api.respond("GET", path).status == 404, path


class Guarded:
    """GET /items/{itemId} behind a Lambda authorizer whose answers come from `answer`; what both were handed."""

    def __init__(
        self, answer: Callable[[Event], Any], identity_headers: tuple[str, ...] = ("authorization",), ttl: int = 10
    ) -> None:
        self.asked: list[Event] = []
        self.served: list[Event] = []

        def authorize(event: Event, context: Any) -> Any:
            self.asked.append(event)
            return answer(event)

        def serve(event: Event, context: Any) -> Any:
            self.served.append(event)
            return {"statusCode": 200, "body": "served"}

        authorizer = LambdaAuthorizer(probe(authorize, "Authorizer"), identity_headers, ttl)
        self.api = LocalApi({ITEM: probe(serve)}, authorizers={ITEM: authorizer})

    def get(self, token: str | None = None) -> Reply:
        return self.api.respond("GET", "/items/i1", headers=[("Authorization", token)] if token is not None else [])


def allow(event: Event) -> Any:
    return {"isAuthorized": True, "context": {"userId": "u1", "sessionId": "s1"}}


def deny(event: Event) -> Any:
    return {"isAuthorized": False}


def test_the_authorizer_runs_first_and_the_function_gets_its_context() -> None:
    guarded = Guarded(allow)

    reply = guarded.get("Bearer t1")

    assert (reply.status, reply.body) == (200, b"served")
    (asked,), (served,) = guarded.asked, guarded.served
    assert (asked["type"], asked["version"], asked["identitySource"]) == ("REQUEST", "2.0", ["Bearer t1"])
    assert asked["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/items/i1"
    assert (asked["routeKey"], asked["pathParameters"]) == ("GET /items/{itemId}", {"itemId": "i1"})
    assert "body" not in asked
    assert served["requestContext"]["authorizer"] == {"lambda": {"userId": "u1", "sessionId": "s1"}}
    assert served["requestContext"]["requestId"] == asked["requestContext"]["requestId"]


@pytest.mark.parametrize("token", [None, ""], ids=["no header", "an empty one"])
def test_without_the_identity_source_it_is_401_and_nothing_runs(token: str | None) -> None:
    guarded = Guarded(allow)
    reply = guarded.get(token)
    assert (reply.status, reply.body) == (401, b'{"message":"Unauthorized"}')
    assert (guarded.asked, guarded.served) == ([], [])


def test_a_denial_is_403_and_the_function_never_runs() -> None:
    guarded = Guarded(deny)
    reply = guarded.get("Bearer t1")
    assert (reply.status, reply.body) == (403, b'{"message":"Forbidden"}')
    assert (len(guarded.asked), guarded.served) == (1, [])


def crash(event: Event) -> Any:
    raise RuntimeError("the table is unreachable")


@pytest.mark.parametrize(
    "answer",
    [crash, lambda event: None, lambda event: {"isAuthorized": "true"}, lambda e: {"isAuthorized": True, "context": 1}],
    ids=["raises", "no answer", "isAuthorized not a boolean", "context not an object"],
)
def test_an_authorizer_that_fails_is_500_and_is_not_cached(answer: Callable[[Event], Any]) -> None:
    guarded = Guarded(answer)
    replies = [guarded.get("Bearer t1") for _ in range(2)]
    assert [(reply.status, reply.body) for reply in replies] == [(500, b'{"message":"Internal Server Error"}')] * 2
    assert (len(guarded.asked), guarded.served) == (2, [])


@pytest.mark.parametrize("answer", [allow, deny])
def test_answers_are_cached_on_the_identity_value_for_the_ttl(answer: Callable[[Event], Any]) -> None:
    guarded = Guarded(answer, ttl=1)

    first, again, other = guarded.get("Bearer t1"), guarded.get("Bearer t1"), guarded.get("Bearer t2")
    time.sleep(1.1)
    expired = guarded.get("Bearer t1")

    assert first.status == again.status == other.status == expired.status
    assert [event["identitySource"] for event in guarded.asked] == [["Bearer t1"], ["Bearer t2"], ["Bearer t1"]]


@pytest.mark.parametrize(("identity_headers", "ttl"), [(("authorization",), 0), ((), 10)], ids=["TTL 0", "no source"])
def test_without_a_ttl_or_an_identity_source_nothing_is_cached(identity_headers: tuple[str, ...], ttl: int) -> None:
    guarded = Guarded(allow, identity_headers, ttl)
    assert [guarded.get("Bearer t1").status for _ in range(2)] == [200, 200]
    assert len(guarded.asked) == 2
    if not identity_headers:  # nothing to require: the authorizer decides even without the header
        assert guarded.get().status == 200
        assert "identitySource" not in guarded.asked[-1]
