"""Results Lambda: Rekognition completions (SNS envelopes in the completion queue) -> metrics.

For each completion: record the job's end on the video and free its job slot. A FAILED/ERROR job
makes the video FAILED with Rekognition's message. When every job of the video has succeeded, the
invocation that wins the video's aggregation claim (a conditional write with a lease) pages
through the Get* results, archiving each raw page under results/<video>/ and checkpointing after
each; then runs the engine on the archived pages, writes the buckets and passes, and sets
SUCCEEDED. Duplicate or reordered completions find the claim taken or the video final.

It never runs out of time silently: before each page (keeping the slowest Get* in hand, from the
client's timeouts), before the engine, and while the engine reads the archived pages, it checks the
time left; when it runs low it saves the checkpoint, gives up the claim and sends itself a
continuation message (to the completion queue), which a fresh invocation resumes from the
checkpoint. A video whose engine step does not fit even in a fresh invocation is FAILED with a
reason saying so, rather than timing out until its message reaches the dead-letter queue. An
expired NextToken (InvalidPaginationTokenException) restarts that job's paging from its first page
(a few times at most, then FAILED). A refused Get* (access denied right after a deployment, ...)
fails the message, which is retried and ends in the dead-letter queue if it never works. Whatever
crashes where, the retry recomputes from the same pages and overwrites the same items: the numbers
equal a clean run's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

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
    ConfigurationError,
    InvalidPaginationTokenError,
    PermanentError,
    RetryLaterError,
    kind_of_api,
)
from displaysense.adapters.video_registry import (
    ACTIVE,
    ENDED,
    Checkpoint,
    Claim,
    ClaimLostError,
    StreamCheckpoint,
)
from displaysense.domain.detections import PageError
from displaysense.domain.engine import InputOrderError, PassList, analyze
from displaysense.domain.timeutil import parse_iso
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.domain.video_ids import is_video_id
from displaysense.handlers import wiring
from displaysense.handlers.budget import Budget
from displaysense.resources import COMPLETION_QUEUE, RESULTS_FUNCTION

logger = Logger(service=wiring.SERVICE_NAME)
tracer = Tracer(service=wiring.SERVICE_NAME)
metrics = Metrics(service=wiring.SERVICE_NAME, namespace=wiring.METRICS_NAMESPACE)

CONTINUATION = "displaysense.results.continue"
# The claim outlives the invocation that took it by a minute: a holder that died (timeout, crash)
# blocks nobody for long, and its own message returns only after the queue's visibility timeout
# (6 x the function timeout), when the lease is long gone.
CLAIM_LEASE_S = RESULTS_FUNCTION.timeout_s + 60
# Time kept in hand before fetching a page: the slowest Get* (every attempt waiting out the client's
# timeouts, adapters/aws.py), then the archive write, the checkpoint and a hand-off at their usual
# speed.
PAGE_WRITES_MS = 15_000
PAGE_RESERVE_MS = REKOGNITION_CALL_MS + PAGE_WRITES_MS
# Time the engine and the table writes are given: a fixed part (what the writes keep in hand while
# the engine runs) plus a part per archived page (the engine takes about 30 ms for a 1000-entry page
# on a laptop, plus the page's S3 GET; 1.5 s leaves room for a slower Lambda CPU). Short of the
# estimate, the work continues in a fresh invocation with the whole timeout.
ENGINE_BASE_MS = 30_000
ENGINE_PER_PAGE_MS = 1_500
# An invocation that has used less than this has nothing to gain from handing off.
HAND_OFF_MIN_USED_MS = 10_000
MAX_PAGING_RESTARTS = 3
# A continuation after a throttled Get* waits this long (SQS DelaySeconds, at most 900).
THROTTLED_DELAY_S = 60


@dataclass(frozen=True)
class Completion:
    job_id: str
    status: str  # SUCCEEDED | FAILED | ERROR
    api: str
    job_tag: str | None
    message: str | None


@dataclass(frozen=True)
class Continuation:
    video_id: str


class UnreadableMessageError(ValueError):
    """Neither a completion nor a continuation. Failing it (rather than dropping it) keeps it: after
    the queue's maxReceiveCount it is in the dead-letter queue, which alarms."""


