"""Login sessions in DynamoDB: one item per session, holding the id of its one valid refresh token.

No token material is stored; a refresh token finds its session by its signed `sid` and `jti`.
DynamoDB's TTL deletes expired items lazily (and moto never does), so every condition here
treats `expiresAt <= now` as gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from token_service.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

ACTIVE = "active"
REVOKED = "revoked"
# The table's index on userId (template.yaml, SessionsTable), for ending all of a user's sessions.
USER_INDEX = "byUser"


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    user_id: str
    current_token_id: str
    status: str
    ip: str
    user_agent: str
    created_at: int
    rotated_at: int
    expires_at: int
    previous_token_id: str | None = None

    def is_live(self, now: int) -> bool:
        return self.status == ACTIVE and self.expires_at > now


@dataclass(frozen=True, slots=True)
class Rotated:
    """The presented token was current: the session as it now stands, with the new token current."""

    session: Session


@dataclass(frozen=True, slots=True)
class NotRotated:
    """The condition failed: the session as it stood (None: there is no such session)."""

    stored: Session | None


class SessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def create(self, session: Session) -> None:
        """Store a new session; its random id makes a collision a fault, never an overwrite."""
        with _dependency("session could not be stored"):
            self._client.put_item(
                TableName=self._table_name,
                Item=_to_item(session),
                ConditionExpression="attribute_not_exists(sessionId)",
            )

    def rotate(self, session_id: str, presented_token_id: str, new_token_id: str, now: int) -> Rotated | NotRotated:
        """Make `new_token_id` the one valid refresh token of a live session whose current one was presented.

        One conditional write; when its condition fails, the stored session comes back with the
        failure, so the domain can tell a replay from an unknown session without another read.
        """
        try:
            with _dependency("session could not be rotated"):
                response = self._client.update_item(
                    TableName=self._table_name,
                    Key={"sessionId": {"S": session_id}},
                    UpdateExpression="SET currentTokenId = :new, previousTokenId = :presented, rotatedAt = :now",
                    ConditionExpression="currentTokenId = :presented AND #status = :active AND expiresAt > :now",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":new": {"S": new_token_id},
                        ":presented": {"S": presented_token_id},
                        ":active": {"S": ACTIVE},
                        ":now": {"N": str(now)},
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            stored = cast("dict[str, AttributeValueTypeDef] | None", failure.response.get("Item"))
            return NotRotated(_from_item(stored) if stored is not None else None)
        return Rotated(_from_item(response["Attributes"]))

    def revoke(self, session_id: str) -> None:
        """End one session; one that is already gone stays gone."""
        already_gone = self._client.exceptions.ConditionalCheckFailedException
        with _dependency("session could not be revoked"), suppress(already_gone):
            self._client.update_item(
                TableName=self._table_name,
                Key={"sessionId": {"S": session_id}},
                UpdateExpression="SET #status = :revoked",
                ConditionExpression="attribute_exists(sessionId)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": {"S": REVOKED}},
            )

    def revoke_all(self, user_id: str) -> int:
        """End every session of a user, found through the user index; returns how many there were."""
        with _dependency("sessions could not be listed"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table_name,
                IndexName=USER_INDEX,
                KeyConditionExpression="userId = :user",
                ExpressionAttributeValues={":user": {"S": user_id}},
            )
            session_ids = [item["sessionId"]["S"] for page in pages for item in page["Items"]]
        for session_id in session_ids:
            self.revoke(session_id)
        return len(session_ids)


@contextmanager
def _dependency(what: str) -> Iterator[None]:
    """Turn an AWS failure inside the block into DependencyUnavailable; condition failures pass."""
    try:
        yield
    except ClientError as error:
        if _is_condition_failure(error):
            raise
        raise DependencyUnavailable(what) from error
    except BotoCoreError as error:
        raise DependencyUnavailable(what) from error


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _to_item(session: Session) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        "sessionId": {"S": session.session_id},
        "userId": {"S": session.user_id},
        "currentTokenId": {"S": session.current_token_id},
        "status": {"S": session.status},
        "ip": {"S": session.ip},
        "userAgent": {"S": session.user_agent},
        "createdAt": {"N": str(session.created_at)},
        "rotatedAt": {"N": str(session.rotated_at)},
        "expiresAt": {"N": str(session.expires_at)},
    }
    if session.previous_token_id is not None:
        item["previousTokenId"] = {"S": session.previous_token_id}
    return item


def _from_item(item: dict[str, AttributeValueTypeDef]) -> Session:
    previous = item.get("previousTokenId")
    return Session(
        session_id=item["sessionId"]["S"],
        user_id=item["userId"]["S"],
        current_token_id=item["currentTokenId"]["S"],
        status=item["status"]["S"],
        ip=item["ip"]["S"],
        user_agent=item["userAgent"]["S"],
        created_at=int(item["createdAt"]["N"]),
        rotated_at=int(item["rotatedAt"]["N"]),
        expires_at=int(item["expiresAt"]["N"]),
        previous_token_id=previous["S"] if previous else None,
    )
