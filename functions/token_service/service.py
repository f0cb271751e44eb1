"""The domain: login sessions that hand out access and refresh tokens.

Every key ring is read before anything is written, and tokens are minted before the session
write that makes them valid, so a failing dependency never leaves a stored session without
its tokens or tokens without their session.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from token_service.config import Settings
from token_service.errors import InvalidToken, ReuseDetected, SessionUnknown
from token_service.key_rings import KeyRing, KeyRingStore
from token_service.sessions import ACTIVE, Rotated, Session, SessionStore
from token_service.tokens import TokenCodec, TokenUse

# Control characters, and lone surrogates (JSON can carry them; UTF-8 cannot store them).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Request headers are client-controlled; keep what is stored about them bounded.
MAX_USER_AGENT_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Client:
    """Who asked for a session, as the API saw them; stored for the session's owner to review."""

    ip: str
    user_agent: str

    def reviewable(self) -> Client:
        """As stored: the user agent without control characters, and bounded."""
        return Client(self.ip, CONTROL_CHARACTERS.sub("", self.user_agent)[:MAX_USER_AGENT_LENGTH])


@dataclass(frozen=True, slots=True)
class TokenPair:
    """New tokens; `refresh_token` is None when a refresh within the grace window minted an access token only."""

    user_id: str
    access_token: str
    access_max_age: int
    refresh_token: str | None
    refresh_max_age: int


class LoginSessions:
    """The session routes: both rings and the session table."""

    def __init__(
        self,
        settings: Settings,
        keys: KeyRingStore,
        sessions: SessionStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._sessions = sessions
        self._clock = clock
        self._access = TokenCodec(TokenUse.ACCESS, settings.issuer, settings.audience)
        self._refresh = TokenCodec(TokenUse.REFRESH, settings.issuer, settings.audience)

    def issue(self, user_id: str, client: Client) -> TokenPair:
        now = self._now()
        access_ring, refresh_ring = self._rings()
        client = client.reviewable()
        session = Session(
            session_id=_new_id(),
            user_id=user_id,
            current_token_id=_new_id(),
            status=ACTIVE,
            ip=client.ip,
            user_agent=client.user_agent,
            created_at=now,
            rotated_at=now,
            expires_at=now + self._settings.refresh_token_ttl,
        )
        tokens = self._mint_pair(access_ring, refresh_ring, session, now)
        self._sessions.create(session)
        return tokens

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented refresh token is spent and a new pair is returned.

        A presented token that is not the current one of a live session is either unknown or a
        replay of a rotated token. A replay revokes the whole session (reuse detection), unless
        it is the token rotated away less than `refresh_grace_seconds` ago (concurrent tabs,
        retries): that one gets an access token, and the refresh token stays as it is.
        """
        now = self._now()
        access_ring, refresh_ring = self._rings()
        presented = self._refresh.verify(refresh_ring, refresh_token)
        if presented.session_id is None:
            raise InvalidToken(TokenUse.REFRESH, "refresh token names no session")
        rotation = self._sessions.rotate(presented.session_id, presented.token_id, _new_id(), now)
        if isinstance(rotation, Rotated):
            return self._mint_pair(access_ring, refresh_ring, rotation.session, now)
        stored = rotation.stored
        if stored is None or not stored.is_live(now):
            raise SessionUnknown("the session is unknown, expired or revoked")
        if self._within_grace(stored, presented.token_id, now):
            access_token = self._mint_access(access_ring, stored, now)
            return TokenPair(stored.user_id, access_token, self._settings.access_token_ttl, None, 0)
        self._sessions.revoke(presented.session_id)
        raise ReuseDetected("a rotated refresh token was replayed; the session is revoked")

    def _within_grace(self, stored: Session, presented_token_id: str, now: int) -> bool:
        rotated_away = stored.previous_token_id == presented_token_id
        return rotated_away and now - stored.rotated_at < self._settings.refresh_grace_seconds

    def _mint_pair(self, access_ring: KeyRing, refresh_ring: KeyRing, session: Session, now: int) -> TokenPair:
        refresh_token = self._refresh.mint(
            refresh_ring,
            user_id=session.user_id,
            token_id=session.current_token_id,
            issued_at=now,
            expires_at=session.expires_at,
            session_id=session.session_id,
        )
        access_token = self._mint_access(access_ring, session, now)
        return TokenPair(
            session.user_id, access_token, self._settings.access_token_ttl, refresh_token, session.expires_at - now
        )

    def _mint_access(self, access_ring: KeyRing, session: Session, now: int) -> str:
        expires_at = now + self._settings.access_token_ttl
        return self._access.mint(
            access_ring, user_id=session.user_id, token_id=_new_id(), issued_at=now, expires_at=expires_at
        )

    def _rings(self) -> tuple[KeyRing, KeyRing]:
        return (
            self._keys.ring(self._settings.access_keys_parameter),
            self._keys.ring(self._settings.refresh_keys_parameter),
        )

    def _now(self) -> int:
        return int(self._clock())


class SessionRevocation:
    """POST /tokens/revoke: the refresh ring to check the presented token, and the session table."""

    def __init__(self, settings: Settings, keys: KeyRingStore, sessions: SessionStore) -> None:
        self._ring_name = settings.refresh_keys_parameter
        self._keys = keys
        self._sessions = sessions
        self._refresh = TokenCodec(TokenUse.REFRESH, settings.issuer, settings.audience)

    def revoke(self, refresh_token: str, *, everywhere: bool) -> str:
        """End the token's session, or every session of its user; ending what is gone is no error.

        Returns the user whose sessions ended.
        """
        presented = self._refresh.verify(self._keys.ring(self._ring_name), refresh_token)
        if everywhere:
            self._sessions.revoke_all(presented.user_id)
        elif presented.session_id is not None:
            self._sessions.revoke(presented.session_id)
        return presented.user_id


def _new_id() -> str:
    return secrets.token_urlsafe(16)
