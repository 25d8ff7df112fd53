"""Ingest Lambda: S3 ObjectCreated events from the ingest queue -> registered videos, started jobs.

For each object under uploads/ (a message may carry several records; S3's s3:TestEvent carries
none): validate it (PRODUCT.md §2), register the video (QUEUED, or REJECTED with a reason),
take a job slot per job and start StartLabelDetection (Person only; skipped in faces-only mode) and
StartFaceDetection (FaceAttributes=ALL), each with a ClientRequestToken derived from the object
version and JobTag = video id; then ANALYZING.

Everything is idempotent: a duplicate delivery finds the video and its recorded jobs and does
nothing; a retry after a crash re-sends Start* with the same token, which returns the same JobId
and starts nothing. When Rekognition refuses a start for its quota or throttling, the message goes
back to the queue with a backoff that grows with its receive count (ChangeMessageVisibility, then a
partial batch failure). When only DisplaySense's own job slots are all taken, the event is queued
again as a new message, delayed by about SLOT_WAIT_S: a slot frees as soon as a job ends, so a
doubling backoff would leave videos sleeping long after slots are free (a burst of 200 uploads
under a cap of 4 took 36 minutes instead of about 7), and waiting for our own cap is no failure
that should count towards the dead-letter queue.

Only a file Rekognition finds too large or too long is rejected at start. Every other refusal
(access denied, an object Rekognition cannot read, invalid parameters, an unknown error) is a
configuration problem, not the footage's: the video stays QUEUED with the refusal as its reason, and
the message is retried with the same backoff until it works or reaches the dead-letter queue.

A step that might not finish before the Lambda timeout is not begun: before each record and each
Start*, the handler checks that the slowest Start* still fits, and otherwise hands the message
back (visible again at once) for a fresh invocation.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from displaysense.adapters.aws import REKOGNITION_CALL_MS, error_code
from displaysense.adapters.job_slots import holder_of
from displaysense.adapters.rekognition_jobs import (
    REFUSALS_METRIC,
    BadInputError,
    ConfigurationError,
    RetryLaterError,
)
from displaysense.adapters.video_registry import ENDED
from displaysense.domain.drop_folder import SNIFF_BYTES, decode_event_key, validate_upload
from displaysense.domain.timeutil import iso_ms, parse_iso
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.domain.video_ids import client_request_token, job_tag, object_version, video_id
from displaysense.handlers import wiring
from displaysense.handlers.budget import Budget
from displaysense.resources import UPLOADS_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef

logger = Logger(service=wiring.SERVICE_NAME)
tracer = Tracer(service=wiring.SERVICE_NAME)
metrics = Metrics(service=wiring.SERVICE_NAME, namespace=wiring.METRICS_NAMESPACE)

# Backoff of a start that has to wait: doubling from the first retry, capped. With the queue's 50
# receives (resources.INGEST_QUEUE) a message waits about a day for the quota before it reaches the
# dead-letter queue and an alarm.
QUOTA_BACKOFF_BASE_S = 60
THROTTLE_BACKOFF_BASE_S = 10
MAX_BACKOFF_S = 1800
# A start waiting for one of DisplaySense's own job slots looks again after about this long.
SLOT_WAIT_S = 20
_MISSING_OBJECT = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})
# Time kept in hand before a record and before each Start*: the slowest Rekognition call
# (adapters/aws.py) plus the S3 and DynamoDB calls around it at their usual speed.
RECORD_CALLS_MS = 15_000
STEP_RESERVE_MS = REKOGNITION_CALL_MS + RECORD_CALLS_MS


class UnreadableMessageError(ValueError):
    """The message is not an S3 event this handler can read. Failing it (rather than dropping it)
    keeps it: after the queue's maxReceiveCount it is in the dead-letter queue, which alarms."""


class OutOfTimeError(Exception):
    """Too little of the invocation is left for the next step: the message goes back to the queue,
    visible at once, and a fresh invocation does it (records already done are no-ops then)."""


class StartDeferredError(Exception):
    """This record cannot be done now (no job slot, quota, throttling); its message must wait."""

    def __init__(self, reason: str, *, quota: bool, slots_full: bool = False) -> None:
        super().__init__(reason)
        self.quota = quota
        self.slots_full = slots_full  # only DisplaySense's own cap: Rekognition refused nothing


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # URL-decoded
    size: int
    version_id: str | None
    etag: str | None
    event_time: str | None


def job_kinds(faces_only: bool) -> list[JobKind]:
    return [JobKind.FACES] if faces_only else [JobKind.LABELS, JobKind.FACES]