class ContinueLaterError(Exception):
    """This message cannot be done now (another invocation holds the claim): retry it later."""


class EngineOutOfTimeError(Exception):
    """The engine was still reading archived pages when only the writes' time was left."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = wiring.services()
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    budget = Budget(context)

    def record_handler(record: SQSRecord) -> None:
        process_message(record, services, budget)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


def parse_body(body: str) -> Completion | Continuation | None:  # noqa: PLR0911 - one per shape
    """A completion (SNS envelope, or raw delivery), our own continuation, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == CONTINUATION:
        video = data.get("video_id")
        return Continuation(str(video)) if isinstance(video, str) else None
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        try:
            data = json.loads(data["Message"])
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
    if "JobId" not in data or "Status" not in data:
        return None
    message = data.get("StatusMessage") or data.get("Message")
    tag = data.get("JobTag")
    return Completion(
        job_id=str(data["JobId"]),
        status=str(data["Status"]).upper(),
        api=str(data.get("API", "")),
        job_tag=str(tag) if tag else None,
        message=str(message) if message else None,
    )


def continuation_body(video_id: str) -> str:
    return json.dumps({"type": CONTINUATION, "video_id": video_id})


def process_message(record: SQSRecord, services: wiring.Services, budget: Budget) -> None:
    parsed = parse_body(record.body)
    if isinstance(parsed, Continuation):
        logger.info("continuation", extra={"video_id": parsed.video_id})
        aggregate(parsed.video_id, services, budget, continuation=True)
    elif isinstance(parsed, Completion):
        receives = int(record.attributes.approximate_receive_count or 1)
        handle_completion(
            parsed, services, budget, last_receive=receives >= COMPLETION_QUEUE.max_receive_count
        )
    else:
        logger.error(
            "completion message not understood; left for the dead-letter queue",
            extra={"message_id": record.message_id},
        )
        metrics.add_metric(name="UnreadableMessages", unit=MetricUnit.Count, value=1)
        raise UnreadableMessageError("not a Rekognition completion or a continuation")


def handle_completion(  # noqa: PLR0911 - each early return is one outcome of a completion
    completion: Completion, services: wiring.Services, budget: Budget, *, last_receive: bool = False
) -> None:
    kind = kind_of_api(completion.api)
    vid = completion.job_tag
    log = {"video_id": vid, "job_id": completion.job_id, "api": completion.api, "status": completion.status}
    if kind is None or vid is None or not is_video_id(vid):
        logger.warning("completion of a job DisplaySense did not start; ignored", extra=log)
        return
    if completion.status not in ENDED:
        logger.warning("completion with an unknown status; ignored", extra=log)
        return
    message = completion.message
    if completion.status != "SUCCEEDED" and not message:
        try:
            message = services.jobs.failure_message(kind, completion.job_id)
        except (RetryLaterError, ConfigurationError) as exc:
            if not last_receive:
                # The video's reason is final once written: rather than record the failure without
                # Rekognition's message, fail this item and read the message when it returns.
                logger.warning("failure message throttled; retried later", extra={**log, "code": exc.code})
                raise
            # Better FAILED without the message than the completion in the dead-letter queue and the
            # video ANALYZING for good.
            logger.warning("failure message still throttled on the last receive", extra=log)
    video = services.registry.record_job_end(
        vid, kind, job_id=completion.job_id, status=completion.status, message=message
    )
    # Free the slot whatever else happens: the job no longer counts against the quota.
    services.slots.release(holder_of(vid, kind))
    if video is None:
        logger.warning("completion for an unknown video or job kind; ignored", extra=log)
        return
    logger.info("job ended", extra=log)
    metrics.add_metric(name="JobsEnded", unit=MetricUnit.Count, value=1)
    if completion.status != "SUCCEEDED":
        reason = (
            f"Rekognition {kind.value} job {completion.job_id} ended {completion.status}: "
            f"{message or 'no message given'}"
        )
        result = services.registry.transition(vid, VideoStatus.FAILED, allowed_from=ACTIVE, reason=reason)
        if result.changed:
            metrics.add_metric(name="VideosFailed", unit=MetricUnit.Count, value=1)
            logger.warning("video failed", extra={"video_id": vid})
        return
    if video.status is VideoStatus.SUCCEEDED:
        delete_footage_if_due(video, services)
        return
    if video.status.final:
        return
    waiting = [k.value for k, job in video.jobs.items() if job.status != "SUCCEEDED"]
    if waiting:
        logger.info("waiting for the other jobs", extra={"video_id": vid, "waiting": waiting})
        return
    aggregate(vid, services, budget, continuation=False)


