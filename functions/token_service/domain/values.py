"""The domain's value types: tokens as verified, login sessions as stored, who asked for them.

Plain frozen dataclasses and enums with no behaviour beyond reading themselves: every layer may
hold them, none of them reaches outside the process.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

ACTIVE = "active"
REVOKED = "revoked"
# Control characters, and lone surrogates (JSON can carry them; UTF-8 cannot store them).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Request headers are client-controlled; keep what is stored about them bounded.
MAX_USER_AGENT_LENGTH = 512


def new_id() -> str:
    """A random id (of a session, a token, a request): 128 bits, URL-safe, 22 characters."""
    return secrets.token_urlsafe(16)


class TokenUse(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    user_id: str
    token_id: str
    expires_at: int
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class PagePosition:
    """Where a listing of a user's sessions, newest first, stopped: the last session it showed."""

    created_at: int
    session_id: str


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
    """New tokens; `within_grace` when a refresh presented the token rotated away moments ago."""

    user_id: str
    access_token: str
    access_max_age: int
    refresh_token: str
    refresh_max_age: int
    within_grace: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """One login session: a family of refresh tokens, of which only `current_token_id` is valid."""

    session_id: str
    user_id: str
    current_token_id: str
    status: str
    ip: str
    user_agent: str
    created_at: int
    rotated_at: int
    expires_at: int
    previous_token_id: str | None = None
    # The request that revoked the session by presenting its current token, so its retry knows itself.
    revoked_by: str | None = None

    def is_live(self, now: int) -> bool:
        return self.status == ACTIVE and self.expires_at > now


@dataclass(frozen=True, slots=True)
class Written:
    """A conditional write was applied: the session as it now stands."""

    session: Session


@dataclass(frozen=True, slots=True)
class Refused:
    """A conditional write's condition failed: the session as it stood (None: there is no such session)."""

    stored: Session | None


type WriteResult = Written | Refused


@dataclass(frozen=True, slots=True)
class Summary:
    """A session as its owner may review it: where and when, never a token id."""

    session_id: str
    created_at: int
    rotated_at: int
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class Listed:
    """One page of a user's live sessions, newest first; `next` is where the next page starts, if any."""

    sessions: list[Summary]
    next: PagePosition | None
