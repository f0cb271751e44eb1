"""Key rings from SSM through the functions: one batched fetch, the key that signs, and token claims."""

from __future__ import annotations

import json
import time

import jwt

from infra.keys import rings
from tests.support.handler_calls import USER_ID, call
from tests.support.service import Service, build_service
from token_service.config import Settings
from token_service.domain.key_rings import KeyRing, parse_key_ring
from token_service.domain.token_codecs import TokenCodec
from token_service.domain.values import TokenUse
from token_service.handlers import issue, refresh, validate


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
    stored = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]
    assert [header["kid"]] == list(json.loads(stored["Value"])["keys"]), "the ring's one key"
    assert set(claims) == {"id", "sub", "iat", "exp", "jti", "iss", "aud", "token_use", "sid"}
    assert claims["id"] == claims["sub"] == USER_ID
    assert claims["exp"] - claims["iat"] == 600
    stored_session = service.dynamodb.get_item(
        TableName=settings.sessions_table, Key={"sessionId": {"S": claims["sid"]}}
    )
    assert stored_session["Item"]["userId"]["S"] == USER_ID, "the access token names its login session"
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
        assert len(ring.signer(int(time.time()))[1]) >= 32
    access = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]["Value"]
    refresh_ring = service.ssm.get_parameter(Name=settings.refresh_keys_parameter, WithDecryption=True)
    now = int(time.time())
    assert parse_key_ring(access).signer(now) != parse_key_ring(refresh_ring["Parameter"]["Value"]).signer(now)


def test_init_never_overwrites_a_ring(service: Service, settings: Settings) -> None:
    before = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]
    assert rings.init(service.ssm, settings.access_keys_parameter) is False
    after = service.ssm.get_parameter(Name=settings.access_keys_parameter, WithDecryption=True)["Parameter"]
    assert after["Value"] == before["Value"] and after["Version"] == before["Version"]


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
    stranger = KeyRing.single("not-ours", b"k" * 32)
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