def aggregate(vid: str, services: wiring.Services, budget: Budget, *, continuation: bool) -> None:
    owner = uuid.uuid4().hex
    claim = services.registry.claim_aggregation(vid, owner, CLAIM_LEASE_S)
    if claim is None:
        video = services.registry.get(vid)
        if video is not None and video.status is VideoStatus.SUCCEEDED:
            delete_footage_if_due(video, services)
            return
        if video is None or video.status.final:
            return
        if continuation:
            # The work must not be dropped: if the holder dies, this message finds the lease over.
            raise ContinueLaterError(f"video {vid}: another invocation holds the aggregation claim")
        logger.info("another invocation aggregates this video", extra={"video_id": vid})
        return
    if any(job.status != "SUCCEEDED" for job in claim.video.jobs.values()):
        services.registry.release_claim(vid, owner)
        return
    try:
        _run(claim, services, budget)
    except ClaimLostError:
        # Our lease ran out and another invocation took over; it finishes the video.
        logger.warning("aggregation claim lost", extra={"video_id": vid})
    except Exception:
        # Let a retry start at once instead of waiting for the lease (best effort).
        try:
            services.registry.release_claim(vid, owner)
        except ClientError:
            logger.warning("could not release the claim", extra={"video_id": vid})
        raise


@tracer.capture_method(capture_response=False)
def _run(claim: Claim, services: wiring.Services, budget: Budget) -> None:
    video, owner, checkpoint = claim.video, claim.owner, claim.checkpoint
    vid = video.video_id
    for kind in sorted(video.jobs):
        if not _archive_stream(video, kind, owner, checkpoint, services, budget):
            return  # handed off, or the video failed
    pages = sum(checkpoint.stream(k).pages for k in video.jobs)
    needed = ENGINE_BASE_MS + ENGINE_PER_PAGE_MS * pages
    fresh = budget.used_ms() <= HAND_OFF_MIN_USED_MS
    if budget.remaining_ms() < needed and not fresh and _hand_off(vid, owner, checkpoint, services, "engine"):
        return

    def check_time() -> None:
        # Without a completion queue nothing could continue the work: better to try to finish here.
        if budget.remaining_ms() < ENGINE_BASE_MS and services.settings.completion_queue_url:
            raise EngineOutOfTimeError

    sink = PassList()
    try:
        result = analyze(
            labels=_archived(video, JobKind.LABELS, checkpoint, services, check_time),
            faces=_archived(video, JobKind.FACES, checkpoint, services, check_time),
            settings=services.settings.engine,
            recorded_at_ms=int(parse_iso(video.recorded_at).timestamp()) * 1000,
            pass_sink=sink,
        )
    except (PageError, InputOrderError) as exc:
        _fail(vid, owner, f"the Rekognition results could not be read: {exc}", services)
        return
    except EngineOutOfTimeError:
        if not fresh and _hand_off(vid, owner, checkpoint, services, "engine"):
            return
        # A whole invocation was not enough: another one would time out the same way, and the
        # message would only wear out its receives with the video ANALYZING.
        _fail(vid, owner, too_long_reason(pages), services)
        return
    stats = services.metrics_store.write_video(video, result, sink.records)
    done = services.registry.complete(
        vid,
        owner,
        summary=result.summary,
        duration_ms=result.video.duration_ms if result.video else None,
        passes=result.passes,
    )
    if done.changed:
        metrics.add_metric(name="VideosSucceeded", unit=MetricUnit.Count, value=1)
    logger.info(
        "video analysed",
        extra={
            "video_id": vid,
            "pages": pages,
            "timestamps": result.detections.timestamps,
            "passes": result.passes,
            "buckets": stats.buckets,
            "stale_passes_deleted": stats.stale_passes_deleted,
            "sorted_on_disk": result.sorted_on_disk,
            "continuations": checkpoint.continuations,
        },
    )
    delete_footage_if_due(done.video, services)


