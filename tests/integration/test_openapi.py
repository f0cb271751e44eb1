"""openapi.yaml against the running stack: every route and status it documents, driven on purpose
and checked against the document, then fuzzed with schemathesis for 5xx and non-conforming answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis import GenerationMode
from schemathesis import checks as schemathesis_checks

from infra.local.deployment import LocalDeployment
from infra.local.provision import create_table
from infra.template import Template
from tests.support.http_client import USER_ID, Answer, HttpClient, claims
from tests.support.openapi import DOCUMENT_PATH, DOCUMENT_URI, document, documented_operations, resolved

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# API Gateway's own answers (the authorizer's 401, 403 and 500) are plain application/json.
GATEWAY_RESPONSES = "#/components/responses/Gateway"
GATEWAY_CONTENT_TYPE = "application/json"
BODY_LIMIT = 16 * 1024
# The one documented status no HTTP request can cause on the local stack: the validate function
# reads only the access key ring, which stays cached (KeyRingsMaxAgeSeconds) once it has been read,
# and touches no table. Its 503 is exercised in-process by tests/functional/test_faults.py.
NOT_DRIVABLE_OVER_HTTP = {("GET", "/tokens/validate", 503)}
# Their 200s set both cookies, or clear them.
TOKEN_ROUTES = ("/tokens", "/tokens/refresh", "/tokens/revoke")
SESSIONS = "/tokens/sessions"
A_SESSION = "/tokens/sessions/{sessionId}"
# Driven by deleting the sessions table under the running stack (test_a_failing_table_is_documented):
# the token routes' 503; behind the authorizer, its 500 for a token it has not answered for yet,
# and the routes' own 503 for one whose answer API Gateway still has cached.
FAILING_TABLE_STATUSES = {
    *(("POST", path, 503) for path in TOKEN_ROUTES),
    *((method, path, status) for method, path in (("GET", SESSIONS), ("DELETE", A_SESSION)) for status in (503, 500)),
}


def documented_statuses() -> set[tuple[str, str, int]]:
    return {
        (method, path, int(status))
        for (method, path), operation in documented_operations().items()
        for status in operation["responses"]
    }


def pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def assert_conforms(method: str, path: str, answer: Answer) -> None:
    """The answer's status is documented for the route, and its content type, body and headers match."""
    responses = documented_operations()[(method, path)]["responses"]
    assert str(answer.status) in responses, f"{method} {path} answered an undocumented {answer.status}"
    response = resolved(responses[str(answer.status)])
    (media_type,) = response["content"]
    content_type = answer.headers["Content-Type"]
    assert content_type.split(";")[0].strip() == media_type
    body: Any = answer.text
    if media_type == "application/json":
        by_gateway = responses[str(answer.status)].get("$ref", "").startswith(GATEWAY_RESPONSES)
        assert content_type == (GATEWAY_CONTENT_TYPE if by_gateway else JSON_CONTENT_TYPE)
        body = json.loads(answer.body)
    schema_pointer = pointer("paths", path, method.lower(), "responses", str(answer.status))
    if "$ref" in responses[str(answer.status)]:
        schema_pointer = responses[str(answer.status)]["$ref"]
    validator(schema_pointer + pointer("content", media_type, "schema")[1:]).validate(body)
    for name, declared in response.get("headers", {}).items():
        header = resolved(declared)
        values = answer.headers.get_all(name) or []
        if header.get("required"):
            assert values, f"{name} is required on {answer.status}"
        for value in values:
            validator_for(header["schema"]).validate(value)


def validator(schema_pointer: str) -> Draft202012Validator:
    return validator_for({"$ref": DOCUMENT_URI + schema_pointer})


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document(), default_specification=DRAFT202012)
    )
    return Draft202012Validator(schema, registry=registry)


# -- the document itself -----------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    validate_openapi(document())
    assert document()["openapi"].startswith("3.1.")


def test_the_document_has_exactly_the_templates_routes() -> None:
    routes = {(route.method, route.path) for route in Template.load().routes()}
    assert set(documented_operations()) == routes


