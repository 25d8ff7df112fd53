"""How the table adapters talk to DynamoDB: value conversion, conditional writes, paged queries."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.aws_clients import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TRANSACTION_ATTEMPTS = 8


def to_dynamo(value: Any) -> Any:
    """Python values as the DynamoDB resource layer accepts them: floats become Decimals (by their
    repr, so 0.1 stays 0.1), mappings and sequences are converted inside."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """The inverse of `to_dynamo`: whole Decimals become ints, the others floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def is_conditional_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def pause(attempt: int) -> None:
    """A short, jittered wait before retrying a write that raced another: racing writers of one
    item are two Lambdas, not a crowd."""
    time.sleep(min(0.5, 0.02 * 2**attempt) * random.random())  # noqa: S311 - jitter, not security


def transact_or_conditional(table: Table, items: list[dict[str, Any]]) -> bool:
    """True when the transaction was written; False when the first item's condition failed.

    A transaction conflict (another transaction on the same items at the same moment) is retried
    here; any other cancellation is an error.
    """
    client = table.meta.client
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return True
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if "TransactionConflict" not in codes and "ThrottlingError" not in codes:
                raise
        pause(attempt)
    raise RuntimeError("transaction kept conflicting with concurrent writes")


def query_pages(table: Table, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each answer of a Query followed over its pages (LastEvaluatedKey)."""
    current = dict(request)
    while True:
        answer: dict[str, Any] = dict(table.query(**current))
        yield answer
        last = answer.get("LastEvaluatedKey")
        if not last:
            return
        current["ExclusiveStartKey"] = last
