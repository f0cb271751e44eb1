"""POST /tokens/revoke: log out; the presented refresh token's session ends, {"all": true} ends all of the user's."""

from token_service import composition
from token_service.composition import RevokeRoute
from token_service.config import settings
from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.cookies import presented_refresh_token
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import BadRequest, Request
from token_service.http_api.responses import Response, success


def handle(request: Request, route: RevokeRoute) -> Response:
    body = request.optional_json_object()
    everywhere = body.get("all", False)
    if not isinstance(everywhere, bool):
        raise BadRequest(400, messages.ALL_NOT_BOOLEAN, Outcome.ALL_NOT_BOOLEAN)
    user_id = route.revocation.revoke(presented_refresh_token(request, body), everywhere=everywhere)
    request.observe(Outcome.REVOKED, user_id)
    message = messages.REVOKED_EVERYWHERE if everywhere else messages.REVOKED
    return success(message, route.cookies.cleared())


handler = Endpoint(handle, lambda: composition.revoke_route(settings()))
