"""In-process fixtures: moto-backed clients handed to the real domain objects and handlers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra.local.provision import REGION, create_key_rings, create_table
from infra.template import Template
from tests.support.service import STAGE, TABLE_NAME, Service, build_service
from token_service.config import Settings
from token_service.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient


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
