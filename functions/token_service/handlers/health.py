"""GET /: a liveness answer that touches no dependency."""

from token_service import messages
from token_service.endpoint import Endpoint
from token_service.request import Request
from token_service.responses import Response, text


def handle(request: Request, _nothing: None) -> Response:
    request.observe("healthy")
    return text(200, messages.HEALTH)


handler = Endpoint(handle, lambda: None)
