"""Access tokens: validating one (stateless, the access ring only), the Lambda authorizer's decision,
and who a protected route's request comes from.

The authorizer verifies an access token exactly as `GET /tokens/validate` does, and it must name
its session; with the template's `AuthorizerChecksSession`, that session must also still be
live, so logging out closes protected routes before the access token expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from token_service.config import Settings, TokenSource
from token_service.domain.errors import InvalidToken, SessionUnknown
from token_service.domain.key_rings import KeyRingStore
from token_service.domain.ports import SessionStore
from token_service.domain.token_codecs import TokenCodec
from token_service.domain.values import TokenUse, VerifiedToken


class AccessValidator:
    """GET /tokens/validate: the access ring only, no table."""

    def __init__(self, settings: Settings, keys: KeyRingStore) -> None:
        self._ring_name = settings.access_keys_parameter
        self._keys = keys
        self._codec = TokenCodec(TokenUse.ACCESS, settings.issuer, settings.audience)

    def validate(self, access_token: str) -> VerifiedToken:
        return self._codec.verify(access_token, lambda kid: self._keys.ring(self._ring_name, kid))


@dataclass(frozen=True, slots=True)
class Caller:
    """The user and the login session behind a request the authorizer let through."""

    user_id: str
    session_id: str

    def context(self) -> dict[str, str]:
        """The authorizer's context, which API Gateway hands to the route's function."""
        return {"userId": self.user_id, "sessionId": self.session_id}

    @classmethod
    def from_context(cls, context: Mapping[str, object] | None) -> Caller:
        """The caller a route's event names; a route reached without the authorizer is refused."""
        user_id, session_id = (context or {}).get("userId"), (context or {}).get("sessionId")
        if not isinstance(user_id, str) or not isinstance(session_id, str):
            raise InvalidToken(TokenUse.ACCESS, "the request carries no authorizer context")
        return cls(user_id, session_id)


class Authorizer:
    def __init__(
        self,
        validator: AccessValidator,
        sessions: SessionStore | None,
        token_source: TokenSource,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`sessions`: where to check that the token's session is live; None trusts the token alone.
        `token_source`: where requests present the token (see `http_api.cookies.presented_access_token`)."""
        self.token_source = token_source
        self._validator = validator
        self._sessions = sessions
        self._clock = clock

    def authorize(self, access_token: str) -> Caller:
        verified = self._validator.validate(access_token)
        if verified.session_id is None:
            raise InvalidToken(TokenUse.ACCESS, "access token names no session")
        if self._sessions is not None:
            stored = self._sessions.get(verified.session_id)
            if stored is None or stored.user_id != verified.user_id or not stored.is_live(int(self._clock())):
                raise SessionUnknown("the access token's session is unknown, expired or revoked")
        return Caller(verified.user_id, verified.session_id)
