"""POST /tokens/refresh: rotate the refresh token (cookie, or {"refreshToken": ...}) into a new pair."""

from token_service import composition
from token_service.composition import SessionRoutes
from token_service.config import settings
from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.cookies import presented_refresh_token
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import Request
from token_service.http_api.responses import Response, success


def handle(request: Request, routes: SessionRoutes) -> Response:
    tokens = routes.sessions.refresh(presented_refresh_token(request, request.optional_json_object()))
    request.observe(Outcome.WITHIN_GRACE if tokens.within_grace else Outcome.ROTATED, tokens.user_id)
    return success(messages.REFRESHED, routes.cookies.pair(tokens))


handler = Endpoint(handle, lambda: composition.session_routes(settings()))
