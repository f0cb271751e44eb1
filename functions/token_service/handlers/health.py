"""GET /: a liveness answer that touches no dependency."""

from token_service import messages
from token_service.http import Event, Response, text


def handler(event: Event, context: object = None) -> Response:
    return text(200, messages.HEALTH)
