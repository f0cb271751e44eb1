"""POST /tokens/refresh: rotate the refresh token (cookie, or {"refreshToken": ...}) into a new pair."""

from token_service import messages
from token_service.errors import InvalidToken, SessionRejected
from token_service.http import ApiError, Endpoint, Request, Response, pair_cookies, presented_refresh_token, success
from token_service.service import LoginSessions, login_sessions


def handle(request: Request, sessions: LoginSessions) -> Response:
    try:
        token = presented_refresh_token(request, request.optional_json_object())
        if token is None:
            raise ApiError(400, messages.REFRESH_TOKEN_MISSING, "refresh_token_missing")
        tokens = sessions.refresh(token)
    except InvalidToken as error:
        raise ApiError(401, messages.REFRESH_TOKEN_INVALID, "refresh_token_invalid") from error
    except SessionRejected as error:
        reason = "reuse_detected" if error.reuse else "session_unknown"
        raise ApiError(419, messages.REFRESH_SESSION_UNKNOWN, reason) from error
    request.observe("rotated" if tokens.refresh_token else "grace", tokens.user_id)
    return success(messages.REFRESHED, pair_cookies(tokens, secure=sessions.settings.cookie_secure))


handler = Endpoint(handle, login_sessions)
