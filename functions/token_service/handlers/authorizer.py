"""The HTTP API Lambda authorizer (payload 2.0, simple responses) for routes that need an access token.

The token comes as validate takes it (the `accessToken` cookie, or `Authorization: Bearer`), but
only from the template's `AuthorizerTokenSource`: the header API Gateway caches answers on. The
route's function gets the user and the session in the authorizer's context.
"""

from token_service import composition
from token_service.config import settings
from token_service.domain.access import Authorizer
from token_service.domain.outcomes import Outcome
from token_service.http_api.cookies import presented_access_token
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import Request
from token_service.http_api.responses import Response, authorized, simple_authorizer_answer


def handle(request: Request, authorizer: Authorizer) -> Response:
    caller = authorizer.authorize(presented_access_token(request, authorizer.token_source))
    request.observe(Outcome.AUTHORIZED, caller.user_id)
    return authorized(caller.context())


handler = Endpoint(handle, lambda: composition.authorizer(settings()), reply=simple_authorizer_answer)