def test_the_driven_cases_cover_every_documented_status() -> None:
    driven = {(case.method, case.path, case.status) for case in CASES}
    driven |= FAILING_TABLE_STATUSES
    assert driven | NOT_DRIVABLE_OVER_HTTP == documented_statuses()
    assert not driven & NOT_DRIVABLE_OVER_HTTP


# -- every route and status, on purpose ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    send: Callable[[Callable[[], HttpClient]], Answer]
    message: str | None = None
    clears_cookies: bool = False  # a 200 beyond the token routes' that clears both cookies

    @property
    def cookies_set(self) -> list[str]:
        touches_cookies = (self.status == 200 and self.path in TOKEN_ROUTES) or self.clears_cookies
        return ["accessToken", "refreshToken"] if touches_cookies else []

    def __str__(self) -> str:
        return self.name


def signed_in(new_client: Callable[[], HttpClient]) -> HttpClient:
    client = new_client()
    assert client.post("/tokens", json_body={"id": USER_ID}).status == 200
    return client


def oversized(field: str) -> bytes:
    return json.dumps({field: "x" * BODY_LIMIT}).encode()


def replayed(path: str) -> Callable[[Callable[[], HttpClient]], Answer]:
    """A refresh token presented to `path` after a refresh rotated it away."""

    def send(new_client: Callable[[], HttpClient]) -> Answer:
        client = signed_in(new_client)
        stale = client.cookie_value("refreshToken")
        assert client.post("/tokens/refresh").status == 200
        return new_client().post(path, json_body={"refreshToken": stale})

    return send


def garbage_cookie(name: str) -> dict[str, str]:
    return {"Cookie": f"{name}=not.a.token"}


def session_id(client: HttpClient) -> str:
    """The id of the session the browser's cookies belong to."""
    sid: str = claims(client.cookie_value("refreshToken"))["sid"]
    return sid


def end(client: HttpClient, session: str) -> Answer:
    return client.request("DELETE", f"{SESSIONS}/{session}")


def end_this_session(client: HttpClient) -> Answer:
    return end(client, session_id(client))


def end_an_ended_session(new_client: Callable[[], HttpClient]) -> Answer:
    """A session its own client logged out of, ended again from another of the user's."""
    ended = signed_in(new_client)
    ended_id = session_id(ended)
    assert end_this_session(ended).status == 200
    return end(signed_in(new_client), ended_id)


def next_page(new_client: Callable[[], HttpClient]) -> Answer:
    """The second page of a user's sessions, one a page: the user has at least two."""
    signed_in(new_client)
    client = signed_in(new_client)
    first = client.get(f"{SESSIONS}?limit=1")
    assert first.status == 200, first.text
    return client.get(f"{SESSIONS}?" + urlencode({"limit": 1, "pageToken": json.loads(first.body)["nextPageToken"]}))


