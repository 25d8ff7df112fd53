"""The read queries of videos: pages of videos for the API, and the watchdog's stuck videos.

One Query on the index that fits, never a Scan. A page's cursor is opaque (base64 of the last key
and a fingerprint of the query) and only valid for the same query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.aws_clients import error_code
from displaysense.adapters.dynamodb import query_pages
from displaysense.adapters.video_items import ALL_VIDEOS, VIDEO_SK, video_from_item
from displaysense.domain.timeutil import iso_s, parse_iso
from displaysense.domain.video import Video, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Cap on index pages one list_videos call reads while a filter (camera or status without a store)
# discards items; the caller continues with the cursor.
MAX_LIST_PAGES = 10


class InvalidCursorError(ValueError):
    """A list cursor that this query did not hand out (or that was altered)."""


class VideoListing:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.query_count = 0  # Query requests made (benchmarks and tests count them)

    def list_videos(
        self,
        *,
        store: str | None,
        camera: str | None,
        status: VideoStatus | None,
        start: str | None,
        end: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Video], str | None]:
        """Videos newest first (by recorded_at), at most `limit`, and the cursor of the next page.

        `start` (inclusive) and `end` (exclusive) bound recorded_at (UTC ISO 8601). One Query on
        the index that fits: by_store_status (store and status), by_store_time (store), by_time (no
        store; status and camera are then filters). Never a Scan. The cursor is opaque (base64 of
        the last key and a fingerprint of the query) and only valid for the same query: DynamoDB
        refuses a starting key from another partition or outside the key condition, so a cursor
        replayed with other filters, or altered, is an InvalidCursorError before any request.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        plan = _video_query(store, camera, VideoStatus(status) if status else None, start, end)
        start_key = _decode_cursor(cursor, plan) if cursor else None
        from_client = start_key is not None
        found: list[dict[str, Any]] = []
        for _ in range(MAX_LIST_PAGES):
            request = dict(plan.request)
            # Without a filter every evaluated item is returned: ask for exactly what is missing.
            request["Limit"] = max(limit - len(found), 50) if plan.filtered else limit - len(found)
            if start_key:
                request["ExclusiveStartKey"] = start_key
            try:
                answer = self._table.query(**request)
            except ClientError as exc:
                # The checks above mirror DynamoDB's; should it still refuse the client's key, the
                # cursor is at fault, not the service. Any other refusal is a bug and stays one.
                if from_client and error_code(exc) == "ValidationException":
                    raise InvalidCursorError(
                        "DynamoDB refused it as a starting key: start again without it"
                    ) from None
                raise
            from_client = False
            self.query_count += 1
            items = answer.get("Items", [])
            last_key = answer.get("LastEvaluatedKey")
            for position, item in enumerate(items):
                found.append(item)
                if len(found) == limit:
                    more = position + 1 < len(items) or last_key is not None
                    keys = {k: item[k] for k in plan.key_names}
                    return [video_from_item(i) for i in found], _encode_cursor(plan, keys) if more else None
            if not last_key:
                return [video_from_item(i) for i in found], None
            start_key = dict(last_key)
        # Filters discarded page after page: hand back what was found and where to go on.
        assert start_key is not None
        return [video_from_item(i) for i in found], _encode_cursor(plan, start_key)

    def videos_in_status_since(self, store: str, status: VideoStatus, before: str) -> list[str]:
        """Ids of a store's videos that entered `status` before `before` (ISO 8601) and are still
        in it: one Query of the by_store_status index (the watchdog's stuck-video count)."""
        request: dict[str, Any] = {
            "IndexName": "by_store_status",
            "KeyConditionExpression": "gsi2pk = :pk",
            "FilterExpression": "#changed < :before",
            "ExpressionAttributeNames": {"#changed": "status_changed_at"},
            "ExpressionAttributeValues": {":pk": f"{store}#{status.value}", ":before": before},
            "ProjectionExpression": "video_id",
        }
        found: list[str] = []
        for answer in query_pages(self._table, request):
            self.query_count += 1
            found.extend(str(item["video_id"]) for item in answer.get("Items", []))
        return found


