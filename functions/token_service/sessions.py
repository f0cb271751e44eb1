"""Login sessions in DynamoDB: one item per session, holding the id of its one valid refresh token.

No token material is stored; a refresh token finds its session by its signed `sid` and `jti`.
DynamoDB's TTL deletes expired items lazily (and moto never does), so every condition here
treats `expiresAt <= now` as gone.

Every write is conditional, and a failed condition brings the stored item back with it
(`ReturnValuesOnConditionCheckFailure`), so the domain decides what a refusal means without
another read: a replay, an unknown session, or this very request's earlier attempt, applied
although its answer was lost, that the SDK has retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
# Logging out everywhere ends sessions this many at a time: a user with many sessions stays well
# inside the function's timeout, and the table's write capacity is not hit in one burst.
PARALLEL_REVOCATIONS = 16

Item = dict[str, "AttributeValueTypeDef"]


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
    # The request that revoked the session by presenting its current token, so its retry knows itself.
    revoked_by: str | None = None

    def is_live(self, now: int) -> bool:
        return self.status == ACTIVE and self.expires_at > now


@dataclass(frozen=True, slots=True)
class Written:
    """The write was applied: the session as it now stands."""

    session: Session


@dataclass(frozen=True, slots=True)
class Refused:
    """The write's condition failed: the session as it stood (None: there is no such session)."""

    stored: Session | None


type Outcome = Written | Refused


class SessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def create(self, session: Session) -> Outcome:
        """Store a new session under its random id, never over another."""

        def put() -> Session:
            self._client.put_item(
                TableName=self._table_name,
                Item=_to_item(session),
                ConditionExpression="attribute_not_exists(sessionId)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return session

        return self._conditional("session could not be stored", put)

    def rotate(self, session_id: str, presented_token_id: str, new_token_id: str, now: int) -> Outcome:
        """Make `new_token_id` the one valid refresh token of the live session whose current one was presented."""
        return self._update_presented(
            "session could not be rotated",
            session_id,
            presented_token_id,
            now,
            expression="SET currentTokenId = :new, previousTokenId = :presented, rotatedAt = :now",
            values={":new": {"S": new_token_id}},
        )

    def end(self, session_id: str, presented_token_id: str, request_id: str, now: int) -> Outcome:
        """Revoke the live session whose current token was presented, marking it with the request that did."""
        return self._update_presented(
            "session could not be revoked",
            session_id,
            presented_token_id,
            now,
            expression="SET #status = :revoked, revokedBy = :request",
            values={":revoked": {"S": REVOKED}, ":request": {"S": request_id}},
        )

    def revoke(self, session_id: str) -> None:
        """End one session whatever token it holds (a replay was seen); one that is gone stays gone."""
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

    def revoke_all(self, user_id: str, *, ended: str) -> None:
        """End every session of a user but `ended` (already ended), found through the user index, several at a time."""
        with _dependency("sessions could not be listed"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table_name,
                IndexName=USER_INDEX,
                KeyConditionExpression="userId = :user",
                ExpressionAttributeValues={":user": {"S": user_id}},
            )
            session_ids = [item["sessionId"]["S"] for page in pages for item in page["Items"]]
        with ThreadPoolExecutor(max_workers=PARALLEL_REVOCATIONS) as pool:
            # list() waits for all of them and raises the first failure.
            list(pool.map(self.revoke, [session_id for session_id in session_ids if session_id != ended]))

    def _update_presented(
        self,
        failure: str,
        session_id: str,
        presented_token_id: str,
        now: int,
        *,
        expression: str,
        values: Item,
    ) -> Outcome:
        """Update the session if the presented token is the current one of a live session."""

        def update() -> Session:
            response = self._client.update_item(
                TableName=self._table_name,
                Key={"sessionId": {"S": session_id}},
                UpdateExpression=expression,
                ConditionExpression="currentTokenId = :presented AND #status = :active AND expiresAt > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    **values,
                    ":presented": {"S": presented_token_id},
                    ":active": {"S": ACTIVE},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _from_item(response["Attributes"])

        return self._conditional(failure, update)

    def _conditional(self, failure: str, write: Callable[[], Session]) -> Outcome:
        try:
            with _dependency(failure):
                return Written(write())
        except self._client.exceptions.ConditionalCheckFailedException as refused:
            stored = cast("Item | None", refused.response.get("Item"))
            return Refused(_from_item(stored) if stored is not None else None)


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


def _to_item(session: Session) -> Item:
    item: Item = {
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


def _from_item(item: Item) -> Session:
    previous, revoked_by = item.get("previousTokenId"), item.get("revokedBy")
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
        revoked_by=revoked_by["S"] if revoked_by else None,
    )
