"""Videos in the single table: registration, status transitions, job records, the aggregation claim,
and the read queries of the API.

Items (docs/architecture.md, "Table"):

    VIDEO#<video id> / VIDEO        the video, its jobs (map by kind), summary, claim and checkpoint
    STORES / <store>#<camera>       camera registry: first/last recorded_at, n_<STATUS> counts

Every status change is one TransactWriteItems: the video's conditional update (status must still be
the one read) and the camera item's counters (ADD n_<from> -1, n_<to> +1). Either both happen or
neither, so the counts stay exact however often a message is retried or raced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.aws import error_code, is_conditional_failure
from displaysense.domain.metrics import Counters
from displaysense.domain.timeutil import iso_ms, iso_s, parse_iso
from displaysense.domain.video import Job, JobKind, Video, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

VIDEO_SK = "VIDEO"
STORES_PK = "STORES"
ALL_VIDEOS = "VIDEO"  # gsi3pk of every video: the by_time index lists them all
# Job status before Start* returned a JobId (the video waits for a job slot or the quota).
PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
ENDED = frozenset({"SUCCEEDED", "FAILED", "ERROR"})
ACTIVE = (VideoStatus.QUEUED, VideoStatus.ANALYZING)
# Cap on index pages one list_videos call reads while a filter (camera or status without a store)
# discards items; the caller continues with the cursor.
MAX_LIST_PAGES = 10
_TRANSACTION_ATTEMPTS = 8


class VideoNotFoundError(LookupError):
    pass


class ClaimLostError(RuntimeError):
    """Another invocation holds the aggregation claim now (this one's lease ran out)."""


class InvalidCursorError(ValueError):
    """A list cursor that this query did not hand out (or that was altered)."""


def video_pk(video_id: str) -> str:
    return f"VIDEO#{video_id}"


def camera_sk(store: str, camera: str) -> str:
    return f"{store}#{camera}"


@dataclass
class StreamCheckpoint:
    """How far the results of one job are archived."""

    pages: int = 0  # pages archived: results/<video>/<kind>/page-00000 .. page-<pages - 1>
    next_token: str | None = None  # NextToken for page `pages`; None with done=False: first page
    done: bool = False
    restarts: int = 0  # paging restarted from the first page (InvalidPaginationTokenException)

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"pages": self.pages, "done": self.done, "restarts": self.restarts}
        if self.next_token is not None:
            item["next_token"] = self.next_token
        return item

    @classmethod
    def from_item(cls, raw: Mapping[str, Any]) -> StreamCheckpoint:
        token = raw.get("next_token")
        return cls(
            pages=int(raw.get("pages", 0)),
            next_token=str(token) if token is not None else None,
            done=bool(raw.get("done", False)),
            restarts=int(raw.get("restarts", 0)),
        )


@dataclass
class Checkpoint:
    """Progress of one video's aggregation, saved under the claim so a fresh invocation resumes."""

    streams: dict[JobKind, StreamCheckpoint] = field(default_factory=dict)
    continuations: int = 0  # fresh invocations started because time ran low

    def stream(self, kind: JobKind) -> StreamCheckpoint:
        return self.streams.setdefault(kind, StreamCheckpoint())

    def to_item(self) -> dict[str, Any]:
        return {
            "streams": {kind.value: s.to_item() for kind, s in self.streams.items()},
            "continuations": self.continuations,
        }

    @classmethod
    def from_item(cls, raw: Mapping[str, Any] | None) -> Checkpoint:
        if not raw:
            return cls()
        streams = {JobKind(k): StreamCheckpoint.from_item(v) for k, v in (raw.get("streams") or {}).items()}
        return cls(streams=streams, continuations=int(raw.get("continuations", 0)))


@dataclass
class Claim:
    """The aggregation claim of one video, held by `owner` until `lease_until` (epoch seconds)."""

    video: Video
    owner: str
    lease_until: int
    checkpoint: Checkpoint


@dataclass(frozen=True)
class CameraEntry:
    store: str
    camera: str
    first_recorded_at: str | None  # None while the camera has only uploads with no known time
    last_recorded_at: str | None
    counts: dict[str, int]  # every VideoStatus value -> number of videos in it


@dataclass(frozen=True)
class Footage:
    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    deleted_at: str | None


@dataclass(frozen=True)
class Transition:
    video: Video
    changed: bool  # False: the video was already in the target status, or not in an allowed one


