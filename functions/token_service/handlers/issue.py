"""POST /tokens {"id": "..."}: a new login session and its token pair, as cookies."""

import re

from token_service import messages
from token_service.http import ApiError, Endpoint, Request, Response, pair_cookies, success
from token_service.service import Client, LoginSessions, login_sessions

MAX_ID_LENGTH = 128
# Control characters, and lone surrogates (JSON can carry them; UTF-8 cannot store them).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def handle(request: Request, sessions: LoginSessions) -> Response:
    user_id = _user_id(request.json_object().get("id"))
    tokens = sessions.issue(user_id, Client(ip=request.source_ip, user_agent=request.user_agent))
    request.observe("issued", user_id)
    return success(messages.ISSUED, pair_cookies(tokens, secure=sessions.settings.cookie_secure))


def _user_id(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH or _CONTROL_CHARACTERS.search(value):
        raise ApiError(400, messages.ID_INVALID, "id_invalid")
    return value


handler = Endpoint(handle, login_sessions)
