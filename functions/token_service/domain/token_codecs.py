"""Minting and verifying the service's JWTs with pyjwt.

HS256 only, pinned on decode. Access and refresh tokens are signed from separate key rings
and carry a `token_use` claim that is checked, so neither can stand in for the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import jwt

from token_service.domain.errors import InvalidToken, PageTokenInvalid, ServiceError
from token_service.domain.key_rings import KeyRing
from token_service.domain.values import PagePosition, TokenUse, VerifiedToken

ALGORITHM = "HS256"
# Tokens are minted by the same service on NTP-synced hosts: a small skew allowance suffices.
CLOCK_SKEW_SECONDS = 5
# Our tokens are well under 1 KiB; anything far larger is refused before it is parsed.
MAX_TOKEN_LENGTH = 4096
# Compact JWS in unpadded base64url, which is all this service issues: one token, one spelling.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
COMMON_CLAIMS = ("id", "sub", "iat", "exp", "jti", "iss", "aud", "token_use")


# How long a listing's page token may be used after the page it continues.
PAGE_TOKEN_TTL_SECONDS = 900


class TokenCodec:
    """Mints and verifies the tokens of one use (access or refresh)."""

    def __init__(self, use: TokenUse, issuer: str, audience: str) -> None:
        self._use = use
        self._issuer = issuer
        self._audience = audience
        self._required_claims = [*COMMON_CLAIMS, *(["sid"] if use is TokenUse.REFRESH else [])]

    def mint(
        self,
        ring: KeyRing,
        *,
        user_id: str,
        token_id: str,
        issued_at: int,
        expires_at: int,
        session_id: str | None = None,
    ) -> str:
        claims: dict[str, object] = {
            "id": user_id,
            "sub": user_id,
            "iat": issued_at,
            "exp": expires_at,
            "jti": token_id,
            "iss": self._issuer,
            "aud": self._audience,
            "token_use": self._use.value,
        }
        if session_id is not None:
            claims["sid"] = session_id
        kid, secret = ring.signer(issued_at)
        return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})

    def verify(self, token: str, ring_for: Callable[[str], KeyRing]) -> VerifiedToken:
        """The token's claims, checked with the key its `kid` names in `ring_for(kid)`."""
        claims = _decoded(
            token,
            ring_for,
            issuer=self._issuer,
            audience=self._audience,
            required=self._required_claims,
            refused=partial(InvalidToken, self._use),
        )
        return self._checked(claims)

    def _checked(self, claims: dict[str, object]) -> VerifiedToken:
        user_id, token_id, session_id, expires_at = claims["id"], claims["jti"], claims.get("sid"), claims["exp"]
        if claims["token_use"] != self._use.value:
            raise InvalidToken(self._use, "token is of the wrong use")
        if not isinstance(user_id, str) or claims["sub"] != user_id or not isinstance(token_id, str):
            raise InvalidToken(self._use, "token's subject claims are malformed")
        if self._use is TokenUse.REFRESH and not isinstance(session_id, str):
            raise InvalidToken(self._use, "refresh token's session claim is malformed")
        if not isinstance(expires_at, int | float):
            raise InvalidToken(self._use, "token's expiry is malformed")
        return VerifiedToken(
            user_id=user_id,
            token_id=token_id,
            expires_at=int(expires_at),
            session_id=session_id if isinstance(session_id, str) else None,
        )


class PageTokenCodec:
    """A listing's `nextPageToken`: its position, signed with the access ring for the user it was issued to.

    Its own audience keeps it apart from access tokens signed with the same ring: neither passes
    for the other. Anything but an unexpired page token of this user is refused.
    """

    def __init__(self, issuer: str, audience: str) -> None:
        self._issuer = issuer
        self._audience = f"{audience}/pages"

    def mint(self, ring: KeyRing, *, user_id: str, position: PagePosition, issued_at: int) -> str:
        claims = {
            "sub": user_id,
            "after": [position.created_at, position.session_id],
            "iat": issued_at,
            "exp": issued_at + PAGE_TOKEN_TTL_SECONDS,
            "iss": self._issuer,
            "aud": self._audience,
        }
        kid, secret = ring.signer(issued_at)
        return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})

    def read(self, token: str, user_id: str, ring_for: Callable[[str], KeyRing]) -> PagePosition:
        required = ["sub", "after", "iat", "exp", "iss", "aud"]
        claims = _decoded(
            token, ring_for, issuer=self._issuer, audience=self._audience, required=required, refused=PageTokenInvalid
        )
        match claims["sub"], claims["after"]:
            case str(owner), [int(created_at), str(session_id)] if owner == user_id:
                return PagePosition(created_at, session_id)
        raise PageTokenInvalid("page token belongs to another user or is malformed")


def _decoded(
    token: str,
    ring_for: Callable[[str], KeyRing],
    *,
    issuer: str,
    audience: str,
    required: list[str],
    refused: Callable[[str], ServiceError],
) -> dict[str, Any]:
    """The claims of a token of ours, checked with the key its `kid` names; `refused(reason)` otherwise."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise refused("token is too long")
    if not _COMPACT_JWS.fullmatch(token):
        raise refused("token is not a compact JWS in base64url")
    try:
        # The header is read only to choose the key; jwt.decode then checks the whole token.
        kid = jwt.get_unverified_header(token).get("kid")
        key = ring_for(kid).verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise refused("token names no known key")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": required},
        )
    except jwt.PyJWTError as error:
        raise refused(type(error).__name__) from error
    return claims
