"""API Gateway's own answers before any function of ours runs, and which functions a request reached."""

from __future__ import annotations

from infra.local.functions import Event

UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'


def kinds(events: list[Event]) -> list[str]:
    """Which function each event went to, in order: the authorizer or the route's."""
    return ["authorizer" if event.get("type") == "REQUEST" else "route" for event in events]
