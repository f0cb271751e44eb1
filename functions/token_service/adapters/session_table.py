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
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from token_service.domain.errors import DependencyUnavailable
from token_service.domain.values import (
    ACTIVE,
    REVOKED,
    Listed,
    PagePosition,
    Refused,
    Session,
    Summary,
    WriteResult,
    Written,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The table's indexes on userId (template.yaml, SessionsTable): for ending all of a user's
# sessions, and for listing them newest first with what the listing shows.
USER_INDEX = "byUser"
NEWEST_FIRST_INDEX = "byUserNewest"
# A listing reads at most this many index pages to fill one page of live sessions; past them it
# answers what it found and where to go on, so ended sessions awaiting TTL never make it slow.
MAX_READS_PER_LISTING = 4
# Logging out everywhere ends sessions this many at a time: a user with many sessions stays well
# inside the function's timeout, and the table's write capacity is not hit in one burst.
PARALLEL_REVOCATIONS = 16

Item = dict[str, "AttributeValueTypeDef"]


class SessionTable:
    """The `ports.SessionStore` of the DynamoDB table the template declares."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def create(self, session: Session) -> WriteResult:
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

    def rotate(self, session_id: str, presented_token_id: str, new_token_id: str, now: int) -> WriteResult:
        """Make `new_token_id` the one valid refresh token of the live session whose current one was presented."""
        return self._update_live(
            "session could not be rotated",
            session_id,
            now,
            condition="currentTokenId = :presented",
            expression="SET currentTokenId = :new, previousTokenId = :presented, rotatedAt = :now",
            values={":new": {"S": new_token_id}, ":presented": {"S": presented_token_id}},
        )

    def end(self, session_id: str, presented_token_id: str, request_id: str, now: int) -> WriteResult:
        """Revoke the live session whose current token was presented, marking it with the request that did."""
        return self._end_live(
            "session could not be revoked",
            session_id,
            now,
            request_id=request_id,
            condition="currentTokenId = :presented",
            values={":presented": {"S": presented_token_id}},
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

    def get(self, session_id: str) -> Session | None:
        """The session as last written (a strongly consistent read): a logout is seen at once."""
        with _dependency("session could not be read"):
            item = self._client.get_item(
                TableName=self._table_name, Key={"sessionId": {"S": session_id}}, ConsistentRead=True
            ).get("Item")
        return _from_item(item) if item is not None else None

    def end_own(self, session_id: str, user_id: str, request_id: str, now: int) -> WriteResult:
        """Revoke the session if it is a live one of this user's, marking it with the request that did."""
        return self._end_live(
            "session could not be ended",
            session_id,
            now,
            request_id=request_id,
            condition="userId = :user",
            values={":user": {"S": user_id}},
        )

    def live_sessions(self, user_id: str, now: int, limit: int, after: PagePosition | None) -> Listed:
        """Up to `limit` of the user's live sessions, newest first, from after `after`."""
        found: list[Summary] = []
        start = after
        with _dependency("sessions could not be listed"):
            for _ in range(MAX_READS_PER_LISTING):
                page = self._client.query(**self._newest_first(user_id, now, limit - len(found), start))
                found += [_summary(item) for item in page["Items"]]
                last = page.get("LastEvaluatedKey")
                start = _position(last) if last is not None else None
                if start is None or len(found) == limit:
                    break
        return Listed(found, start)

    def _newest_first(self, user_id: str, now: int, limit: int, after: PagePosition | None) -> dict[str, Any]:
        query: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": NEWEST_FIRST_INDEX,
            "KeyConditionExpression": "userId = :user",
            "FilterExpression": "#status = :active AND expiresAt > :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":user": {"S": user_id}, ":active": {"S": ACTIVE}, ":now": {"N": str(now)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                "sessionId": {"S": after.session_id},
                "userId": {"S": user_id},
                "createdAt": {"N": str(after.created_at)},
            }
        return query

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

    def _end_live(
        self, failure: str, session_id: str, now: int, *, request_id: str, condition: str, values: Item
    ) -> WriteResult:
        """Revoke the live session if `condition` holds, marking it with the request that did."""
        return self._update_live(
            failure,
            session_id,
            now,
            condition=condition,
            expression="SET #status = :revoked, revokedBy = :request",
            values={**values, ":revoked": {"S": REVOKED}, ":request": {"S": request_id}},
        )

    def _update_live(
        self, failure: str, session_id: str, now: int, *, condition: str, expression: str, values: Item
    ) -> WriteResult:
        """Update the session if it is live and `condition` holds; the stored item if not."""

        def update() -> Session:
            response = self._client.update_item(
                TableName=self._table_name,
                Key={"sessionId": {"S": session_id}},
                UpdateExpression=expression,
                ConditionExpression=f"{condition} AND #status = :active AND expiresAt > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={**values, ":active": {"S": ACTIVE}, ":now": {"N": str(now)}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _from_item(response["Attributes"])

        return self._conditional(failure, update)

    def _conditional(self, failure: str, write: Callable[[], Session]) -> WriteResult:
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


def _summary(item: Item) -> Summary:
    return Summary(
        session_id=item["sessionId"]["S"],
        created_at=int(item["createdAt"]["N"]),
        rotated_at=int(item["rotatedAt"]["N"]),
        ip=item["ip"]["S"],
        user_agent=item["userAgent"]["S"],
    )


def _position(key: Item) -> PagePosition:
    return PagePosition(created_at=int(key["createdAt"]["N"]), session_id=key["sessionId"]["S"])


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