def too_long_reason(pages: int) -> str:
    return (
        f"the video is too long to aggregate within the results Lambda's timeout of "
        f"{RESULTS_FUNCTION.timeout_s} s ({pages} result pages): upload the recording in shorter parts, "
        "or raise timeout_s of RESULTS_FUNCTION in lambdas/displaysense/resources.py (Lambda allows up "
        "to 900 s), deploy, and upload it again"
    )


def _archived(
    video: Video, kind: JobKind, checkpoint: Checkpoint, services: wiring.Services, check: Any
) -> Any:
    if kind not in video.jobs:
        return None
    return services.archive.pages(video.video_id, kind, checkpoint.stream(kind).pages, check)


def _archive_stream(
    video: Video,
    kind: JobKind,
    owner: str,
    checkpoint: Checkpoint,
    services: wiring.Services,
    budget: Budget,
) -> bool:
    """Pages one job's results into the archive from its checkpoint. False: stop (handed off or
    failed); True: the stream is complete."""
    vid = video.video_id
    stream = checkpoint.stream(kind)
    if stream.done:
        return True
    if stream.pages and services.archive.list_pages(vid, kind)[: stream.pages] != list(range(stream.pages)):
        # The checkpoint names pages the archive does not hold (expired, deleted): start over.
        logger.warning("archive incomplete; paging restarts", extra={"video_id": vid, "kind": kind.value})
        _restart(stream)
    job_id = video.jobs[kind].job_id
    can_hand_off = True
    while not stream.done:
        if can_hand_off and budget.remaining_ms() < PAGE_RESERVE_MS:
            if _hand_off(vid, owner, checkpoint, services, f"{kind.value} page {stream.pages}"):
                return False
            can_hand_off = False
        failure: str | None = None
        try:
            page = services.jobs.get_page(kind, job_id, stream.next_token if stream.pages else None)
        except InvalidPaginationTokenError as exc:
            if stream.restarts < MAX_PAGING_RESTARTS:
                logger.warning(
                    "pagination token refused; paging restarts from the first page",
                    extra={"video_id": vid, "kind": kind.value, "pages": stream.pages},
                )
                _restart(stream)
                services.registry.save_checkpoint(vid, owner, checkpoint, CLAIM_LEASE_S)
                continue
            failure = (
                f"Rekognition kept refusing the page token of the {kind.value} job ({exc}) after "
                f"{MAX_PAGING_RESTARTS} restarts from its first page: upload the recording again"
            )
        except RetryLaterError as exc:
            # Get* throttled beyond botocore's retries: continue after a pause instead of failing the
            # message, which would wait out the queue's visibility timeout and count towards the DLQ.
            if _hand_off(
                vid, owner, checkpoint, services, f"{kind.value} page {stream.pages}", THROTTLED_DELAY_S
            ):
                logger.warning("Get* throttled", extra={"video_id": vid, "code": exc.code})
                return False
            raise
        except ConfigurationError as exc:
            # Refused, not busy (an IAM change not applied yet, a role without the permission): fail
            # the message; it is retried after its visibility timeout, and ends in the dead-letter
            # queue (alarm) if the refusal persists. The video stays ANALYZING meanwhile.
            metrics.add_metric(name=REFUSALS_METRIC, unit=MetricUnit.Count, value=1)
            logger.error(
                "Rekognition refused a Get*; the message is retried",
                extra={"video_id": vid, "kind": kind.value, "code": exc.code, "hint": exc.hint},
            )
            raise
        except PermanentError as exc:
            # ResourceNotFoundException: Rekognition keeps results 7 days.
            failure = f"the results of the {kind.value} job could not be read: {exc}"
        else:
            status = page.get("JobStatus")
            if status not in (None, "SUCCEEDED"):
                message = page.get("StatusMessage") or "no message given"
                failure = f"Rekognition {kind.value} job {job_id} is {status}: {message}"
        if failure is not None:
            _fail(vid, owner, failure, services)
            return False
        services.archive.put_page(vid, kind, stream.pages, page)
        stream.pages += 1
        token = page.get("NextToken")
        stream.next_token = str(token) if token else None
        stream.done = not token
        services.registry.save_checkpoint(vid, owner, checkpoint, CLAIM_LEASE_S)
    logger.info("results archived", extra={"video_id": vid, "kind": kind.value, "pages": stream.pages})
    return True


