"""Domain failures, each answered by the HTTP layer with its contract status."""


class InvalidToken(Exception):
    """A token that is malformed, forged, expired, of the wrong type or signed by an unknown key."""


class SessionRejected(Exception):
    """A refresh token whose session is unknown, expired, revoked, or that was already rotated.

    `reuse` is True when a rotated token was replayed and the session has just been revoked.
    """

    def __init__(self, message: str, *, reuse: bool = False) -> None:
        super().__init__(message)
        self.reuse = reuse


class DependencyUnavailable(Exception):
    """SSM or DynamoDB failed; the request changed nothing and may be retried."""
