"""Video records in the single table: registration, status changes, and where the footage is.

Every status change is one TransactWriteItems: the video's conditional update (its status must
still be the one read) and the camera registry's counters. Either both happen or neither, so the
counts stay exact however often a message is retried or raced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from displaysense.adapters.camera_registry import CameraRegistry
from displaysense.adapters.dynamodb import (
    TRANSACTION_ATTEMPTS,
    opt_str,
    pause,
    to_dynamo,
    transact_or_conditional,
)
from displaysense.adapters.video_items import video_from_item, video_key, video_to_item
from displaysense.domain.aggregation import ClaimLostError
from displaysense.domain.timeutil import iso_ms
from displaysense.domain.video import Footage, JobKind, Transition, Video, VideoNotFoundError, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class VideoRecords:
    def __init__(
        self, table: Table, cameras: CameraRegistry, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table
        self._cameras = cameras
        self._clock = clock

    def get(self, video_id: str) -> Video | None:
        item = self.get_item(video_id)
        return None if item is None else video_from_item(item)

    def get_item(self, video_id: str) -> dict[str, Any] | None:
        # Strongly consistent: a status written by the other Lambda a moment ago must be seen.
        answer = self._table.get_item(Key=video_key(video_id), ConsistentRead=True)
        return answer.get("Item")

    def register(
        self,
        video: Video,
        *,
        expected_jobs: Sequence[JobKind],
        time_known: bool = True,
        etag: str | None = None,
    ) -> tuple[Video, bool]:
        """Stores a new video (QUEUED or REJECTED) and counts it for its camera; idempotent.

        Returns the stored video and whether this call created it. A second call for the same
        video id changes nothing and returns the video as it is now. `time_known` is False for a
        rejected upload whose recorded_at is only its upload time: it must not widen the camera's
        recorded range.
        """
        item = video_to_item(video)
        item["jobs"] = {kind.value: {} for kind in expected_jobs}
        if etag:
            item["etag"] = etag
        item["status_changed_at"] = video.updated_at
        if time_known:
            # Before the transaction and outside it on purpose: a minimum and a maximum are
            # idempotent, so a crash after this write is repaired by the retry, which finds no video
            # and registers it; a condition on them inside the transaction would cancel the count.
            self._cameras.widen_bounds(video.store, video.camera, video.recorded_at)
        created = transact_or_conditional(
            self._table,
            [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._cameras.count_change(video.store, video.camera, None, video.status),
            ],
        )
        if created:
            return video_from_item(item), True
        stored = self.get(video.video_id)
        if stored is None:  # pragma: no cover - the condition failed, so the item exists
            raise VideoNotFoundError(video.video_id)
        return stored, False

    def transition(
        self,
        video_id: str,
        to: VideoStatus,
        *,
        allowed_from: Collection[VideoStatus],
        reason: str | None = None,
        owner: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Transition:
        """Moves a video to `to` if its status is one of `allowed_from`, with the camera counts.

        Concurrent writers are resolved by the condition on the status read: a lost race re-reads
        and decides again. With `owner`, the change happens only while that aggregation claim is
        held (ClaimLostError otherwise). `extra` attributes are set in the same update. A QUEUED
        video's reason only says why it waits (`JobRecords.note_waiting`): leaving QUEUED without a
        new reason removes it.
        """
        for attempt in range(TRANSACTION_ATTEMPTS):
            item = self.get_item(video_id)
            if item is None:
                raise VideoNotFoundError(video_id)
            current = video_from_item(item)
            if current.status == to or current.status not in allowed_from:
                return Transition(current, False)
            if owner is not None and item.get("agg_owner") != owner:
                raise ClaimLostError(video_id)
            update = self._status_update(current, to, reason=reason, owner=owner, extra=extra)
            done = transact_or_conditional(
                self._table,
                [update, self._cameras.count_change(current.store, current.camera, current.status, to)],
            )
            if done:
                updated = self.get(video_id)
                assert updated is not None
                return Transition(updated, True)
            pause(attempt)
        raise RuntimeError(f"video {video_id}: status kept changing under {TRANSACTION_ATTEMPTS} attempts")

    def _status_update(
        self,
        current: Video,
        to: VideoStatus,
        *,
        reason: str | None,
        owner: str | None,
        extra: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        now = self._now_iso()
        names = {"#status": "status", "#updated": "updated_at", "#changed": "status_changed_at"}
        values: dict[str, Any] = {
            ":to": to.value,
            ":from": current.status.value,
            ":now": now,
            ":gsi2pk": f"{current.store}#{to.value}",
        }
        sets = ["#status = :to", "#updated = :now", "#changed = :now", "gsi2pk = :gsi2pk"]
        removes: list[str] = []
        if reason is not None:
            names["#reason"] = "reason"
            values[":reason"] = reason
            sets.append("#reason = :reason")
        elif current.status is VideoStatus.QUEUED and current.reason is not None:
            names["#reason"] = "reason"
            removes.append("#reason")
        for n, (name, value) in enumerate((extra or {}).items()):
            names[f"#x{n}"] = name
            values[f":x{n}"] = to_dynamo(value)
            sets.append(f"#x{n} = :x{n}")
        condition = "#status = :from"
        if owner is not None:
            names["#owner"] = "agg_owner"
            values[":owner"] = owner
            condition += " AND #owner = :owner"
        if to.final:
            # A final video holds no claim: nothing aggregates it any more.
            names["#owner"], names["#lease"] = "agg_owner", "agg_lease_until"
            removes += ["#owner", "#lease"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": video_key(current.video_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def footage(self, video_id: str) -> Footage | None:
        """Where a video's object version is, and whether it was deleted (retention 0)."""
        item = self.get_item(video_id)
        if item is None:
            return None
        return Footage(
            bucket=str(item["bucket"]),
            key=str(item["key"]),
            version_id=opt_str(item.get("version_id")),
            etag=opt_str(item.get("etag")),
            deleted_at=opt_str(item.get("footage_deleted_at")),
        )

    def mark_footage_deleted(self, video_id: str) -> None:
        self._table.update_item(
            Key=video_key(video_id),
            UpdateExpression="SET footage_deleted_at = if_not_exists(footage_deleted_at, :now)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": self._now_iso()},
        )

    def _now_iso(self) -> str:
        return iso_ms(int(self._clock() * 1000))
