"""POST /tokens/refresh: rotate the refresh token (cookie, or {"refreshToken": ...}) into a new pair."""

from token_service import composition, messages
from token_service.composition import SessionRoutes
from token_service.config import settings
from token_service.cookies import presented_refresh_token
from token_service.endpoint import Endpoint
from token_service.request import Request
from token_service.responses import Response, success


def handle(request: Request, routes: SessionRoutes) -> Response:
    tokens = routes.sessions.refresh(presented_refresh_token(request, request.optional_json_object()))
    request.observe("grace" if tokens.within_grace else "rotated", tokens.user_id)
    return success(messages.REFRESHED, routes.cookies.pair(tokens))


handler = Endpoint(handle, lambda: composition.session_routes(settings()))
