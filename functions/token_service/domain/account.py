"""A user's own login sessions, as an account page shows them: list them, and end one.

Both routes run behind the authorizer, which names the user; nothing a client sends makes them
read or end another user's sessions. Another user's session and one that does not exist are
refused alike, so the answer never tells that a session id exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from token_service.config import Settings
from token_service.domain.errors import SessionNotFound
from token_service.domain.key_rings import KeyRingStore
from token_service.domain.ports import SessionStore
from token_service.domain.token_codecs import PageTokenCodec
from token_service.domain.values import Refused, Summary, new_id


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[Summary]
    next_page_token: str | None


class SessionListing:
    """GET /tokens/sessions: the table's newest-first index, and the access ring that signs page tokens."""

    def __init__(
        self, settings: Settings, keys: KeyRingStore, sessions: SessionStore, clock: Callable[[], float] = time.time
    ) -> None:
        self._ring_name = settings.access_keys_parameter
        self._keys = keys
        self._sessions = sessions
        self._clock = clock
        self._page_tokens = PageTokenCodec(settings.issuer, settings.audience)

    def page(self, user_id: str, limit: int, page_token: str | None) -> SessionPage:
        """Up to `limit` of the user's live sessions, newest first, from where `page_token` left off."""
        now = int(self._clock())
        after = None
        if page_token is not None:
            after = self._page_tokens.read(page_token, user_id, lambda kid: self._keys.ring(self._ring_name, kid))
        listed = self._sessions.live_sessions(user_id, now, limit, after)
        if listed.next is None:
            return SessionPage(listed.sessions, None)
        ring = self._keys.ring(self._ring_name)
        token = self._page_tokens.mint(ring, user_id=user_id, position=listed.next, issued_at=now)
        return SessionPage(listed.sessions, token)


class SessionEnding:
    """DELETE /tokens/sessions/{sessionId}: the session table only."""

    def __init__(self, sessions: SessionStore, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock

    def end(self, user_id: str, session_id: str) -> None:
        """End one of the user's live sessions, or refuse with SessionNotFound."""
        request_id = new_id()
        ended = self._sessions.end_own(session_id, user_id, request_id, int(self._clock()))
        if isinstance(ended, Refused):
            stored = ended.stored
            # The SDK's retry of this very write, which was applied, is no refusal.
            if stored is None or stored.user_id != user_id or stored.revoked_by != request_id:
                raise SessionNotFound("the user has no live session of that id")
