"""POST /tokens/revoke: log out; the presented refresh token's session ends, {"all": true} ends all of the user's."""

from token_service import messages
from token_service.errors import InvalidToken
from token_service.http import (
    ApiError,
    Endpoint,
    Request,
    Response,
    cleared_cookies,
    presented_refresh_token,
    success,
)
from token_service.service import SessionRevocation, session_revocation


def handle(request: Request, revocation: SessionRevocation) -> Response:
    body = request.optional_json_object()
    everywhere = body.get("all", False)
    if not isinstance(everywhere, bool):
        raise ApiError(400, messages.ALL_NOT_BOOLEAN, "all_not_boolean")
    try:
        token = presented_refresh_token(request, body)
        if token is None:
            raise ApiError(400, messages.REFRESH_TOKEN_MISSING, "refresh_token_missing")
        user_id = revocation.revoke(token, everywhere=everywhere)
    except InvalidToken as error:
        raise ApiError(401, messages.REFRESH_TOKEN_INVALID, "refresh_token_invalid") from error
    request.observe("revoked", user_id)
    message = messages.REVOKED_EVERYWHERE if everywhere else messages.REVOKED
    return success(message, cleared_cookies(secure=revocation.settings.cookie_secure))


handler = Endpoint(handle, session_revocation)
