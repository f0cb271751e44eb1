"""Minting and verifying the service's JWTs with pyjwt.

HS256 only, pinned on decode. Access and refresh tokens are signed from separate key rings
and carry a `token_use` claim that is checked, so neither can stand in for the other.

pyjwt runs every check here, with two of its per-token costs moved (measured: `jwt.decode`
≈ 26 µs, of which HMAC is ≈ 1.5 µs):
- it checks each segment's base64url alphabet byte by byte in Python (≈ 10 µs a token);
  `_ServiceJWS` makes the same check with one regular expression, then decodes as pyjwt does;
- it checks an HMAC key for PEM, SSH, DER and JWK shapes on every call (≈ 4 µs);
  `_HS256` makes that check once per key.
`tests/unit/test_pyjwt_equivalence.py` holds both to pyjwt's own answers.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import jwt
from jwt.algorithms import HMACAlgorithm

from token_service.errors import InvalidToken
from token_service.keys import KeyRing

ALGORITHM = "HS256"
# Tokens are minted by the same service on NTP-synced hosts: a small skew allowance suffices.
CLOCK_SKEW_SECONDS = 5
# Our tokens are well under 1 KiB; anything far larger is rejected before it is parsed.
MAX_TOKEN_LENGTH = 4096
# Compact JWS in canonical base64url, which is all this service issues: no padding, no other
# alphabet, nothing non-ASCII (which pyjwt would fail to encode), so one token has one spelling.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
COMMON_CLAIMS = ("id", "sub", "iat", "exp", "jti", "iss", "aud", "token_use")
_BASE64URL_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")
# Keys are prepared once each; a ring holds a few, and rotations add one at a time.
_PREPARED_KEYS = 32


class _HS256(HMACAlgorithm):
    """pyjwt's HS256, whose key checks run once per key rather than once per token."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._prepare_once = lru_cache(maxsize=_PREPARED_KEYS)(super().prepare_key)

    def prepare_key(self, key: str | bytes) -> bytes:
        # A key that fails pyjwt's checks raises each time: lru_cache keeps only answers.
        return self._prepare_once(key)


class _ServiceJWS(jwt.PyJWS):
    """pyjwt's JWS with HS256 alone, and its segment decoding with the alphabet checked in C."""

    def __init__(self) -> None:
        super().__init__(algorithms=[])
        self.register_algorithm(ALGORITHM, _HS256())

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        if len(segment) % 4 == 1 or _BASE64URL_SEGMENT.fullmatch(segment) is None:
            # Padding, a wrong length or a foreign byte: pyjwt's own answer, and its own error.
            return jwt.PyJWS._decode_base64url_segment(segment, name)
        decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
        # As pyjwt does: one token, one spelling (no stray bits in the last character).
        if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


class ServiceJWT(jwt.PyJWT):
    """pyjwt's JWT on `_ServiceJWS`, requiring the given claims.

    `_jws` and `_decode_base64url_segment` are pyjwt's internals, and requirements.txt pins
    pyjwt: an upgrade that moves them would lose the speed (`make bench` shows it), never a
    check, since pyjwt's own code would run again.
    """

    def __init__(self, required_claims: tuple[str, ...]) -> None:
        super().__init__(options={"require": list(required_claims)})
        self._jws = _ServiceJWS()


class TokenUse(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    user_id: str
    token_id: str
    expires_at: int
    session_id: str | None = None


class TokenCodec:
    """Mints and verifies the tokens of one use (access or refresh)."""

    def __init__(self, use: TokenUse, issuer: str, audience: str) -> None:
        self._use = use
        self._issuer = issuer
        self._audience = audience
        self._jwt = ServiceJWT(COMMON_CLAIMS + (("sid",) if use is TokenUse.REFRESH else ()))

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
        return self._jwt.encode(claims, ring.signing_key, algorithm=ALGORITHM, headers={"kid": ring.current_kid})

    def verify(self, ring: KeyRing, token: str) -> VerifiedToken:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token is too long")
        if not _COMPACT_JWS.fullmatch(token):
            raise InvalidToken("token is not a compact JWS in base64url")
        key = ring.verification_key(_kid(token.partition(".")[0]))
        if key is None:
            raise InvalidToken("token names no known key")
        try:
            claims = self._jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from error
        return self._checked(claims)

    def _checked(self, claims: dict[str, object]) -> VerifiedToken:
        user_id, token_id, session_id = claims["id"], claims["jti"], claims.get("sid")
        if claims["token_use"] != self._use.value:
            raise InvalidToken("token is of the wrong use")
        if not isinstance(user_id, str) or claims["sub"] != user_id or not isinstance(token_id, str):
            raise InvalidToken("token's subject claims are malformed")
        if self._use is TokenUse.REFRESH and not isinstance(session_id, str):
            raise InvalidToken("refresh token's session claim is malformed")
        expires_at = claims["exp"]
        if not isinstance(expires_at, int | float):
            raise InvalidToken("token's expiry is malformed")
        return VerifiedToken(
            user_id=user_id,
            token_id=token_id,
            expires_at=int(expires_at),
            session_id=session_id if isinstance(session_id, str) else None,
        )


@lru_cache(maxsize=64)
def _kid(header_segment: str) -> str:
    """The `kid` a token's header names, only to choose the key: pyjwt then checks the whole token.

    All tokens signed with one key share one header, so this is parsed once per key, not per
    request (pyjwt's own header parse decodes and checks all three segments again).
    """
    try:
        header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    except ValueError:
        return ""
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else ""
