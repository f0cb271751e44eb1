"""POST /tokens {"id": "..."}: a new login session and its token pair, as cookies."""

from token_service import composition, messages
from token_service.composition import SessionRoutes
from token_service.config import settings
from token_service.endpoint import Endpoint
from token_service.request import BadRequest, Request
from token_service.responses import Response, success
from token_service.service import CONTROL_CHARACTERS, Client

MAX_ID_LENGTH = 128


def handle(request: Request, routes: SessionRoutes) -> Response:
    user_id = _user_id(request.json_object().get("id"))
    tokens = routes.sessions.issue(user_id, Client(ip=request.source_ip, user_agent=request.user_agent))
    request.observe("issued", user_id)
    return success(messages.ISSUED, routes.cookies.pair(tokens))


def _user_id(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH or CONTROL_CHARACTERS.search(value):
        raise BadRequest(400, messages.ID_INVALID, "id_invalid")
    return value


handler = Endpoint(handle, lambda: composition.session_routes(settings()))
