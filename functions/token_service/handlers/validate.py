"""GET /tokens/validate: the access token from its cookie, or an `Authorization: Bearer` header."""

from token_service import composition, messages
from token_service.config import settings
from token_service.cookies import presented_access_token
from token_service.endpoint import Endpoint
from token_service.request import Request
from token_service.responses import Response, success
from token_service.validation import AccessValidator


def handle(request: Request, validator: AccessValidator) -> Response:
    verified = validator.validate(presented_access_token(request))
    request.observe("validated", verified.user_id)
    return success(messages.validated(verified.user_id))


handler = Endpoint(handle, lambda: composition.validator(settings()))