def _restart(stream: StreamCheckpoint) -> None:
    stream.pages = 0
    stream.next_token = None
    stream.done = False
    stream.restarts += 1


def _hand_off(
    vid: str, owner: str, checkpoint: Checkpoint, services: wiring.Services, at: str, delay_s: int = 0
) -> bool:
    """Save, give up the claim, and continue in a fresh invocation through the completion queue
    (after `delay_s`, for a throttled Get*).

    False (and the work goes on here) when no completion queue is configured: better to try to
    finish in this invocation than to stop a video for good.
    """
    queue_url = services.settings.completion_queue_url
    if not queue_url:
        logger.warning("time low but DS_COMPLETION_QUEUE_URL is not set: going on", extra={"video_id": vid})
        return False
    checkpoint.continuations += 1
    services.registry.save_checkpoint(vid, owner, checkpoint, CLAIM_LEASE_S)
    # Release first, then send: if sending fails, this message fails and its retry claims again;
    # the other order could leave a continuation waiting on a claim nobody releases.
    services.registry.release_claim(vid, owner)
    services.clients.sqs.send_message(
        QueueUrl=queue_url, MessageBody=continuation_body(vid), DelaySeconds=delay_s
    )
    metrics.add_metric(name="AggregationContinuations", unit=MetricUnit.Count, value=1)
    logger.info(
        "time low: continuing in a fresh invocation",
        extra={"video_id": vid, "at": at, "continuations": checkpoint.continuations, "delay_s": delay_s},
    )
    return True


def _fail(vid: str, owner: str, reason: str, services: wiring.Services) -> None:
    result = services.registry.transition(
        vid, VideoStatus.FAILED, allowed_from=ACTIVE, reason=reason, owner=owner
    )
    if result.changed:
        metrics.add_metric(name="VideosFailed", unit=MetricUnit.Count, value=1)
    logger.warning("video failed", extra={"video_id": vid})


def delete_footage_if_due(video: Video, services: wiring.Services) -> None:
    """Retention 0 (PRODUCT.md §4): delete the analysed object version once the video SUCCEEDED.

    Idempotent and re-tried by every later message about the video until it is recorded as done.
    """
    if services.settings.footage_retention_days != 0 or video.status is not VideoStatus.SUCCEEDED:
        return
    footage = services.registry.footage(video.video_id)
    if footage is None or footage.deleted_at is not None:
        return
    s3 = services.clients.s3
    try:
        if footage.version_id:
            s3.delete_object(Bucket=footage.bucket, Key=footage.key, VersionId=footage.version_id)
        else:
            # Unversioned bucket (local mode): only if the object is still the one analysed.
            head = s3.head_object(Bucket=footage.bucket, Key=footage.key)
            if footage.etag and head.get("ETag", "").strip('"') == footage.etag:
                s3.delete_object(Bucket=footage.bucket, Key=footage.key)
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
            raise
    services.registry.mark_footage_deleted(video.video_id)
    logger.info("footage deleted (retention 0)", extra={"video_id": video.video_id})
