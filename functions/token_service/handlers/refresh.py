"""POST /tokens/refresh: rotate the refresh token (cookie, or {"refreshToken": ...}) into a new pair."""

from token_service import messages
from token_service.errors import InvalidToken, SessionRejected
from token_service.http import REFRESH_COOKIE, ApiError, Endpoint, Request, Response, pair_cookies, success
from token_service.service import LoginSessions, login_sessions


def handle(request: Request, sessions: LoginSessions) -> Response:
    try:
        token = request.cookie(REFRESH_COOKIE) or _from_body(request)
        if token is None:
            raise ApiError(400, messages.REFRESH_TOKEN_MISSING)
        tokens = sessions.refresh(token)
    except InvalidToken as error:
        raise ApiError(401, messages.REFRESH_TOKEN_INVALID) from error
    except SessionRejected as error:
        raise ApiError(419, messages.REFRESH_SESSION_UNKNOWN) from error
    return success(messages.REFRESHED, pair_cookies(tokens, secure=sessions.settings.cookie_secure))


def _from_body(request: Request) -> str | None:
    """A token in a JSON body, for clients without a cookie jar."""
    if not request.has_body:
        return None
    token = request.json_object().get("refreshToken")
    return token if isinstance(token, str) and token else None


handler = Endpoint(handle, login_sessions)
