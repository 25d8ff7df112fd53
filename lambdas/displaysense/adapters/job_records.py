"""The jobs of a video, as recorded on its table item: why they wait, their JobIds, their ends.

jobs.<kind>   {job_id, started_at, status, message, ended_at} for each job the video expects
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.dynamodb import is_conditional_failure
from displaysense.adapters.video_items import video_from_item, video_key
from displaysense.domain.timeutil import iso_ms
from displaysense.domain.video import ENDED, JobKind, Video, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class JobRecords:
    def __init__(self, table: Table, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def note_waiting(self, video_id: str, reason: str) -> bool:
        """Shows why a QUEUED video's jobs have not started (a refused start that is retried) as its
        reason, status unchanged; False when the video is no longer QUEUED."""
        try:
            self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression="SET #reason = :reason, #updated = :now",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#reason": "reason", "#updated": "updated_at", "#status": "status"},
                ExpressionAttributeValues={
                    ":reason": reason,
                    ":now": self._now_iso(),
                    ":queued": VideoStatus.QUEUED.value,
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def record_job_started(self, video_id: str, kind: JobKind, job_id: str) -> Video | None:
        """Remembers the JobId of a started job. Keeps a JobId already recorded (a retried Start*
        with the same token returns the same one) and never touches an ended job's status (its
        completion may have been recorded first). Returns the video as it is now, or None when the
        video does not expect this kind of job."""
        try:
            answer = self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression=(
                    "SET jobs.#k.job_id = if_not_exists(jobs.#k.job_id, :id), "
                    "jobs.#k.started_at = if_not_exists(jobs.#k.started_at, :now), #updated = :now"
                ),
                ConditionExpression="attribute_exists(jobs.#k)",
                ExpressionAttributeNames={"#k": kind.value, "#updated": "updated_at"},
                ExpressionAttributeValues={":id": job_id, ":now": self._now_iso()},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return video_from_item(answer["Attributes"])

    def record_job_end(
        self, video_id: str, kind: JobKind, *, job_id: str, status: str, message: str | None
    ) -> Video | None:
        """Records a job's end from its completion message; idempotent (a duplicate message writes
        the same values, and the first end time is kept). Returns the video as it is now, or None
        when the video does not expect this kind of job."""
        if status not in ENDED:
            raise ValueError(f"{status!r} is not a final job status")
        names = {"#k": kind.value, "#st": "status", "#updated": "updated_at"}
        values: dict[str, Any] = {":id": job_id, ":st": status, ":now": self._now_iso()}
        sets = [
            "jobs.#k.job_id = :id",
            "jobs.#k.#st = :st",
            "jobs.#k.ended_at = if_not_exists(jobs.#k.ended_at, :now)",
            "#updated = :now",
        ]
        if message:
            values[":msg"] = message
            sets.append("jobs.#k.message = :msg")
        try:
            answer = self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression="SET " + ", ".join(sets),
                # A duplicate completion writes nothing (not even updated_at).
                ConditionExpression=(
                    "attribute_exists(jobs.#k) AND (attribute_not_exists(jobs.#k.#st) OR jobs.#k.#st <> :st)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            current = self._table.get_item(Key=video_key(video_id), ConsistentRead=True).get("Item")
            if current is None:
                return None
            video = video_from_item(current)
            return video if kind in video.jobs else None
        return video_from_item(answer["Attributes"])

    def _now_iso(self) -> str:
        return iso_ms(int(self._clock() * 1000))
