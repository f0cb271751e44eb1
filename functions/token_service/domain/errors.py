"""The domain's failures; `http_api.responses.REFUSALS` maps each kind to the contract's status and message."""

from __future__ import annotations

from token_service.domain.values import TokenUse


class ServiceError(Exception):
    """A request the service refuses; `use` names the kind of token it concerns, where one does."""

    use: TokenUse | None = None


class TokenMissing(ServiceError):
    """The request presented no token of this use."""

    def __init__(self, use: TokenUse) -> None:
        super().__init__(f"no {use} token was presented")
        self.use = use


class InvalidToken(ServiceError):
    """A token that is malformed, forged, expired, of the wrong use or signed by an unknown key.

    The message says which check failed, in our own words: it is logged, never the token.
    """

    def __init__(self, use: TokenUse, reason: str) -> None:
        super().__init__(reason)
        self.use = use


class SessionUnknown(ServiceError):
    """A refresh token whose session is unknown, expired or revoked."""


class ReuseDetected(ServiceError):
    """A refresh token that was already rotated away was presented again: its session is now revoked."""


class SessionNotFound(ServiceError):
    """The user has no live session of that id: unknown, ended, or another user's, which look alike."""


class PageTokenInvalid(ServiceError):
    """A listing's page token that this service did not issue to this user, or that has expired."""


class DependencyUnavailable(ServiceError):
    """SSM or DynamoDB failed; the request changed nothing and may be retried."""
