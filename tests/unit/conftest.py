"""In-process fixtures: moto-backed clients handed to the real domain objects and handlers."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra.provision import create_key_rings, create_table
from infra.template import Template
from tests.conftest import REGION
from token_service import composition
from token_service.authorization import Authorizer
from token_service.composition import Clients, EndSessionRoute, RevokeRoute, SessionRoutes
from token_service.config import Settings
from token_service.observability import logger
from token_service.own_sessions import SessionListing
from token_service.validation import AccessValidator

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

TABLE_NAME = "sessions-under-test"
STAGE = "test"


@pytest.fixture
def template() -> Template:
    return Template.load(parameters={"Stage": STAGE}, resource_names={"SessionsTable": TABLE_NAME})


@pytest.fixture
def settings(template: Template) -> Settings:
    return Settings.from_environment(template.function_environment("IssueFunction"))


@pytest.fixture
def aws() -> Iterator[None]:
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture
def ssm(aws: None) -> SSMClient:
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def dynamodb(aws: None) -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def provisioned(ssm: SSMClient, dynamodb: DynamoDBClient, template: Template) -> None:
    create_table(dynamodb, template, TABLE_NAME)
    create_key_rings(ssm, STAGE)


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


@pytest.fixture
def service(provisioned: None, settings: Settings, ssm: SSMClient, dynamodb: DynamoDBClient) -> Service:
    return build_service(settings, ssm, dynamodb)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the functions' logger writes at INFO, the template's default level."""
    level, stream = logger.log_level, io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    original = handler.setStream(stream)
    logger.setLevel("INFO")
    yield stream
    logger.setLevel(level)
    handler.setStream(original)
