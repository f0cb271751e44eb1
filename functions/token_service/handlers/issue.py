"""POST /tokens {"id": "..."}: a new login session and its token pair, as cookies."""

from token_service import composition
from token_service.composition import SessionRoutes
from token_service.config import settings
from token_service.domain.outcomes import Outcome
from token_service.domain.values import CONTROL_CHARACTERS, Client
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import BadRequest, Request
from token_service.http_api.responses import Response, success

MAX_ID_LENGTH = 128


def handle(request: Request, routes: SessionRoutes) -> Response:
    user_id = _user_id(request.json_object().get("id"))
    tokens = routes.sessions.issue(user_id, Client(ip=request.source_ip, user_agent=request.user_agent))
    request.observe(Outcome.ISSUED, user_id)
    return success(messages.ISSUED, routes.cookies.pair(tokens))


def _user_id(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH or CONTROL_CHARACTERS.search(value):
        raise BadRequest(400, messages.ID_INVALID, Outcome.ID_INVALID)
    return value


handler = Endpoint(handle, lambda: composition.session_routes(settings()))
