"""In-process fixtures: moto-backed clients handed to the real domain objects and handlers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra.provision import create_key_rings, create_table
from infra.template import Template
from tests.conftest import REGION
from token_service.config import Settings
from token_service.keys import KeyRingStore, SsmParameterSource
from token_service.service import LoginSessions, SessionRevocation
from token_service.sessions import SessionStore
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
    """The two domain objects the handlers use, on moto-backed clients, and those clients."""

    validator: AccessValidator
    sessions: LoginSessions
    revocation: SessionRevocation
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
    source = SsmParameterSource(ssm)
    both = [settings.access_keys_parameter, settings.refresh_keys_parameter]
    store = SessionStore(dynamodb, TABLE_NAME)
    return Service(
        validator=AccessValidator(settings, KeyRingStore(source, [settings.access_keys_parameter], max_age)),
        sessions=LoginSessions(settings, KeyRingStore(source, both, max_age), store, clock),
        revocation=SessionRevocation(settings, KeyRingStore(source, [settings.refresh_keys_parameter], max_age), store),
        ssm=ssm,
        dynamodb=dynamodb,
    )


@pytest.fixture
def service(provisioned: None, settings: Settings, ssm: SSMClient, dynamodb: DynamoDBClient) -> Service:
    return build_service(settings, ssm, dynamodb)
