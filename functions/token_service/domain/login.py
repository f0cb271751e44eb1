"""Logging in, refreshing and logging out: login sessions that hand out access and refresh tokens.

Every key ring is read before anything is written, and tokens are minted before the session
write that makes them valid, so a failing dependency never leaves a stored session without
its tokens or tokens without their session.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from token_service.config import Settings
from token_service.domain.errors import DependencyUnavailable, InvalidToken, ReuseDetected, SessionUnknown
from token_service.domain.key_rings import KeyRing, KeyRingStore
from token_service.domain.ports import SessionStore
from token_service.domain.token_codecs import TokenCodec
from token_service.domain.values import (
    ACTIVE,
    Client,
    Refused,
    Session,
    TokenPair,
    TokenUse,
    WriteResult,
    Written,
    new_id,
)


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
            session_id=new_id(),
            user_id=user_id,
            current_token_id=new_id(),
            status=ACTIVE,
            ip=client.ip,
            user_agent=client.user_agent,
            created_at=now,
            rotated_at=now,
            expires_at=now + self._settings.refresh_token_ttl,
        )
        tokens = self._mint_pair(access_ring, refresh_ring, session, now)
        created = self._sessions.create(session)
        # A refusal holding this very session is the SDK's retry of a write that was applied.
        if isinstance(created, Refused) and created.stored != session:
            raise DependencyUnavailable("a new session id was already taken")
        return tokens

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented refresh token is spent and a new pair is returned.

        A presented token that is not the current one of a live session is either unknown or a
        replay of a rotated token. A replay revokes the whole session (reuse detection), unless
        it is the token rotated away less than `refresh_grace_seconds` ago (concurrent tabs,
        retries): that one gets the session's current refresh token, so its holder carries on.
        """
        now = self._now()
        refresh_ring_name = self._settings.refresh_keys_parameter
        presented = self._refresh.verify(refresh_token, lambda kid: self._keys.ring(refresh_ring_name, kid))
        access_ring, refresh_ring = self._rings()
        if presented.session_id is None:
            raise InvalidToken(TokenUse.REFRESH, "refresh token names no session")
        new_token_id = new_id()
        rotation = self._sessions.rotate(presented.session_id, presented.token_id, new_token_id, now)
        session, within_grace = self._rotated_session(rotation, presented.token_id, new_token_id, now)
        return self._mint_pair(access_ring, refresh_ring, session, now, within_grace=within_grace)

    def _rotated_session(
        self, rotation: WriteResult, presented_token_id: str, new_token_id: str, now: int
    ) -> tuple[Session, bool]:
        """The session to mint from, and whether the grace window let the presented token through."""
        if isinstance(rotation, Written):
            return rotation.session, False
        stored = rotation.stored
        if stored is not None and stored.current_token_id == new_token_id:
            return stored, False  # the SDK's retry of this very rotation, which was applied
        if stored is None or not stored.is_live(now):
            raise SessionUnknown("the session is unknown, expired or revoked")
        if self._within_grace(stored, presented_token_id, now):
            return stored, True
        self._sessions.revoke(stored.session_id)
        raise ReuseDetected("a rotated refresh token was replayed; the session is revoked")

    def _within_grace(self, stored: Session, presented_token_id: str, now: int) -> bool:
        rotated_away = stored.previous_token_id == presented_token_id
        return rotated_away and now - stored.rotated_at < self._settings.refresh_grace_seconds

    def _mint_pair(
        self, access_ring: KeyRing, refresh_ring: KeyRing, session: Session, now: int, *, within_grace: bool = False
    ) -> TokenPair:
        refresh_token = self._refresh.mint(
            refresh_ring,
            user_id=session.user_id,
            token_id=session.current_token_id,
            issued_at=now,
            expires_at=session.expires_at,
            session_id=session.session_id,
        )
        access_token = self._access.mint(
            access_ring,
            user_id=session.user_id,
            token_id=new_id(),
            issued_at=now,
            expires_at=now + self._settings.access_token_ttl,
            session_id=session.session_id,
        )
        return TokenPair(
            user_id=session.user_id,
            access_token=access_token,
            access_max_age=self._settings.access_token_ttl,
            refresh_token=refresh_token,
            refresh_max_age=session.expires_at - now,
            within_grace=within_grace,
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

    def __init__(
        self, settings: Settings, keys: KeyRingStore, sessions: SessionStore, clock: Callable[[], float] = time.time
    ) -> None:
        self._ring_name = settings.refresh_keys_parameter
        self._keys = keys
        self._sessions = sessions
        self._clock = clock
        self._refresh = TokenCodec(TokenUse.REFRESH, settings.issuer, settings.audience)

    def revoke(self, refresh_token: str, *, everywhere: bool) -> str:
        """End the token's session, or every session of its user; returns the user.

        Only the current token of a session may end it: a rotated-away token is a replay, which
        ends its own session and nothing else. Ending a session that is already gone is no
        error, but logging out everywhere needs a live session.
        """
        now = int(self._clock())
        presented = self._refresh.verify(refresh_token, lambda kid: self._keys.ring(self._ring_name, kid))
        if presented.session_id is None:
            raise InvalidToken(TokenUse.REFRESH, "refresh token names no session")
        request_id = new_id()
        ended = self._sessions.end(presented.session_id, presented.token_id, request_id, now)
        if isinstance(ended, Refused):
            self._refused(ended.stored, request_id, now, everywhere=everywhere)
        if everywhere:
            self._sessions.revoke_all(presented.user_id, ended=presented.session_id)
        return presented.user_id

    def _refused(self, stored: Session | None, request_id: str, now: int, *, everywhere: bool) -> None:
        """Why the presented token could not end its session: returns when that is no failure."""
        if stored is not None and stored.revoked_by == request_id:
            return  # the SDK's retry of this very revocation, which was applied
        if stored is not None and stored.is_live(now):
            self._sessions.revoke(stored.session_id)
            raise ReuseDetected("a rotated refresh token was presented to revoke; its session is revoked")
        if everywhere:
            raise SessionUnknown("logging out everywhere needs the current token of a live session")
