"""GET /tokens/sessions?limit=&pageToken=: the caller's live sessions, newest first (behind the authorizer)."""

import re

from token_service import composition
from token_service.config import settings
from token_service.domain.access import Caller
from token_service.domain.account import SessionListing
from token_service.domain.outcomes import Outcome
from token_service.domain.values import Summary
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import BadRequest, Request
from token_service.http_api.responses import Response, success

MAX_QUERY_LENGTH = 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
_WHOLE_NUMBER = re.compile(r"[1-9][0-9]{0,2}")


def handle(request: Request, listing: SessionListing) -> Response:
    caller = Caller.from_context(request.authorizer_context())
    if len(request.raw_query) > MAX_QUERY_LENGTH:
        raise BadRequest(400, messages.QUERY_TOO_LONG, Outcome.QUERY_TOO_LONG)
    page = listing.page(caller.user_id, _limit(request.query_parameter("limit")), request.query_parameter("pageToken"))
    request.observe(Outcome.LISTED, caller.user_id)
    fields: dict[str, object] = {"sessions": [_shown(session, caller) for session in page.sessions]}
    if page.next_page_token is not None:
        fields["nextPageToken"] = page.next_page_token
    return success(messages.SESSIONS_LISTED, fields=fields)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) > MAX_LIMIT:
        raise BadRequest(400, messages.LIMIT_INVALID, Outcome.LIMIT_INVALID)
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
