"""Starting a video's Rekognition jobs, each in one of DisplaySense's job slots.

Every start carries a ClientRequestToken derived from the video and job kind, so a retry after a
crash gets the same JobId and starts nothing. A start that cannot happen now (all slots taken,
Rekognition's quota or throttling, a refusal a deployment must fix) raises StartDeferredError and
the message waits (`start_deferral`). Only a file Rekognition finds too large or too long is
rejected here; footage deleted before its start fails the video.
"""

from __future__ import annotations

from displaysense.domain.job_errors import BadInputError, ConfigurationError, RetryLaterError
from displaysense.domain.video import ENDED, JobKind, Video, VideoStatus
from displaysense.domain.video_ids import client_request_token, job_tag
from displaysense.observability import REFUSALS_METRIC, count, logger
from displaysense.pipeline.ports import IngestPorts, TimeBudget
from displaysense.resources import REKOGNITION_CALL_MS

# Time kept in hand before a record and before each Start*: the slowest Rekognition call plus the
# S3 and DynamoDB calls around it at their usual speed.
RECORD_CALLS_MS = 15_000
STEP_RESERVE_MS = REKOGNITION_CALL_MS + RECORD_CALLS_MS


class OutOfTimeError(Exception):
    """Too little of the invocation is left for the next step: the message goes back to the queue,
    visible at once, and a fresh invocation does it (records already done are no-ops then)."""


class StartDeferredError(Exception):
    """This record cannot be done now (no job slot, quota, throttling); its message must wait."""

    def __init__(self, reason: str, *, quota: bool, slots_full: bool = False) -> None:
        super().__init__(reason)
        self.quota = quota
        self.slots_full = slots_full  # only DisplaySense's own cap: Rekognition refused nothing


def holder_of(video_id: str, kind: JobKind) -> str:
    """Who holds a job slot: one job of one video."""
    return f"{video_id}#{kind.value}"


def start_jobs(video: Video, ports: IngestPorts, budget: TimeBudget) -> None:
    """Starts every job of the video that has no JobId yet, each in a job slot; then ANALYZING."""
    vid = video.video_id
    for kind, job in video.jobs.items():
        if job.job_id:
            continue
        if not budget.allows(STEP_RESERVE_MS):
            raise OutOfTimeError  # before taking a slot: nothing to give back
        holder = holder_of(vid, kind)
        slot = ports.slots.acquire(holder)
        if slot is None:
            raise StartDeferredError(
                f"all {ports.slots.capacity} job slots are taken", quota=True, slots_full=True
            )
        try:
            job_id = ports.rekognition.start(
                kind,
                bucket=video.bucket,
                key=video.key,
                version_id=video.version_id,
                token=client_request_token(vid, kind),
                job_tag=job_tag(vid),
            )
        except RetryLaterError as exc:
            ports.slots.release(holder)
            raise StartDeferredError(
                f"Rekognition refused the {kind.value} job: {exc.code}", quota=exc.quota
            ) from exc
        except BadInputError as exc:
            ports.slots.release(holder)
            _end_before_start(
                video,
                VideoStatus.REJECTED,
                f"Rekognition cannot analyse this file: {exc.message or exc.code} (Rekognition Video "
                "analyses at most 10 GB and 6 hours per file): split the recording",
                ports,
            )
            return
        except ConfigurationError as exc:
            ports.slots.release(holder)
            _refused(video, kind, exc, ports)  # raises StartDeferredError unless the video ended
            return
        updated = ports.jobs.record_job_started(vid, kind, job_id)
        logger.info(
            "job started", extra={"video_id": vid, "kind": kind.value, "job_id": job_id, "slot": slot}
        )
        count("JobsStarted")
        if updated is None or updated.jobs[kind].status in ENDED:
            # The completion was recorded before this start (a retry after a crash): its slot was
            # released then, and the one just taken would otherwise stay taken until its lease ends.
            ports.slots.release(holder)
    result = ports.videos.transition(vid, VideoStatus.ANALYZING, allowed_from=(VideoStatus.QUEUED,))
    if result.changed:
        logger.info("video analyzing", extra={"video_id": vid, "jobs": len(video.jobs)})


def _refused(video: Video, kind: JobKind, exc: ConfigurationError, ports: IngestPorts) -> None:
    """A start refused for a reason a deployment fixes: the video stays QUEUED and says why, and
    the message waits with backoff (StartDeferredError; dead-letter queue and alarm if it never
    works). Only footage deleted since the upload ends the video: no retry can bring it back."""
    vid = video.video_id
    if (
        exc.code == "InvalidS3ObjectException"
        and ports.footage.head(video.bucket, video.key, video.version_id) is None
    ):
        _end_before_start(
            video,
            VideoStatus.FAILED,
            "the uploaded object version was deleted before Rekognition could read it (by hand, or by "
            "the footage lifecycle rule while it waited): upload the recording again",
            ports,
        )
        return
    reason = (
        f"Not started yet: Rekognition refused the {kind.value} job ({exc}); {exc.hint}. Retried with a "
        "growing backoff; if it never works the ingest message ends in the dead-letter queue"
    )
    ports.jobs.note_waiting(vid, reason)
    count(REFUSALS_METRIC)
    logger.error(
        "Rekognition refused a start; retried with backoff",
        extra={"video_id": vid, "kind": kind.value, "code": exc.code, "hint": exc.hint},
    )
    raise StartDeferredError(f"Rekognition refused the {kind.value} job: {exc.code}", quota=False) from exc


def _end_before_start(video: Video, status: VideoStatus, reason: str, ports: IngestPorts) -> None:
    result = ports.videos.transition(
        video.video_id, status, allowed_from=(VideoStatus.QUEUED,), reason=reason
    )
    logger.warning("job not started", extra={"video_id": video.video_id, "status": result.video.status.value})
    if result.changed:
        count("VideosRejected" if status is VideoStatus.REJECTED else "VideosFailed")
