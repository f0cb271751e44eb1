"""AWS clients, built once per execution environment and shared by every request.

boto3 honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which is how the local stack
points the very same code at its embedded endpoint.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from token_service.adapters import deadline

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

# Short timeouts, so that a hanging dependency leaves time for a retry and for the contract's
# 503; `deadline` refuses any attempt that could outlast the function.
CLIENT_CONFIG = Config(
    connect_timeout=deadline.CONNECT_SECONDS,
    read_timeout=deadline.READ_SECONDS,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def ssm_client() -> SSMClient:
    return boto3.client("ssm", config=CLIENT_CONFIG)
