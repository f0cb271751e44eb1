"""Every failure the domain raises has the contract's answer, found along its class hierarchy."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import token_service
from token_service.domain.errors import ServiceError, SessionUnknown
from token_service.domain.outcomes import Outcome
from token_service.domain.values import TokenUse
from token_service.http_api.endpoint import Endpoint
from token_service.http_api.request import Request
from token_service.http_api.responses import REFUSALS, UNANSWERED, Response, refusal


def every_error_class() -> list[type[ServiceError]]:
    """Each ServiceError subclass defined anywhere in the package, once every module is imported."""
    for module in pkgutil.walk_packages(token_service.__path__, "token_service."):
        importlib.import_module(module.name)
    found: list[type[ServiceError]] = []
    pending = [ServiceError]
    while pending:
        kind = pending.pop()
        found += kind.__subclasses__()
        pending += kind.__subclasses__()
    return found


def instances(kind: type[ServiceError]) -> list[ServiceError]:
    """The error as the domain raises it: for each token use where it takes one."""
    try:
        parameters = inspect.signature(kind).parameters
    except ValueError:  # Exception's own constructor: a message
        parameters = inspect.Signature().parameters
    if "use" not in parameters:
        return [kind("why")]
    return [kind(use, "why") if "reason" in parameters else kind(use) for use in TokenUse]


@pytest.mark.parametrize(
    "error",
    [error for kind in every_error_class() for error in instances(kind)],
    ids=lambda error: f"{type(error).__name__}-{error.use}",
)
def test_every_error_the_domain_raises_has_an_answer(error: ServiceError) -> None:
    answer = refusal(error)

    assert answer is not UNANSWERED
    assert 400 <= answer.status < 500 or (answer.status, answer.outcome) == (503, Outcome.DEPENDENCY_FAILURE)


def test_an_error_without_a_row_of_its_own_is_answered_as_its_nearest_base() -> None:
    class SessionUnknownToo(SessionUnknown):
        pass

    assert refusal(SessionUnknownToo("why")) == REFUSALS[(SessionUnknown, None)]


def test_an_error_no_row_answers_is_a_500_json_error_not_a_stack_trace() -> None:
    class Unanswered(ServiceError):
        pass

    def handle(request: Request, _nothing: None) -> Response:
        raise Unanswered("why")

    answer = Endpoint(handle, lambda: None).respond({}, None)

    assert (answer["statusCode"], answer["body"]) == (500, '{"errorMessage":"서버 내부 오류가 발생했습니다."}')
