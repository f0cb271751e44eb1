"""Tokens for the tests: issued through the API, or minted with the stack's own rings so that they
differ from what the service issues in one respect only."""

from __future__ import annotations

import time
from collections.abc import Callable

import boto3

from infra.local.deployment import LocalDeployment
from infra.local.provision import REGION
from tests.support.http_client import USER_ID, HttpClient, claims
from token_service.domain.key_rings import KeyRing, parse_key_ring
from token_service.domain.token_codecs import TokenCodec
from token_service.domain.values import TokenUse


def key_ring(stack: LocalDeployment, ring: str) -> KeyRing:
    """A ring as the stack's SSM holds it, to sign tokens the service would accept but for one claim."""
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = stack.template.function_environment("IssueFunction")[f"{ring.upper()}_KEYS_PARAMETER"]
    return parse_key_ring(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def codec(stack: LocalDeployment, use: TokenUse) -> TokenCodec:
    environment = stack.template.function_environment("IssueFunction")
    return TokenCodec(use, environment["TOKEN_ISSUER"], environment["TOKEN_AUDIENCE"])


def issued(new_client: Callable[[], HttpClient], user_id: str = USER_ID) -> HttpClient:
    """A client holding both cookies of a new session of `user_id`."""
    client = new_client()
    assert client.post("/tokens", json_body={"id": user_id}).status == 200
    return client


def refused_access_tokens(stack: LocalDeployment, new_client: Callable[[], HttpClient]) -> dict[str, str]:
    """Access tokens the service must refuse, each of a live session of USER_ID: expired, signed with
    a key that is not the stack's, or a refresh token presented as an access token."""
    holder = issued(new_client)
    session_id = claims(holder.cookie_value("refreshToken"))["sid"]
    now = int(time.time())

    def minted(ring: KeyRing, issued_at: int, expires_at: int) -> str:
        return codec(stack, TokenUse.ACCESS).mint(
            ring, user_id=USER_ID, token_id="t", issued_at=issued_at, expires_at=expires_at, session_id=session_id
        )

    return {
        "expired": minted(key_ring(stack, "access"), now - 700, now - 100),
        "foreign key": minted(KeyRing.single("someone-elses", b"k" * 32), now, now + 600),
        "refresh token": holder.cookie_value("refreshToken"),
    }
