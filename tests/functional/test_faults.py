"""A failing dependency is a 503 JSON error, nothing is half-written, and the next call recovers."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from infra.local.provision import REGION
from tests.support.handler_calls import FORGED_TOKEN, call, expected_body
from tests.support.service import TABLE_NAME, Service
from token_service import composition
from token_service.composition import Clients
from token_service.config import Settings
from token_service.handlers import issue, refresh, validate
from token_service.http_api import messages

UNAVAILABLE = expected_body("errorMessage", messages.DEPENDENCY_UNAVAILABLE)


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_issue_when_dynamodb_fails_is_503_without_cookies_or_session(service: Service, code: str) -> None:
    with Stubber(service.dynamodb) as dynamodb:
        dynamodb.add_client_error("put_item", service_error_code=code, http_status_code=400)
        answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": "u1"})

    assert (answer.status, answer.body, answer.cookies) == (503, UNAVAILABLE, [])
    assert service.dynamodb.scan(TableName=TABLE_NAME)["Items"] == []
    assert call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": "u1"}).status == 200


def test_refresh_when_dynamodb_fails_is_503_and_the_token_stays_usable(service: Service) -> None:
    token = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": "u1"}).cookie_value(
        "refreshToken"
    )

    with Stubber(service.dynamodb) as dynamodb:
        dynamodb.add_client_error("update_item", service_error_code="ProvisionedThroughputExceededException")
        failed = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])

    assert (failed.status, failed.body, failed.cookies) == (503, UNAVAILABLE, [])
    retried = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])
    assert retried.status == 200


@pytest.mark.parametrize("handler_name", ["issue", "validate"])
def test_ssm_failure_is_503_and_is_not_cached(service: Service, handler_name: str) -> None:
    token = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": "u1"}).cookie_value("accessToken")
    fresh = _fresh_service(service)

    def attempt() -> int:
        if handler_name == "issue":
            return call(issue.handler, fresh.sessions, "POST", "/tokens", json_body={"id": "u2"}).status
        cookies = [f"accessToken={token}"]
        return call(validate.handler, fresh.validator, "GET", "/tokens/validate", cookies=cookies).status

    with Stubber(service.ssm) as ssm:
        ssm.add_client_error("get_parameters", service_error_code="ThrottlingException")
        assert attempt() == 503
    assert attempt() == 200


def test_ssm_unreachable_is_503(settings: Settings) -> None:
    unreachable = boto3.client(
        "ssm",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, retries={"max_attempts": 1}),
    )
    validator = composition.validator(settings, Clients(ssm=unreachable))

    answer = call(validate.handler, validator, "GET", "/tokens/validate", cookies=[f"accessToken={FORGED_TOKEN}"])

    assert (answer.status, answer.body) == (503, UNAVAILABLE)


def test_a_missing_key_ring_is_503(service: Service, settings: Settings) -> None:
    service.ssm.delete_parameter(Name=settings.refresh_keys_parameter)
    fresh = _fresh_service(service)
    answer = call(issue.handler, fresh.sessions, "POST", "/tokens", json_body={"id": "u1"})
    assert (answer.status, answer.cookies) == (503, [])


def _fresh_service(service: Service) -> Service:
    """The same clients with empty key caches: a cold start."""
    from tests.support.service import build_service

    return build_service(service.settings, service.ssm, service.dynamodb)


def test_ssm_failure_when_the_cache_expires_is_503_and_the_next_call_recovers(service: Service) -> None:
    from tests.support.service import build_service

    warm = build_service(service.settings, service.ssm, service.dynamodb, max_age=1)
    assert call(issue.handler, warm.sessions, "POST", "/tokens", json_body={"id": "u1"}).status == 200
    time.sleep(1.1)

    with Stubber(service.ssm) as ssm:
        ssm.add_client_error("get_parameters", service_error_code="InternalServerError", http_status_code=500)
        failed = call(issue.handler, warm.sessions, "POST", "/tokens", json_body={"id": "u2"})

    assert (failed.status, failed.cookies) == (503, [])
    assert len(service.dynamodb.scan(TableName=TABLE_NAME)["Items"]) == 1, "nothing stored for the failed call"
    assert call(issue.handler, warm.sessions, "POST", "/tokens", json_body={"id": "u2"}).status == 200


def test_dynamodb_unreachable_is_503_without_cookies(service: Service, settings: Settings) -> None:
    unreachable = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, retries={"max_attempts": 1}),
    )
    sessions = composition.session_routes(settings, Clients(ssm=service.ssm, dynamodb=unreachable))

    answer = call(issue.handler, sessions, "POST", "/tokens", json_body={"id": "u1"})

    assert (answer.status, answer.body, answer.cookies) == (503, UNAVAILABLE, [])
