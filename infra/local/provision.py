"""Create the template's table and the stage's key rings on an AWS endpoint (moto, in tests and locally)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from infra.keys import rings
from infra.template import Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

SESSIONS_TABLE = "SessionsTable"
REGION = "us-east-1"
# Any credentials do for moto; the local stack sets these only when the environment has none, so
# boto3 never goes looking for real ones (instance metadata, SSO) on the network.
_ANY_CREDENTIAL = "local"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": _ANY_CREDENTIAL, "AWS_SECRET_ACCESS_KEY": _ANY_CREDENTIAL}
_CREATE_TABLE_PROPERTIES = ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")


def create_table(dynamodb: DynamoDBClient, template: Template, table_name: str) -> None:
    """The table exactly as the template declares it: keys, indexes, encryption, TTL and PITR."""
    properties = template.resolve(template.resources[SESSIONS_TABLE]["Properties"])
    request: dict[str, Any] = {key: properties[key] for key in _CREATE_TABLE_PROPERTIES if key in properties}
    if "SSESpecification" in properties:  # CloudFormation's SSEEnabled is the API's Enabled
        request["SSESpecification"] = {"Enabled": properties["SSESpecification"]["SSEEnabled"]}
    dynamodb.create_table(TableName=table_name, **request)
    dynamodb.get_waiter("table_exists").wait(TableName=table_name)
    if ttl := properties.get("TimeToLiveSpecification"):
        dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
    if pitr := properties.get("PointInTimeRecoverySpecification"):
        dynamodb.update_continuous_backups(TableName=table_name, PointInTimeRecoverySpecification=pitr)


def create_key_rings(ssm: SSMClient, stage: str) -> None:
    for ring in rings.RINGS:
        rings.init(ssm, rings.ring_name(stage, ring))


def local_client(service: str, endpoint_url: str) -> Any:
    """A client of the embedded AWS endpoint, whatever the environment's credentials and region."""
    credentials = {name.lower(): value for name, value in DUMMY_CREDENTIALS.items()}
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, **credentials)  # type: ignore[call-overload]


def provision(endpoint_url: str, template: Template, table_name: str, stage: str) -> None:
    """Everything the template's functions read, on a fresh endpoint: the sessions table and the key rings."""
    create_table(local_client("dynamodb", endpoint_url), template, table_name)
    create_key_rings(local_client("ssm", endpoint_url), stage)
