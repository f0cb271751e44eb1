"""The invocation's deadline: no AWS attempt starts that could outlast the function's timeout.

Lambda stops a function at its timeout, and API Gateway then answers with its own generic
error. So every attempt (the first and each SDK retry) first checks that it can end, answered
or timed out, with `MARGIN_SECONDS` to spare for the contract's 503. Lambda runs one invocation
at a time in an execution environment, which is why one deadline per process is enough.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from token_service.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

CONNECT_SECONDS = 1.0
READ_SECONDS = 2.0
# The longest one attempt can take before its timeouts end it.
ATTEMPT_SECONDS = CONNECT_SECONDS + READ_SECONDS
# Left for building and returning the answer once the last attempt has given up.
MARGIN_SECONDS = 1.0


class _Deadline:
    def __init__(self) -> None:
        self.at: float | None = None


_current = _Deadline()


@contextmanager
def invocation(context: object) -> Iterator[None]:
    """The deadline Lambda's context gives, while the block runs.

    A caller without Lambda's context (a test, a tool, `None`) runs without a deadline.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    _current.at = time.monotonic() + remaining() / 1000 if callable(remaining) else None
    try:
        yield
    finally:
        _current.at = None


def check_attempt() -> None:
    """Refuse an attempt that could end later than the margin before the deadline."""
    if _current.at is not None and _current.at - time.monotonic() - MARGIN_SECONDS < ATTEMPT_SECONDS:
        raise DependencyUnavailable("no time is left for another attempt before the function's timeout")


def guard[Client: BaseClient](client: Client) -> Client:
    """Make the boto3 client check the deadline before every attempt, retries included."""
    client.meta.events.register("before-send", _before_send, unique_id="token-service-deadline")
    return client


def _before_send(**_: Any) -> None:
    # Returning nothing lets botocore send; raising ends the call (our error is never retried).
    check_attempt()
