"""AWS clients, built once per execution environment and shared by every request.

boto3 honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which is how the local stack
points the very same code at its embedded endpoint.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

CLIENT_CONFIG = Config(
    # A request should fail fast with a 503 rather than hang until API Gateway's 30 s timeout.
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def ssm_client() -> SSMClient:
    return boto3.client("ssm", config=CLIENT_CONFIG)
