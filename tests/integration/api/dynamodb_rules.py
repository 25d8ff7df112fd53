"""What real DynamoDB checks and moto does not, as botocore hooks on a moto table's client.

- `refuse_foreign_start_keys`: a Query's ExclusiveStartKey must lie in the queried partition and
  inside the sort key condition; DynamoDB answers 400 ValidationException otherwise ("The provided
  starting key is invalid", "... does not match the range key predicate"). moto pages from any key.
- `small_pages`: every Query without a Limit gets one, so that a handful of items spans several
  pages (DynamoDB pages at 1 MB; filling that in moto takes minutes).
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

_PARTITION = re.compile(r"^\s*(#?\w+)\s*=\s*(:\w+)")
_BETWEEN = re.compile(r"AND\s+(#?\w+)\s+BETWEEN\s+(:\w+)\s+AND\s+(:\w+)")
_COMPARE = re.compile(r"AND\s+(#?\w+)\s*(>=|<=|<|>)\s*(:\w+)")


def _refusal(message: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ValidationException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "Query",
    )


def _check_start_key(body: dict[str, Any]) -> None:
    start = body.get("ExclusiveStartKey")
    if not start:
        return
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    condition = body["KeyConditionExpression"]

    def name(token: str) -> str:
        return str(names.get(token, token))

    def value(token: str) -> str:
        return str(values[token]["S"])

    partition = _PARTITION.match(condition)
    assert partition is not None, condition
    key = name(partition.group(1))
    if key not in start or start[key].get("S") != value(partition.group(2)):
        raise _refusal("The provided starting key is invalid")
    if found := _BETWEEN.search(condition):
        sort, lo, hi = name(found.group(1)), value(found.group(2)), value(found.group(3))
        inside = sort in start and lo <= start[sort].get("S", "") <= hi
    elif found := _COMPARE.search(condition):
        sort, operator, bound = name(found.group(1)), found.group(2), value(found.group(3))
        given = start.get(sort, {}).get("S", "")
        inside = {">=": given >= bound, ">": given > bound, "<=": given <= bound, "<": given < bound}[
            operator
        ]
    else:
        inside = True
    if not inside:
        raise _refusal("The provided starting key does not match the range key predicate")


def refuse_foreign_start_keys(table: Any) -> None:
    def before_call(params: dict[str, Any], **_: Any) -> None:
        _check_start_key(json.loads(params["body"]))

    table.meta.client.meta.events.register("before-call.dynamodb.Query", before_call)


def small_pages(table: Any, limit: int) -> None:
    def before_build(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("Limit", limit)

    table.meta.client.meta.events.register("before-parameter-build.dynamodb.Query", before_build)
