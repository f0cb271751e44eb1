"""GET /tokens/validate: the access token from its cookie, or an `Authorization: Bearer` header."""

from token_service import composition
from token_service.config import settings
from token_service.domain.access import AccessValidator
from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.cookies import presented_access_token
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import Request
from token_service.http_api.responses import Response, success


def handle(request: Request, validator: AccessValidator) -> Response:
    verified = validator.validate(presented_access_token(request))
    request.observe(Outcome.VALIDATED, verified.user_id)
    return success(messages.validated(verified.user_id))


handler = Endpoint(handle, lambda: composition.validator(settings()))