CASES = [
    Case("health", "GET", "/", 200, lambda nb: nb().get("/")),
    Case("issue", "POST", "/tokens", 200, lambda nb: nb().post("/tokens", json_body={"id": USER_ID})),
    Case("issue-no-body", "POST", "/tokens", 400, lambda nb: nb().post("/tokens")),
    Case("issue-malformed", "POST", "/tokens", 400, lambda nb: nb().post("/tokens", body=b"{")),
    Case("issue-not-object", "POST", "/tokens", 400, lambda nb: nb().post("/tokens", json_body=[USER_ID])),
    Case("issue-id-long", "POST", "/tokens", 400, lambda nb: nb().post("/tokens", json_body={"id": "x" * 129})),
    Case("issue-id-control", "POST", "/tokens", 400, lambda nb: nb().post("/tokens", json_body={"id": "a\nb"})),
    Case("issue-too-large", "POST", "/tokens", 413, lambda nb: nb().post("/tokens", body=oversized("id"))),
    Case(
        "validate-cookie",
        "GET",
        "/tokens/validate",
        200,
        lambda nb: signed_in(nb).get("/tokens/validate"),
        f"{USER_ID}의 Payload를 가진 Token이 성공적으로 인증되었습니다.",
    ),
    Case(
        "validate-bearer",
        "GET",
        "/tokens/validate",
        200,
        lambda nb: nb().get(
            "/tokens/validate", headers={"Authorization": "Bearer " + signed_in(nb).cookie_value("accessToken")}
        ),
    ),
    Case("validate-missing", "GET", "/tokens/validate", 400, lambda nb: nb().get("/tokens/validate")),
    Case(
        "validate-invalid",
        "GET",
        "/tokens/validate",
        401,
        lambda nb: nb().get("/tokens/validate", headers=garbage_cookie("accessToken")),
    ),
    Case("refresh-cookie", "POST", "/tokens/refresh", 200, lambda nb: signed_in(nb).post("/tokens/refresh")),
    Case(
        "refresh-body",
        "POST",
        "/tokens/refresh",
        200,
        lambda nb: nb().post("/tokens/refresh", json_body={"refreshToken": signed_in(nb).cookie_value("refreshToken")}),
    ),
    Case("refresh-missing", "POST", "/tokens/refresh", 400, lambda nb: nb().post("/tokens/refresh", json_body={})),
    Case("refresh-not-object", "POST", "/tokens/refresh", 400, lambda nb: nb().post("/tokens/refresh", body=b"1")),
    Case(
        "refresh-invalid",
        "POST",
        "/tokens/refresh",
        401,
        lambda nb: nb().post("/tokens/refresh", headers=garbage_cookie("refreshToken")),
    ),
    Case(
        "refresh-too-large",
        "POST",
        "/tokens/refresh",
        413,
        lambda nb: nb().post("/tokens/refresh", body=oversized("refreshToken")),
    ),
    Case("refresh-replayed", "POST", "/tokens/refresh", 419, replayed("/tokens/refresh")),
    Case(
        "revoke",
        "POST",
        "/tokens/revoke",
        200,
        lambda nb: signed_in(nb).post("/tokens/revoke"),
        "Refresh Token이 정상적으로 폐기되었습니다.",
    ),
    Case(
        "revoke-all",
        "POST",
        "/tokens/revoke",
        200,
        lambda nb: signed_in(nb).post("/tokens/revoke", json_body={"all": True}),
        "모든 기기의 Refresh Token이 정상적으로 폐기되었습니다.",
    ),
    Case("revoke-replayed", "POST", "/tokens/revoke", 419, replayed("/tokens/revoke")),
    Case("revoke-missing", "POST", "/tokens/revoke", 400, lambda nb: nb().post("/tokens/revoke")),
    Case("revoke-not-object", "POST", "/tokens/revoke", 400, lambda nb: nb().post("/tokens/revoke", body=b"[]")),
    Case(
        "revoke-all-not-boolean",
        "POST",
        "/tokens/revoke",
        400,
        lambda nb: signed_in(nb).post("/tokens/revoke", json_body={"all": "yes"}),
    ),
    Case(
        "revoke-invalid",
        "POST",
        "/tokens/revoke",
        401,
        lambda nb: nb().post("/tokens/revoke", headers=garbage_cookie("refreshToken")),
    ),
    Case(
        "revoke-too-large",
        "POST",
        "/tokens/revoke",
        413,
        lambda nb: nb().post("/tokens/revoke", body=oversized("refreshToken")),
    ),
    Case("sessions", "GET", SESSIONS, 200, lambda nb: signed_in(nb).get(SESSIONS), "로그인된 세션 목록입니다."),
    Case("sessions-next-page", "GET", SESSIONS, 200, next_page),
    Case("sessions-limit-zero", "GET", SESSIONS, 400, lambda nb: signed_in(nb).get(f"{SESSIONS}?limit=0")),
    Case("sessions-limit-over", "GET", SESSIONS, 400, lambda nb: signed_in(nb).get(f"{SESSIONS}?limit=51")),
    Case("sessions-page-token", "GET", SESSIONS, 400, lambda nb: signed_in(nb).get(f"{SESSIONS}?pageToken=x.y.z")),
    Case(
        "sessions-query-too-long",
        "GET",
        SESSIONS,
        400,
        lambda nb: signed_in(nb).get(f"{SESSIONS}?pageToken={'x' * 1100}"),
    ),
    Case("sessions-no-cookie", "GET", SESSIONS, 401, lambda nb: nb().get(SESSIONS)),
    Case(
        "sessions-invalid", "GET", SESSIONS, 403, lambda nb: nb().get(SESSIONS, headers=garbage_cookie("accessToken"))
    ),
    Case(
        "end-other-session",
        "DELETE",
        A_SESSION,
        200,
        lambda nb: end(signed_in(nb), session_id(signed_in(nb))),
        "세션이 정상적으로 종료되었습니다.",
    ),
    Case(
        "end-this-session",
        "DELETE",
        A_SESSION,
        200,
        lambda nb: end_this_session(signed_in(nb)),
        "세션이 정상적으로 종료되었습니다.",
        clears_cookies=True,
    ),
    Case("end-unknown-session", "DELETE", A_SESSION, 404, lambda nb: end(signed_in(nb), "A" * 22)),
    Case(
        "end-ended-session",
        "DELETE",
        A_SESSION,
        404,
        end_an_ended_session,
    ),
    Case("end-malformed-id", "DELETE", A_SESSION, 400, lambda nb: end(signed_in(nb), "not-a-session")),
    Case("end-no-cookie", "DELETE", A_SESSION, 401, lambda nb: end(nb(), "A" * 22)),
    Case(
        "end-invalid",
        "DELETE",
        A_SESSION,
        403,
        lambda nb: nb().request("DELETE", f"{SESSIONS}/{'A' * 22}", headers=garbage_cookie("accessToken")),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_documented_answer_is_what_the_stack_answers(case: Case, new_client: Callable[[], HttpClient]) -> None:
    answer = case.send(new_client)
    assert answer.status == case.status, answer.text
    assert_conforms(case.method, case.path, answer)
    if case.message is not None:
        assert json.loads(answer.body)["message"] == case.message
    assert sorted(cookie.split("=", 1)[0] for cookie in answer.set_cookies) == case.cookies_set


def test_a_failing_table_is_documented(stack: LocalDeployment, dynamodb: DynamoDBClient) -> None:
    client = HttpClient(stack.url)
    assert client.post("/tokens", json_body={"id": USER_ID}).status == 200
    refresh_token, session = client.cookie_value("refreshToken"), session_id(client)
    # API Gateway now holds the authorizer's answer for these cookies (AuthorizerCacheSeconds).
    assert client.get(SESSIONS).status == 200
    unanswered = HttpClient(stack.url)
    assert unanswered.post("/tokens", json_body={"id": USER_ID}).status == 200
    dynamodb.delete_table(TableName=stack.table_name)
    try:
        answers = {
            ("POST", "/tokens", 503): HttpClient(stack.url).post("/tokens", json_body={"id": USER_ID}),
            ("POST", "/tokens/refresh", 503): HttpClient(stack.url).post(
                "/tokens/refresh", json_body={"refreshToken": refresh_token}
            ),
            ("POST", "/tokens/revoke", 503): HttpClient(stack.url).post(
                "/tokens/revoke", json_body={"refreshToken": refresh_token}
            ),
            ("GET", SESSIONS, 503): client.get(SESSIONS),
            ("DELETE", A_SESSION, 503): end(client, session),
            # The authorizer cannot check the session: it fails rather than deny.
            ("GET", SESSIONS, 500): unanswered.get(SESSIONS),
            ("DELETE", A_SESSION, 500): end(unanswered, session),
        }
    finally:
        create_table(dynamodb, stack.template, stack.table_name)
    assert set(answers) == FAILING_TABLE_STATUSES
    for (method, path, status), answer in answers.items():
        assert answer.status == status, (method, path, answer.text)
        assert_conforms(method, path, answer)


# -- fuzzing ---------------------------------------------------------------------------------------

CHECKS = [
    schemathesis_checks.not_a_server_error,
    schemathesis_checks.status_code_conformance,
    schemathesis_checks.content_type_conformance,
    schemathesis_checks.response_schema_conformance,
    schemathesis_checks.response_headers_conformance,
]


# The stack's port is known only once it runs, so each call is given its base URL.
schema = schemathesis.openapi.from_path(DOCUMENT_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_answer_violates_the_document(case: schemathesis.Case[Any], stack: LocalDeployment) -> None:
    if case.method.upper() != case.operation.method.upper():
        # Methods a route does not have are the gateway's 404, outside the document.
        return
    case.call_and_validate(base_url=stack.url, checks=CHECKS)
