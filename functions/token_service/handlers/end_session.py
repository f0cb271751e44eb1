"""DELETE /tokens/sessions/{sessionId}: end one of the caller's sessions (behind the authorizer)."""

import re

from token_service import composition
from token_service.composition import EndSessionRoute
from token_service.config import settings
from token_service.domain.access import Caller
from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import BadRequest, Request
from token_service.http_api.responses import Response, success

# The session ids this service mints (`sessions.new_id`): 16 random bytes in unpadded base64url.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def handle(request: Request, route: EndSessionRoute) -> Response:
    caller = Caller.from_context(request.authorizer_context())
    session_id = request.path_parameter("sessionId") or ""
    if not SESSION_ID.fullmatch(session_id):
        raise BadRequest(400, messages.SESSION_ID_INVALID, Outcome.SESSION_ID_INVALID)
    route.ending.end(caller.user_id, session_id)
    request.observe(Outcome.SESSION_ENDED, caller.user_id)
    # Ending the session this request comes from is logging out: its cookies go too.
    return success(messages.SESSION_ENDED, route.cookies.cleared() if session_id == caller.session_id else ())


handler = Endpoint(handle, lambda: composition.end_session_route(settings()))
