"""GET /: a liveness answer that touches no dependency."""

from token_service.domain.outcomes import Outcome
from token_service.http_api import messages
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import Request
from token_service.http_api.responses import Response, text


def handle(request: Request, _nothing: None) -> Response:
    request.observe(Outcome.HEALTHY)
    return text(200, messages.HEALTH)


handler = Endpoint(handle, lambda: None)
