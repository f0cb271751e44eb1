"""Key rings from SSM: one batched fetch, rotation that keeps old tokens valid, and token claims."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from infra import keys as key_commands
from tests.unit.conftest import STAGE, Service, build_service
from tests.unit.http_calls import USER_ID, call
from token_service.config import Settings
from token_service.handlers import issue, refresh, validate
from token_service.key_rings import KeyRing, MalformedKeyRing, parse_key_ring
from token_service.tokens import TokenCodec, TokenUse


def validate_status(service: Service, token: str) -> int:
    return call(validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={token}"]).status


def issued_access_token(service: Service) -> str:
    return call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID}).cookie_value(
        "accessToken"
    )


def test_access_token_carries_every_claim_and_its_kid(service: Service, settings: Settings) -> None:
    token = issued_access_token(service)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})

    assert header["alg"] == "HS256"
    assert (
        header["kid"]
        == json.loads(
            service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]["Value"]
        )["current"]
    )
    assert set(claims) == {"id", "sub", "iat", "exp", "jti", "iss", "aud", "token_use"}
    assert claims["id"] == claims["sub"] == USER_ID
    assert claims["exp"] - claims["iat"] == 600
    assert (claims["iss"], claims["aud"], claims["token_use"]) == (settings.issuer, settings.audience, "access")


def test_refresh_token_names_its_session_and_current_token(service: Service) -> None:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    claims = jwt.decode(answer.cookie_value("refreshToken"), options={"verify_signature": False})
    (item,) = service.dynamodb.scan(TableName="sessions-under-test")["Items"]

    assert claims["token_use"] == "refresh"
    assert claims["sid"] == item["sessionId"]["S"]
    assert claims["jti"] == item["currentTokenId"]["S"]
    assert claims["exp"] == int(item["expiresAt"]["N"])


def test_key_rings_are_stored_as_secure_strings_with_32_byte_keys(service: Service, settings: Settings) -> None:
    for name in (settings.access_keys_parameter, settings.refresh_keys_parameter):
        parameter = service.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert parameter["Type"] == "SecureString"
        ring = parse_key_ring(parameter["Value"])
        assert len(ring.signing_key) >= 32
    access = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]["Value"]
    refresh_ring = service.ssm.get_parameter(Name=settings.refresh_keys_parameter, WithDecryption=True)
    assert parse_key_ring(access).signing_key != parse_key_ring(refresh_ring["Parameter"]["Value"]).signing_key


def test_init_never_overwrites_a_ring(service: Service, settings: Settings) -> None:
    before = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]
    assert key_commands.init(service.ssm, settings.access_keys_parameter) is False
    after = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]
    assert after["Value"] == before["Value"] and after["Version"] == before["Version"]


def test_rotation_keeps_the_previous_key_verifying_and_drops_older_ones(service: Service, settings: Settings) -> None:
    old_token = issued_access_token(service)

    key_commands.main(["rotate", "--stage", STAGE, "--ring", "access"])
    rotated = build_service(settings, service.ssm, service.dynamodb)  # a cold start sees the new ring
    new_token = issued_access_token(rotated)

    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    assert validate_status(rotated, old_token) == 200
    assert validate_status(rotated, new_token) == 200

    key_commands.main(["rotate", "--stage", STAGE, "--ring", "access"])
    twice = build_service(settings, service.ssm, service.dynamodb)
    assert validate_status(twice, old_token) == 401
    assert validate_status(twice, new_token) == 200


def test_warm_functions_pick_up_a_rotation_when_their_cache_expires(service: Service, settings: Settings) -> None:
    warm = build_service(settings, service.ssm, service.dynamodb, max_age=1)
    first_kid = jwt.get_unverified_header(issued_access_token(warm))["kid"]
    key_commands.main(["rotate", "--stage", STAGE, "--ring", "access"])

    assert jwt.get_unverified_header(issued_access_token(warm))["kid"] == first_kid
    time.sleep(1.1)
    assert jwt.get_unverified_header(issued_access_token(warm))["kid"] != first_kid


def test_one_batched_ssm_call_serves_both_rings_until_the_cache_expires(service: Service) -> None:
    calls: list[str] = []
    service.ssm.meta.events.register("before-call.ssm", lambda model, **_: calls.append(model.name))
    fresh = build_service(service.settings, service.ssm, service.dynamodb)

    token = call(issue.handler, fresh.sessions, "POST", "/tokens", json_body={"id": USER_ID}).cookie_value(
        "refreshToken"
    )
    call(refresh.handler, fresh.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={token}"])
    call(issue.handler, fresh.sessions, "POST", "/tokens", json_body={"id": USER_ID})

    assert calls == ["GetParameters"]


def test_a_token_signed_with_an_unknown_kid_is_401(service: Service, settings: Settings) -> None:
    stranger = KeyRing(current_kid="not-ours", keys={"not-ours": b"k" * 32})
    codec = TokenCodec(TokenUse.ACCESS, settings.issuer, settings.audience)
    now = int(time.time())
    token = codec.mint(stranger, user_id=USER_ID, token_id="t", issued_at=now, expires_at=now + 60)
    assert validate_status(service, token) == 401


def test_expired_access_and_refresh_tokens_are_401(service: Service, settings: Settings) -> None:
    past = build_service(settings, service.ssm, service.dynamodb, clock=lambda: time.time() - 90_000)
    answer = call(issue.handler, past.sessions, "POST", "/tokens", json_body={"id": USER_ID})

    assert validate_status(service, answer.cookie_value("accessToken")) == 401
    refreshed = call(
        refresh.handler,
        service.sessions,
        "POST",
        "/tokens/refresh",
        cookies=[f"refreshToken={answer.cookie_value('refreshToken')}"],
    )
    assert refreshed.status == 401


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"current": "a"}',
        '{"current": "a", "keys": {}}',
        '{"current": "a", "keys": {"a": 5}}',
        '{"current": "a", "keys": {"a": "!!!"}}',
        json.dumps({"current": "a", "keys": {"a": base64.urlsafe_b64encode(b"short").decode()}}),
    ],
)
def test_malformed_key_rings_are_refused(raw: str) -> None:
    with pytest.raises(MalformedKeyRing):
        parse_key_ring(raw)


def test_a_ring_survives_its_own_json_round_trip() -> None:
    ring = KeyRing(current_kid="k2", keys={"k2": b"a" * 32, "k1": b"b" * 40})
    assert parse_key_ring(ring.to_json()) == ring


def test_rotating_both_rings_while_tokens_are_in_flight(service: Service, settings: Settings) -> None:
    issued = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    old_access, old_refresh = issued.cookie_value("accessToken"), issued.cookie_value("refreshToken")

    key_commands.main(["rotate", "--stage", STAGE])
    warm = build_service(settings, service.ssm, service.dynamodb)  # the cache has expired

    assert validate_status(warm, old_access) == 200
    rotated = call(refresh.handler, warm.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old_refresh}"])
    assert rotated.status == 200, "a refresh token signed with the previous key still rotates"
    for name, old in (("accessToken", old_access), ("refreshToken", old_refresh)):
        new_kid = jwt.get_unverified_header(rotated.cookie_value(name))["kid"]
        assert new_kid != jwt.get_unverified_header(old)["kid"]
