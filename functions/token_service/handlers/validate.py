"""GET /tokens/validate: the access token from its cookie, or an `Authorization: Bearer` header."""

from token_service import messages
from token_service.errors import InvalidToken
from token_service.http import ACCESS_COOKIE, ApiError, Endpoint, Request, Response, success
from token_service.validation import AccessValidator, access_validator


def handle(request: Request, validator: AccessValidator) -> Response:
    try:
        token = request.cookie(ACCESS_COOKIE) or request.bearer_token()
        if token is None:
            raise ApiError(400, messages.ACCESS_TOKEN_MISSING, "access_token_missing")
        verified = validator.validate(token)
    except InvalidToken as error:
        raise ApiError(401, messages.ACCESS_TOKEN_INVALID, "access_token_invalid") from error
    request.observe("validated", verified.user_id)
    return success(messages.validated(verified.user_id))


handler = Endpoint(handle, access_validator)