def backoff_s(receive_count: int, *, quota: bool) -> int:
    """Visibility timeout for the next attempt: base * 2^(n-1), capped, with ±20 % jitter so
    messages refused together do not all return at the same moment."""
    base = QUOTA_BACKOFF_BASE_S if quota else THROTTLE_BACKOFF_BASE_S
    delay = min(MAX_BACKOFF_S, base * 2 ** (max(1, min(receive_count, 16)) - 1))
    return int(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = wiring.services()
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    budget = Budget(context)

    def record_handler(record: SQSRecord) -> None:
        process_message(record, services, budget)

    # A processor per invocation: local mode may run handlers in threads of one process. With
    # raise_on_entire_batch_failure off, a batch that all waits for the quota is reported item by
    # item instead of failing the invocation (which would count as a Lambda error and alarm).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


def process_message(record: SQSRecord, services: wiring.Services, budget: Budget) -> None:
    if not budget.allows(STEP_RESERVE_MS):
        _hand_back(record, services, budget)
    try:
        body = json.loads(record.body)
    except ValueError:
        _unreadable(record, "ingest message is not JSON")
    if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
        # S3 sends this once when the notification is configured; it names no object.
        logger.info("s3:TestEvent ignored", extra={"bucket": body.get("Bucket")})
        return
    records = body.get("Records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        _unreadable(record, "ingest message is not an S3 event")
    waiting: list[StartDeferredError] = []
    unreadable = 0
    for entry in records:
        try:
            obj = _s3_object(entry)
        except UnreadableMessageError:
            unreadable += 1  # the other records of the message go on
            continue
        if obj is None:
            continue
        try:
            if not budget.allows(STEP_RESERVE_MS):
                raise OutOfTimeError
            ingest_object(obj, services, budget)
        except StartDeferredError as exc:
            # The other records of the message go on; the retry finds them done.
            waiting.append(exc)
        except OutOfTimeError:
            _hand_back(record, services, budget)
    if unreadable and not waiting:
        _unreadable(record, f"{unreadable} unreadable S3 record(s) (not an object, or no bucket or key)")
    if waiting and all(e.slots_full for e in waiting) and _queue_again(record, services):
        metrics.add_metric(name="StartsDeferred", unit=MetricUnit.Count, value=len(waiting))
        logger.info("waiting for a job slot", extra={"reason": str(waiting[0]), "retry_in_s": SLOT_WAIT_S})
        return
    if waiting:
        quota = any(e.quota for e in waiting)
        delay = backoff_s(int(record.attributes.approximate_receive_count or 1), quota=quota)
        _delay_message(record, services, delay)
        metrics.add_metric(name="StartsDeferred", unit=MetricUnit.Count, value=len(waiting))
        logger.info(
            "start deferred",
            extra={
                "reason": str(waiting[0]),
                "retry_in_s": delay,
                "receive_count": record.attributes.approximate_receive_count,
            },
        )
        raise waiting[0]


def _hand_back(record: SQSRecord, services: wiring.Services, budget: Budget) -> NoReturn:
    _delay_message(record, services, 0)
    metrics.add_metric(name="MessagesHandedBack", unit=MetricUnit.Count, value=1)
    logger.info(
        "too little time left for the next step; the message is handed back",
        extra={"message_id": record.message_id, "remaining_ms": budget.remaining_ms()},
    )
    raise OutOfTimeError(f"less than {STEP_RESERVE_MS} ms left")


def _unreadable(record: SQSRecord, what: str) -> NoReturn:
    logger.error(f"{what}; left for the dead-letter queue", extra={"message_id": record.message_id})
    metrics.add_metric(name="UnreadableMessages", unit=MetricUnit.Count, value=1)
    raise UnreadableMessageError(what)


def _s3_object(entry: Any) -> S3Object | None:
    """The object an S3 record names; None for records of other events (ObjectRemoved, ...)."""
    if not isinstance(entry, dict):
        raise UnreadableMessageError("an S3 record is not an object")
    name = str(entry.get("eventName", ""))
    if not name.startswith("ObjectCreated"):
        logger.info("S3 event ignored", extra={"event_name": name})
        return None
    s3 = entry.get("s3") or {}
    raw = s3.get("object") or {}
    bucket = (s3.get("bucket") or {}).get("name")
    if not bucket or "key" not in raw:
        raise UnreadableMessageError("S3 record without bucket or key")
    return S3Object(
        bucket=str(bucket),
        key=decode_event_key(str(raw["key"])),
        size=int(raw.get("size") or 0),
        # "null" is how S3 names the version of an object written while versioning was off.
        version_id=raw.get("versionId") if raw.get("versionId") not in (None, "", "null") else None,
        etag=raw.get("eTag") or None,
        event_time=entry.get("eventTime"),
    )


def _queue_again(record: SQSRecord, services: wiring.Services) -> bool:
    """The same event as a new, delayed message; the current one is then done. False when SQS
    refused it: the caller falls back to the backoff of the current message."""
    delay = int(SLOT_WAIT_S * random.uniform(0.75, 1.25))  # noqa: S311 - jitter, not security
    try:
        services.clients.sqs.send_message(
            QueueUrl=record.queue_url, MessageBody=record.body, DelaySeconds=delay
        )
    except ClientError as exc:
        logger.warning("could not queue the event again", extra={"error": error_code(exc)})
        return False
    return True


def _delay_message(record: SQSRecord, services: wiring.Services, delay_s: int) -> None:
    try:
        services.clients.sqs.change_message_visibility(
            QueueUrl=record.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay_s
        )
    except ClientError as exc:
        # The message still returns after the queue's visibility timeout: later, not lost.
        logger.warning("could not set the backoff", extra={"error": error_code(exc)})


@tracer.capture_method(capture_response=False)
def ingest_object(obj: S3Object, services: wiring.Services, budget: Budget) -> None:
    if not obj.key.startswith(UPLOADS_PREFIX):
        logger.info("object outside uploads/ ignored")
        return
    if obj.key.endswith("/") and obj.size == 0:
        # The console's "create folder" writes such a key; it is not an upload.
        logger.info("folder marker ignored")
        return
    vid = video_id(obj.bucket, obj.key, object_version(obj.version_id, obj.etag))
    video = services.registry.get(vid)
    if video is None:
        video = register(obj, vid, services)
        if video is None:
            return
    if video.status.final:
        logger.info("video already final", extra={"video_id": vid, "status": video.status.value})
        return
    start_jobs(video, services, budget)


def register(obj: S3Object, vid: str, services: wiring.Services) -> Video | None:
    """Validates the object and stores its video; None when the object is gone."""
    s3 = services.clients.s3
    version = {"VersionId": obj.version_id} if obj.version_id else {}
    try:
        head = s3.head_object(Bucket=obj.bucket, Key=obj.key, **version)  # type: ignore[arg-type]
    except ClientError as exc:
        if error_code(exc) in _MISSING_OBJECT:
            logger.warning("object no longer exists; nothing to ingest", extra={"video_id": vid})
            return None
        raise
    version_id = obj.version_id or _current_version(head, obj)
    if obj.version_id is None and obj.etag and _etag(head) != _etag_of(obj.etag):
        # Unversioned bucket, overwritten since the event: the new object has its own event.
        logger.warning("object replaced since the event; skipped", extra={"video_id": vid})
        return None
    size = int(head.get("ContentLength", obj.size))
    first_bytes = b""
    if size > 0:
        ranged = s3.get_object(
            Bucket=obj.bucket,
            Key=obj.key,
            Range=f"bytes=0-{SNIFF_BYTES - 1}",
            **version,  # type: ignore[arg-type]
        )
        first_bytes = ranged["Body"].read(SNIFF_BYTES)
    now = services.clock()
    decision = validate_upload(
        key=obj.key,
        size=size,
        max_bytes=services.settings.max_video_bytes,
        head=first_bytes,
        metadata_recorded_at=(head.get("Metadata") or {}).get("recorded-at"),
        now=_utc(now),
    )
    recorded_at = decision.recorded_at or _fallback_time(obj.event_time, now)
    created_at = iso_ms(int(now * 1000))
    video = Video(
        video_id=vid,
        store=decision.store,
        camera=decision.camera,
        bucket=obj.bucket,
        key=obj.key,
        version_id=version_id,
        size=size,
        recorded_at=recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        status=VideoStatus.QUEUED if decision.accepted else VideoStatus.REJECTED,
        created_at=created_at,
        updated_at=created_at,
        reason=decision.reason,
    )
    expected = job_kinds(services.settings.faces_only) if decision.accepted else []
    stored, created = services.registry.register(
        video, expected_jobs=expected, time_known=decision.recorded_at is not None, etag=_etag(head)
    )
    if created:
        metrics.add_metric(
            name="VideosRejected" if stored.status is VideoStatus.REJECTED else "VideosQueued",
            unit=MetricUnit.Count,
            value=1,
        )
    logger.info(
        "video registered" if created else "video already registered",
        extra={
            "video_id": vid,
            "store": stored.store,
            "camera": stored.camera,
            "status": stored.status.value,
            "size": size,
            "container": decision.container.kind if decision.container else None,
            "problems": [p.field for p in decision.problems],
        },
    )
    return stored


def _current_version(head: HeadObjectOutputTypeDef, obj: S3Object) -> str | None:
    # An event without a version id (emulators, or an unversioned bucket): the version HEAD shows is
    # the one the event meant if the content is the same.
    found = head.get("VersionId")
    if not found or found == "null":
        return None
    return found if obj.etag is None or _etag(head) == _etag_of(obj.etag) else None


def _etag(head: HeadObjectOutputTypeDef) -> str | None:
    tag = head.get("ETag")
    return _etag_of(tag) if tag else None


def _etag_of(tag: str) -> str:
    return tag.strip().strip('"')


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _fallback_time(event_time: str | None, now: float) -> datetime:
    """When a rejected upload's recording time is unknown it is listed at its upload time."""
    if event_time:
        try:
            return parse_iso(event_time).replace(microsecond=0)
        except ValueError:
            pass
    return _utc(int(now))


def start_jobs(video: Video, services: wiring.Services, budget: Budget) -> None:
    """Starts every job of the video that has no JobId yet, each in a job slot; then ANALYZING."""
    vid = video.video_id
    for kind, job in video.jobs.items():
        if job.job_id:
            continue
        if not budget.allows(STEP_RESERVE_MS):
            raise OutOfTimeError  # before taking a slot: nothing to give back
        holder = holder_of(vid, kind)
        slot = services.slots.acquire(holder)
        if slot is None:
            raise StartDeferredError(
                f"all {services.slots.capacity} job slots are taken", quota=True, slots_full=True
            )
        try:
            job_id = services.jobs.start(
                kind,
                bucket=video.bucket,
                key=video.key,
                version_id=video.version_id,
                token=client_request_token(vid, kind),
                job_tag=job_tag(vid),
            )
        except RetryLaterError as exc:
            services.slots.release(holder)
            raise StartDeferredError(
                f"Rekognition refused the {kind.value} job: {exc.code}", quota=exc.quota
            ) from exc
        except BadInputError as exc:
            services.slots.release(holder)
            _end_before_start(
                video,
                VideoStatus.REJECTED,
                f"Rekognition cannot analyse this file: {exc.message or exc.code} (Rekognition Video "
                "analyses at most 10 GB and 6 hours per file): split the recording",
                services,
            )
            return
        except ConfigurationError as exc:
            services.slots.release(holder)
            _refused(video, kind, exc, services)  # raises StartDeferredError unless the video ended
            return
        updated = services.registry.record_job_started(vid, kind, job_id)
        logger.info(
            "job started", extra={"video_id": vid, "kind": kind.value, "job_id": job_id, "slot": slot}
        )
        metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
        ended = updated is not None and updated.jobs[kind].status in ENDED
        if updated is None or ended:
            # The completion was recorded before this start (a retry after a crash): its slot was
            # released then, and the one just taken would otherwise stay taken until its lease ends.
            services.slots.release(holder)
    result = services.registry.transition(vid, VideoStatus.ANALYZING, allowed_from=(VideoStatus.QUEUED,))
    if result.changed:
        logger.info("video analyzing", extra={"video_id": vid, "jobs": len(video.jobs)})


def _refused(video: Video, kind: JobKind, exc: ConfigurationError, services: wiring.Services) -> None:
    """A start refused for a reason a deployment fixes: the video stays QUEUED and says why, and
    the message waits with backoff (StartDeferredError; dead-letter queue and alarm if it never
    works). Only footage deleted since the upload ends the video: no retry can bring it back."""
    vid = video.video_id
    if exc.code == "InvalidS3ObjectException" and _footage_gone(video, services):
        _end_before_start(
            video,
            VideoStatus.FAILED,
            "the uploaded object version was deleted before Rekognition could read it (by hand, or by "
            "the footage lifecycle rule while it waited): upload the recording again",
            services,
        )
        return
    reason = (
        f"Not started yet: Rekognition refused the {kind.value} job ({exc}); {exc.hint}. Retried with a "
        "growing backoff; if it never works the ingest message ends in the dead-letter queue"
    )
    services.registry.note_waiting(vid, reason)
    metrics.add_metric(name=REFUSALS_METRIC, unit=MetricUnit.Count, value=1)
    logger.error(
        "Rekognition refused a start; retried with backoff",
        extra={"video_id": vid, "kind": kind.value, "code": exc.code, "hint": exc.hint},
    )
    raise StartDeferredError(f"Rekognition refused the {kind.value} job: {exc.code}", quota=False) from exc


def _footage_gone(video: Video, services: wiring.Services) -> bool:
    version = {"VersionId": video.version_id} if video.version_id else {}
    try:
        services.clients.s3.head_object(Bucket=video.bucket, Key=video.key, **version)  # type: ignore[arg-type]
    except ClientError as exc:
        return error_code(exc) in _MISSING_OBJECT
    return False


def _end_before_start(video: Video, status: VideoStatus, reason: str, services: wiring.Services) -> None:
    result = services.registry.transition(
        video.video_id, status, allowed_from=(VideoStatus.QUEUED,), reason=reason
    )
    logger.warning("job not started", extra={"video_id": video.video_id, "status": result.video.status.value})
    if result.changed:
        metrics.add_metric(
            name="VideosRejected" if status is VideoStatus.REJECTED else "VideosFailed",
            unit=MetricUnit.Count,
            value=1,
        )
