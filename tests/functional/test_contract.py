"""Every row of the contract table (docs/api.md), through the real handlers on moto."""

from __future__ import annotations

import re

import pytest

from infra.local.events import http_api_event
from tests.support.handler_calls import USER_ID, Answer, call, expected_body
from tests.support.service import TABLE_NAME, Service
from token_service.handlers import health, issue, refresh, validate
from token_service.http_api import messages

JWT = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"


def issue_tokens(service: Service, user_id: str = USER_ID) -> Answer:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": user_id})
    assert answer.status == 200
    return answer


def test_health_answers_hello_token() -> None:
    response = health.handler.respond(http_api_event("GET", "/"), None)
    assert response == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": "Hello Token!",
    }


def test_issue_answers_the_reference_message_with_both_cookies(service: Service) -> None:
    answer = issue_tokens(service)

    assert answer.body == '{"message":"Token이 정상적으로 발급되었습니다."}'
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    assert re.fullmatch(
        f"accessToken={JWT}; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Strict", answer.cookie("accessToken")
    )
    assert re.fullmatch(
        f"refreshToken={JWT}; Path=/tokens; Max-Age=86400; HttpOnly; Secure; SameSite=Strict",
        answer.cookie("refreshToken"),
    )


def test_issue_stores_one_active_session_without_token_material(service: Service) -> None:
    answer = issue_tokens(service)

    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert item["userId"] == {"S": USER_ID}
    assert item["status"] == {"S": "active"}
    assert item["ip"] == {"S": "127.0.0.1"}
    assert item["userAgent"] == {"S": "insomnia/10.2.0"}
    assert int(item["expiresAt"]["N"]) - int(item["createdAt"]["N"]) == 86400
    assert "previousTokenId" not in item
    stored = repr(item)
    for name in ("accessToken", "refreshToken"):
        token = answer.cookie_value(name)
        assert token not in stored and token.split(".")[2] not in stored


def test_issue_stores_the_user_agent_without_control_characters(service: Service) -> None:
    headers = {"user-agent": "evil\x00agent\x1b[31m\nforged: yes\x7f"}
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID}, headers=headers)

    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert (answer.status, item["userAgent"]) == (200, {"S": "evilagent[31mforged: yes"})


def test_validate_without_access_cookie_is_400(service: Service) -> None:
    answer = call(validate.handler, service.validator, "GET", "/tokens/validate")
    assert (answer.status, answer.body) == (400, expected_body("errorMessage", "Access Token이 존재하지 않습니다."))
    assert answer.cookies == []


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 9000])
def test_validate_with_an_invalid_access_token_is_401(service: Service, token: str) -> None:
    answer = call(validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={token}"])
    assert (answer.status, answer.body) == (401, expected_body("errorMessage", "Access Token이 유효하지 않습니다."))


def test_validate_with_the_issued_access_token_names_its_id(service: Service) -> None:
    access = issue_tokens(service).cookie_value("accessToken")

    answer = call(validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={access}"])

    assert answer.status == 200
    assert answer.body == '{"message":"64c47134ad123e335d76fff5의 Payload를 가진 Token이 성공적으로 인증되었습니다."}'


def test_validate_accepts_a_bearer_header(service: Service) -> None:
    access = issue_tokens(service).cookie_value("accessToken")

    answer = call(
        validate.handler, service.validator, "GET", "/tokens/validate", headers={"Authorization": f"Bearer {access}"}
    )

    assert (answer.status, answer.body) == (200, expected_body("message", messages.validated(USER_ID)))


def test_validate_rejects_a_refresh_token_presented_as_access(service: Service) -> None:
    refresh_token = issue_tokens(service).cookie_value("refreshToken")
    answer = call(
        validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={refresh_token}"]
    )
    assert answer.status == 401


def test_validate_rejects_two_different_access_cookies(service: Service) -> None:
    first = issue_tokens(service).cookie_value("accessToken")
    second = issue_tokens(service).cookie_value("accessToken")
    answer = call(
        validate.handler,
        service.validator,
        "GET",
        "/tokens/validate",
        cookies=[f"accessToken={first}", f"accessToken={second}"],
    )
    assert answer.status == 401


def test_refresh_without_refresh_cookie_is_400(service: Service) -> None:
    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh")
    assert (answer.status, answer.body) == (400, expected_body("errorMessage", "Refresh Token이 존재하지 않습니다."))


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_with_an_invalid_refresh_token_is_401(service: Service, token: str) -> None:
    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])
    assert (answer.status, answer.body) == (401, expected_body("errorMessage", "Refresh Token이 유효하지 않습니다."))


