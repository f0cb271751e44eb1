"""What the domain needs from outside the process, as protocols: the adapters implement them.

Every failure of a dependency reaches the domain as `DependencyUnavailable`; a conditional
write whose condition failed is no failure but a `Refused` holding the item as it stood, so the
domain, not the adapter, decides what a refusal means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from token_service.domain.values import Listed, PagePosition, Session, WriteResult


class ParameterSource(Protocol):
    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        """The decrypted value of every name, or DependencyUnavailable."""
        ...


class SessionStore(Protocol):
    """The login sessions, one item each; expired ones (`expires_at <= now`) count as gone."""

    def create(self, session: Session) -> WriteResult:
        """Store a new session under its random id, never over another."""
        ...

    def rotate(self, session_id: str, presented_token_id: str, new_token_id: str, now: int) -> WriteResult:
        """Make `new_token_id` the one valid refresh token of the live session whose current one was presented."""
        ...

    def end(self, session_id: str, presented_token_id: str, request_id: str, now: int) -> WriteResult:
        """Revoke the live session whose current token was presented, marking it with the request that did."""
        ...

    def end_own(self, session_id: str, user_id: str, request_id: str, now: int) -> WriteResult:
        """Revoke the session if it is a live one of this user's, marking it with the request that did."""
        ...

    def revoke(self, session_id: str) -> None:
        """End one session whatever token it holds; one that is gone stays gone."""
        ...

    def revoke_all(self, user_id: str, *, ended: str) -> None:
        """End every session of a user but `ended` (already ended)."""
        ...

    def get(self, session_id: str) -> Session | None:
        """The session as last written: a logout is seen at once."""
        ...

    def live_sessions(self, user_id: str, now: int, limit: int, after: PagePosition | None) -> Listed:
        """Up to `limit` of the user's live sessions, newest first, from after `after`."""
        ...
