"""GET /: a liveness answer that touches no dependency."""

from token_service import messages
from token_service.http import Endpoint, Request, Response, text


def handle(request: Request, _nothing: None) -> Response:
    request.observe("healthy")
    return text(200, messages.HEALTH)


handler = Endpoint(handle, lambda: None)