@dataclass(frozen=True)
class _VideoQuery:
    index: str
    key_names: tuple[str, ...]  # what an ExclusiveStartKey of this index holds
    request: dict[str, Any]
    filtered: bool
    partition: tuple[str, str]  # the index's partition key: name, value
    sort_name: str
    lo: str | None  # bounds of the sort key: lo <= sk, sk < hi
    hi: str | None

    @property
    def fingerprint(self) -> str:
        """Identifies the query a cursor was handed out for: index, key condition and filters."""
        shape = {k: self.request.get(k) for k in ("IndexName", "KeyConditionExpression", "FilterExpression")}
        shape["values"] = self.request.get("ExpressionAttributeValues")
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True, separators=(",", ":")).encode())
        return digest.hexdigest()[:16]

    def holds(self, key: Mapping[str, str]) -> bool:
        """Whether `key` could be a LastEvaluatedKey of this query: a video's key, in the queried
        partition and inside the sort key's bounds (what DynamoDB checks, and refuses otherwise)."""
        name, value = self.partition
        sort = key[self.sort_name]
        return (
            key["pk"].startswith("VIDEO#")
            and key["sk"] == VIDEO_SK
            and key[name] == value
            and (self.lo is None or sort >= self.lo)
            and (self.hi is None or sort < self.hi)
        )


def _video_query(
    store: str | None, camera: str | None, status: VideoStatus | None, start: str | None, end: str | None
) -> _VideoQuery:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    filters: list[str] = []
    if store is not None and status is not None:
        index, pk_name, sk_name, pk_value = "by_store_status", "gsi2pk", "gsi2sk", f"{store}#{status}"
    elif store is not None:
        index, pk_name, sk_name, pk_value = "by_store_time", "gsi1pk", "gsi1sk", store
    else:
        index, pk_name, sk_name, pk_value = "by_time", "gsi3pk", "gsi3sk", ALL_VIDEOS
        if status is not None:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = status.value
    if camera is not None:
        filters.append("#camera = :camera")
        names["#camera"] = "camera"
        values[":camera"] = camera
    names["#pk"] = pk_name
    values[":pk"] = pk_value
    condition = "#pk = :pk"
    lo = _normalize_time(start, "start") if start else None
    hi = _normalize_time(end, "end") if end else None
    # Sort keys are "<recorded_at>#...": no key equals `hi`, so BETWEEN excludes the end, and every
    # key of a video recorded at `lo` sorts after `lo`.
    if lo or hi:
        names["#sk"] = sk_name
    if lo and hi:
        condition += " AND #sk BETWEEN :lo AND :hi"
        values[":lo"], values[":hi"] = lo, hi
    elif lo:
        condition += " AND #sk >= :lo"
        values[":lo"] = lo
    elif hi:
        condition += " AND #sk < :hi"
        values[":hi"] = hi
    request: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
    return _VideoQuery(
        index, ("pk", "sk", pk_name, sk_name), request, bool(filters), (pk_name, pk_value), sk_name, lo, hi
    )


def _normalize_time(value: str, what: str) -> str:
    try:
        return iso_s(int(parse_iso(value).timestamp()))
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _encode_cursor(plan: _VideoQuery, key: Mapping[str, Any]) -> str:
    raw = json.dumps(
        {"i": plan.index, "q": plan.fingerprint, "k": {k: str(v) for k, v in key.items()}},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, plan: _VideoQuery) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursorError("the cursor is not one this API handed out") from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), dict):
        raise InvalidCursorError("the cursor is not one this API handed out")
    if data.get("i") != plan.index or data.get("q") != plan.fingerprint:
        raise InvalidCursorError(
            "the cursor belongs to a query with other filters (store, camera, status, from or to): "
            "repeat that query's filters with it, or start again without it"
        )
    key = data["k"]
    if set(key) != set(plan.key_names) or not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursorError("the cursor is not one this API handed out")
    if not plan.holds(key):
        raise InvalidCursorError("the cursor was altered: start again without it")
    return dict(key)
