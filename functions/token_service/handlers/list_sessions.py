"""GET /tokens/sessions?limit=&pageToken=: the caller's live sessions, newest first (behind the authorizer)."""

import re

from token_service import composition, messages
from token_service.authorization import Caller
from token_service.config import settings
from token_service.endpoint import Endpoint
from token_service.own_sessions import SessionListing
from token_service.request import BadRequest, Request
from token_service.responses import Response, success
from token_service.sessions import Summary

MAX_QUERY_LENGTH = 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
_WHOLE_NUMBER = re.compile(r"[1-9][0-9]{0,2}")


def handle(request: Request, listing: SessionListing) -> Response:
    caller = Caller.from_context(request.authorizer_context())
    if len(request.raw_query) > MAX_QUERY_LENGTH:
        raise BadRequest(400, messages.QUERY_TOO_LONG, "query_too_long")
    page = listing.page(caller.user_id, _limit(request.query_parameter("limit")), request.query_parameter("pageToken"))
    request.observe("listed", caller.user_id)
    fields: dict[str, object] = {"sessions": [_shown(session, caller) for session in page.sessions]}
    if page.next_page_token is not None:
        fields["nextPageToken"] = page.next_page_token
    return success(messages.SESSIONS_LISTED, fields=fields)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) > MAX_LIMIT:
        raise BadRequest(400, messages.LIMIT_INVALID, "limit_invalid")
    return int(raw)


def _shown(session: Summary, caller: Caller) -> dict[str, object]:
    return {
        "sessionId": session.session_id,
        "createdAt": session.created_at,
        "lastRotatedAt": session.rotated_at,
        "ip": session.ip,
        "userAgent": session.user_agent,
        "current": session.session_id == caller.session_id,
    }


handler = Endpoint(handle, lambda: composition.session_listing(settings()))