def test_refresh_rejects_an_access_token_presented_as_refresh(service: Service) -> None:
    access = issue_tokens(service).cookie_value("accessToken")
    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={access}"])
    assert answer.status == 401


def test_refresh_rotates_both_tokens(service: Service) -> None:
    issued = issue_tokens(service)
    old_refresh = issued.cookie_value("refreshToken")

    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old_refresh}"])

    assert (answer.status, answer.body) == (200, '{"message":"Access Token을 새롭게 발급하였습니다."}')
    assert answer.cookie_value("refreshToken") != old_refresh
    assert answer.cookie_value("accessToken") != issued.cookie_value("accessToken")
    assert re.fullmatch(
        f"accessToken={JWT}; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Strict", answer.cookie("accessToken")
    )
    max_age = int(re.search(r"Max-Age=(\d+)", answer.cookie("refreshToken"))[1])  # type: ignore[index]
    assert 86398 <= max_age <= 86400
    new_access = answer.cookie_value("accessToken")
    validated = call(
        validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={new_access}"]
    )
    assert validated.status == 200


def test_refresh_accepts_the_token_in_a_json_body(service: Service) -> None:
    token = issue_tokens(service).cookie_value("refreshToken")
    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", json_body={"refreshToken": token})
    assert answer.status == 200


def test_refresh_with_a_malformed_body_and_no_cookie_is_400(service: Service) -> None:
    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", body=b"{not json")
    assert (answer.status, answer.body) == (400, expected_body("errorMessage", messages.BODY_NOT_JSON_OBJECT))


def test_reusing_a_rotated_refresh_token_is_419_and_revokes_the_session(service: Service) -> None:
    old = issue_tokens(service).cookie_value("refreshToken")
    rotated = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old}"])
    new = rotated.cookie_value("refreshToken")

    replay = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old}"])

    assert (replay.status, replay.body) == (
        419,
        expected_body("errorMessage", "Refresh Token의 정보가 서버에 존재하지 않습니다."),
    )
    assert replay.cookies == []
    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert item["status"] == {"S": "revoked"}
    # The thief's replay also locks out whoever holds the newest token: the whole family is gone.
    after = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={new}"])
    assert after.status == 419


def test_refresh_of_a_session_past_its_expiry_is_419_even_before_ttl_deletes_it(service: Service) -> None:
    token = issue_tokens(service).cookie_value("refreshToken")
    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    service.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"sessionId": item["sessionId"]},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )

    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])

    assert answer.status == 419
    (after,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert after["status"] == {"S": "active"}, "an expired session is gone, not a reuse to revoke"


def test_refresh_of_an_unknown_session_is_419_and_creates_nothing(service: Service) -> None:
    token = issue_tokens(service).cookie_value("refreshToken")
    (item,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    service.dynamodb.delete_item(TableName=TABLE_NAME, Key={"sessionId": item["sessionId"]})

    answer = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])

    assert answer.status == 419
    assert service.dynamodb.scan(TableName=TABLE_NAME)["Items"] == []


def test_rotation_keeps_the_sessions_absolute_expiry(service: Service) -> None:
    token = issue_tokens(service).cookie_value("refreshToken")
    (before,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]

    rotated = call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])

    (after,) = service.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert rotated.status == 200
    assert after["expiresAt"] == before["expiresAt"]
    assert after["previousTokenId"] == before["currentTokenId"]
    assert after["currentTokenId"] != before["currentTokenId"]
