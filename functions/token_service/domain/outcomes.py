"""What became of a request: the `outcome` of its log line, and what its metrics count."""

from __future__ import annotations

from enum import StrEnum

_REJECTED = "rejected:"


class Outcome(StrEnum):
    HEALTHY = "healthy"
    ISSUED = "issued"
    VALIDATED = "validated"
    ROTATED = "rotated"
    WITHIN_GRACE = "grace"
    REVOKED = "revoked"
    AUTHORIZED = "authorized"
    LISTED = "listed"
    SESSION_ENDED = "session_ended"
    DEPENDENCY_FAILURE = "dependency_failure"
    INTERNAL_ERROR = "internal_error"
    # Refused requests, each with the reason its metric carries as a dimension.
    BODY_MISSING = _REJECTED + "body_missing"
    BODY_NOT_BASE64 = _REJECTED + "body_not_base64"
    BODY_NOT_JSON_OBJECT = _REJECTED + "body_not_json_object"
    BODY_TOO_LARGE = _REJECTED + "body_too_large"
    ID_INVALID = _REJECTED + "id_invalid"
    ALL_NOT_BOOLEAN = _REJECTED + "all_not_boolean"
    SESSION_ID_INVALID = _REJECTED + "session_id_invalid"
    LIMIT_INVALID = _REJECTED + "limit_invalid"
    QUERY_TOO_LONG = _REJECTED + "query_too_long"
    ACCESS_TOKEN_MISSING = _REJECTED + "access_token_missing"
    REFRESH_TOKEN_MISSING = _REJECTED + "refresh_token_missing"
    ACCESS_TOKEN_INVALID = _REJECTED + "access_token_invalid"
    REFRESH_TOKEN_INVALID = _REJECTED + "refresh_token_invalid"
    SESSION_UNKNOWN = _REJECTED + "session_unknown"
    REUSE_DETECTED = _REJECTED + "reuse_detected"
    SESSION_NOT_FOUND = _REJECTED + "session_not_found"
    PAGE_TOKEN_INVALID = _REJECTED + "page_token_invalid"

    @property
    def rejection_reason(self) -> str | None:
        """Why the request was refused; None for an outcome that is no refusal."""
        return self.removeprefix(_REJECTED) if self.startswith(_REJECTED) else None
