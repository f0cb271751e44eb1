"""Each function's dependencies, built by the composition root over clients a test hands in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from token_service import composition
from token_service.composition import Clients, EndSessionRoute, RevokeRoute, SessionRoutes
from token_service.config import Settings
from token_service.domain.access import AccessValidator, Authorizer
from token_service.domain.account import SessionListing

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

TABLE_NAME = "sessions-under-test"
STAGE = "test"


@dataclass
class Service:
    """Each function's dependencies, built by the composition root on moto-backed clients, and those clients."""

    settings: Settings
    validator: AccessValidator
    sessions: SessionRoutes
    revocation: RevokeRoute
    authorizer: Authorizer
    listing: SessionListing
    ending: EndSessionRoute
    ssm: SSMClient
    dynamodb: DynamoDBClient


def build_service(
    settings: Settings,
    ssm: SSMClient,
    dynamodb: DynamoDBClient,
    *,
    max_age: int = 300,
    clock: Callable[[], float] = time.time,
) -> Service:
    """A cold start: new key caches over the given clients."""
    settings = replace(settings, keys_max_age=max_age)
    clients = Clients(ssm=ssm, dynamodb=dynamodb)
    return Service(
        settings=settings,
        validator=composition.validator(settings, clients, clock),
        sessions=composition.session_routes(settings, clients, clock),
        revocation=composition.revoke_route(settings, clients, clock),
        authorizer=composition.authorizer(settings, clients, clock),
        listing=composition.session_listing(settings, clients, clock),
        ending=composition.end_session_route(settings, clients, clock),
        ssm=ssm,
        dynamodb=dynamodb,
    )