class VideoRegistry:
    def __init__(self, table: Table, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._client = table.meta.client
        self._clock = clock
        self.query_count = 0  # Query requests made (benchmarks and tests count them)

    # ---- reads ------------------------------------------------------------------------------

    def get(self, video_id: str) -> Video | None:
        item = self._get_item(video_id)
        return None if item is None else video_from_item(item)

    def get_claim(self, video_id: str) -> Claim | None:
        """The video with its claim and checkpoint, or None when it does not exist."""
        item = self._get_item(video_id)
        if item is None:
            return None
        return _claim_from_item(item)

    def _get_item(self, video_id: str) -> dict[str, Any] | None:
        # Strongly consistent: a status written by the other Lambda a moment ago must be seen.
        answer = self._table.get_item(Key={"pk": video_pk(video_id), "sk": VIDEO_SK}, ConsistentRead=True)
        return answer.get("Item")

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

    def list_cameras(self) -> list[CameraEntry]:
        """Every store and camera that received an upload, sorted by store and camera."""
        cameras: list[CameraEntry] = []
        start_key: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": STORES_PK},
            }
            if start_key:
                request["ExclusiveStartKey"] = start_key
            answer = self._table.query(**request)
            self.query_count += 1
            cameras.extend(_camera_from_item(item) for item in answer.get("Items", []))
            start_key = answer.get("LastEvaluatedKey")
            if not start_key:
                return cameras

    # ---- registration and transitions -------------------------------------------------------

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
            self._widen_bounds(video.store, video.camera, video.recorded_at)
        created = self._transact_or_conditional(
            [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._camera_update(video.store, video.camera, None, video.status),
            ]
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
        video's reason only says why it waits (`note_waiting`): leaving QUEUED without a new reason
        removes it.
        """
        for attempt in range(_TRANSACTION_ATTEMPTS):
            item = self._get_item(video_id)
            if item is None:
                raise VideoNotFoundError(video_id)
            current = video_from_item(item)
            if current.status == to:
                return Transition(current, False)
            if current.status not in allowed_from:
                return Transition(current, False)
            if owner is not None and item.get("agg_owner") != owner:
                raise ClaimLostError(video_id)
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
                values[f":x{n}"] = _to_dynamo(value)
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
            done = self._transact_or_conditional(
                [
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": video_pk(video_id), "sk": VIDEO_SK},
                            "UpdateExpression": expression,
                            "ConditionExpression": condition,
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    self._camera_update(current.store, current.camera, current.status, to),
                ]
            )
            if done:
                updated = self.get(video_id)
                assert updated is not None
                return Transition(updated, True)
            self._pause(attempt)
        raise RuntimeError(f"video {video_id}: status kept changing under {_TRANSACTION_ATTEMPTS} attempts")

    def _camera_update(
        self, store: str, camera: str, from_status: VideoStatus | None, to: VideoStatus
    ) -> dict[str, Any]:
        names = {"#store": "store", "#camera": "camera", "#to": f"n_{to.value}"}
        values: dict[str, Any] = {":store": store, ":camera": camera, ":one": 1}
        adds = ["#to :one"]
        if from_status is not None:
            names["#from"] = f"n_{from_status.value}"
            values[":minus"] = -1
            adds.append("#from :minus")
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": STORES_PK, "sk": camera_sk(store, camera)},
                "UpdateExpression": "SET #store = :store, #camera = :camera ADD " + ", ".join(adds),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _widen_bounds(self, store: str, camera: str, recorded_at: str) -> None:
        key = {"pk": STORES_PK, "sk": camera_sk(store, camera)}
        for attribute, comparison in (("first_recorded_at", ">"), ("last_recorded_at", "<")):
            try:
                # The names too: this may create the camera's item, which `list_cameras` (the API)
                # can read before the registration's transaction adds the first count.
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET #a = :t, #store = :store, #camera = :camera",
                    ConditionExpression=f"attribute_not_exists(#a) OR #a {comparison} :t",
                    ExpressionAttributeNames={"#a": attribute, "#store": "store", "#camera": "camera"},
                    ExpressionAttributeValues={":t": recorded_at, ":store": store, ":camera": camera},
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise

    def _transact_or_conditional(self, items: list[dict[str, Any]]) -> bool:
        """True when the transaction was written; False when the first item's condition failed.

        A transaction conflict (another transaction on the same items at the same moment) is
        retried here; any other cancellation is an error.
        """
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return True
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                codes = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False
                if "TransactionConflict" not in codes and "ThrottlingError" not in codes:
                    raise
            self._pause(attempt)
        raise RuntimeError("transaction kept conflicting with concurrent writes")

    def footage(self, video_id: str) -> Footage | None:
        """Where a video's object version is, and whether it was deleted (retention 0)."""
        item = self._get_item(video_id)
        if item is None:
            return None
        return Footage(
            bucket=str(item["bucket"]),
            key=str(item["key"]),
            version_id=_opt_str(item.get("version_id")),
            etag=_opt_str(item.get("etag")),
            deleted_at=_opt_str(item.get("footage_deleted_at")),
        )

    def mark_footage_deleted(self, video_id: str) -> None:
        self._table.update_item(
            Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
            UpdateExpression="SET footage_deleted_at = if_not_exists(footage_deleted_at, :now)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": self._now_iso()},
        )

    def videos_in_status_since(self, store: str, status: VideoStatus, before: str) -> list[str]:
        """Ids of a store's videos that entered `status` before `before` (ISO 8601) and are still
        in it: one Query of the by_store_status index (the watchdog's stuck-video count)."""
        found: list[str] = []
        request: dict[str, Any] = {
            "IndexName": "by_store_status",
            "KeyConditionExpression": "gsi2pk = :pk",
            "FilterExpression": "#changed < :before",
            "ExpressionAttributeNames": {"#changed": "status_changed_at"},
            "ExpressionAttributeValues": {":pk": f"{store}#{status.value}", ":before": before},
            "ProjectionExpression": "video_id",
        }
        while True:
            answer = self._table.query(**request)
            self.query_count += 1
            found.extend(str(item["video_id"]) for item in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last

    # ---- jobs -------------------------------------------------------------------------------

    def note_waiting(self, video_id: str, reason: str) -> bool:
        """Shows why a QUEUED video's jobs have not started (a refused start that is retried) as its
        reason, status unchanged; False when the video is no longer QUEUED."""
        try:
            self._table.update_item(
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
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
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
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
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
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
            current = self.get(video_id)
            if current is None or kind not in current.jobs:
                return None
            return current
        return video_from_item(answer["Attributes"])

    # ---- aggregation claim ------------------------------------------------------------------

    def claim_aggregation(self, video_id: str, owner: str, lease_s: int) -> Claim | None:
        """Takes the right to aggregate a video that is still QUEUED or ANALYZING.

        Succeeds when nobody holds the claim, its lease ran out (the holder died), or `owner` holds
        it already. None means another invocation is aggregating, or the video is final.
        """
        now = int(self._clock())
        try:
            answer = self._table.update_item(
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
                UpdateExpression="SET #owner = :owner, #lease = :lease, #claimed = :now_iso",
                ConditionExpression=(
                    "attribute_exists(pk) AND #status IN (:queued, :analyzing) AND "
                    "(attribute_not_exists(#owner) OR #lease < :now OR #owner = :owner)"
                ),
                ExpressionAttributeNames={
                    "#owner": "agg_owner",
                    "#lease": "agg_lease_until",
                    "#claimed": "agg_claimed_at",
                    "#status": "status",
                },
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":lease": now + lease_s,
                    ":now": now,
                    ":now_iso": self._now_iso(),
                    ":queued": VideoStatus.QUEUED.value,
                    ":analyzing": VideoStatus.ANALYZING.value,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return _claim_from_item(answer["Attributes"])

    def save_checkpoint(self, video_id: str, owner: str, checkpoint: Checkpoint, lease_s: int) -> None:
        """Saves progress and extends the lease; ClaimLostError when `owner` no longer holds it."""
        now = int(self._clock())
        try:
            self._table.update_item(
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
                UpdateExpression="SET #cp = :cp, #lease = :lease",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#cp": "checkpoint",
                    "#lease": "agg_lease_until",
                    "#owner": "agg_owner",
                },
                ExpressionAttributeValues={
                    ":cp": checkpoint.to_item(),
                    ":lease": now + lease_s,
                    ":owner": owner,
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise ClaimLostError(video_id) from None
            raise

    def release_claim(self, video_id: str, owner: str) -> bool:
        """Gives the claim up (a continuation or a retry may take it at once); False if not held."""
        try:
            self._table.update_item(
                Key={"pk": video_pk(video_id), "sk": VIDEO_SK},
                UpdateExpression="REMOVE #owner, #lease",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "agg_owner", "#lease": "agg_lease_until"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def complete(
        self,
        video_id: str,
        owner: str,
        *,
        summary: Counters,
        duration_ms: int | None,
        passes: int,
    ) -> Transition:
        """SUCCEEDED with the summary, only while `owner` holds the claim (ClaimLostError)."""
        extra: dict[str, Any] = {
            "summary": summary.to_dict(),
            "analyzed_at": self._now_iso(),
            "passes": passes,
        }
        if duration_ms is not None:
            extra["duration_ms"] = duration_ms
        return self.transition(video_id, VideoStatus.SUCCEEDED, allowed_from=ACTIVE, owner=owner, extra=extra)

    # ---- helpers ----------------------------------------------------------------------------

    def _now_iso(self) -> str:
        return iso_ms(int(self._clock() * 1000))

    def _pause(self, attempt: int) -> None:
        # Short, jittered: racing writers of one video are two Lambdas, not a crowd.
        time.sleep(min(0.5, 0.02 * 2**attempt) * random.random())  # noqa: S311 - jitter, not security


# ---- item <-> model ---------------------------------------------------------------------------


def video_to_item(video: Video) -> dict[str, Any]:
    """The table item of a video (without its jobs map, which `register` and updates own)."""
    index_sk = f"{video.recorded_at}#{video.camera}#{video.video_id}"
    item: dict[str, Any] = {
        "pk": video_pk(video.video_id),
        "sk": VIDEO_SK,
        "video_id": video.video_id,
        "store": video.store,
        "camera": video.camera,
        "bucket": video.bucket,
        "key": video.key,
        "size": video.size,
        "recorded_at": video.recorded_at,
        "status": video.status.value,
        "created_at": video.created_at,
        "updated_at": video.updated_at,
        "gsi1pk": video.store,
        "gsi1sk": index_sk,
        "gsi2pk": f"{video.store}#{video.status.value}",
        "gsi2sk": index_sk,
        "gsi3pk": ALL_VIDEOS,
        "gsi3sk": f"{video.recorded_at}#{video.video_id}",
    }
    if video.version_id is not None:
        item["version_id"] = video.version_id
    if video.reason is not None:
        item["reason"] = video.reason
    if video.summary is not None:
        item["summary"] = video.summary.to_dict()
    if video.duration_ms is not None:
        item["duration_ms"] = video.duration_ms
    if video.analyzed_at is not None:
        item["analyzed_at"] = video.analyzed_at
    return item


def video_from_item(item: Mapping[str, Any]) -> Video:
    jobs: dict[JobKind, Job] = {}
    for name, raw in (item.get("jobs") or {}).items():
        kind = JobKind(name)
        job_id = str(raw.get("job_id") or "")
        status = raw.get("status") or (IN_PROGRESS if job_id else PENDING)
        jobs[kind] = Job(
            kind=kind,
            job_id=job_id,
            status=str(status),
            message=_opt_str(raw.get("message")),
            ended_at=_opt_str(raw.get("ended_at")),
        )
    summary = item.get("summary")
    duration = item.get("duration_ms")
    return Video(
        video_id=str(item["video_id"]),
        store=str(item["store"]),
        camera=str(item["camera"]),
        bucket=str(item["bucket"]),
        key=str(item["key"]),
        version_id=_opt_str(item.get("version_id")),
        size=int(item.get("size", 0)),
        recorded_at=str(item["recorded_at"]),
        status=VideoStatus(str(item["status"])),
        created_at=str(item["created_at"]),
        updated_at=str(item["updated_at"]),
        reason=_opt_str(item.get("reason")),
        jobs=dict(sorted(jobs.items())),
        summary=Counters.from_dict(summary) if summary else None,
        duration_ms=int(duration) if duration is not None else None,
        analyzed_at=_opt_str(item.get("analyzed_at")),
    )


def _claim_from_item(item: Mapping[str, Any]) -> Claim:
    return Claim(
        video=video_from_item(item),
        owner=str(item.get("agg_owner") or ""),
        lease_until=int(item.get("agg_lease_until", 0)),
        checkpoint=Checkpoint.from_item(item.get("checkpoint")),
    )


def _camera_from_item(item: Mapping[str, Any]) -> CameraEntry:
    return CameraEntry(
        store=str(item["store"]),
        camera=str(item["camera"]),
        first_recorded_at=_opt_str(item.get("first_recorded_at")),
        last_recorded_at=_opt_str(item.get("last_recorded_at")),
        counts={s.value: int(item.get(f"n_{s.value}", 0)) for s in VideoStatus},
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _to_dynamo(value: Any) -> Any:
    """Python values as the DynamoDB resource layer accepts them (floats become Decimal)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


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
