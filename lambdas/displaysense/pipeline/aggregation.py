"""Aggregating a video whose jobs all succeeded: take its claim, collect its result pages into the
archive (`result_paging`), run the engine on the archived pages and write the metrics, then mark
the video SUCCEEDED.

Only the invocation holding the video's claim works on it. It never runs out of time silently:
before the engine, and while the engine reads archived pages, it checks the time left; when it runs
low it hands the work to a fresh invocation, which resumes from the checkpoint. A video whose
engine step does not fit even in a fresh invocation is FAILED with a reason saying so. Whatever
crashes where, the retry recomputes from the same pages and overwrites the same items: the numbers
equal a clean run's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from displaysense.config import ResultsSettings
from displaysense.domain.aggregation import ClaimLostError
from displaysense.domain.detections import PageError
from displaysense.domain.engine import InputOrderError, PassList, analyze
from displaysense.domain.timeutil import parse_iso
from displaysense.domain.video import SUCCEEDED, JobKind, VideoStatus
from displaysense.observability import count, logger, tracer
from displaysense.pipeline.aggregation_run import CLAIM_LEASE_S, AggregationRun
from displaysense.pipeline.ports import ResultsPorts, TimeBudget
from displaysense.pipeline.result_paging import archive_stream
from displaysense.pipeline.retention import delete_footage_if_due
from displaysense.resources import RESULTS_FUNCTION

# Time the engine and the table writes are given: a fixed part (what the writes keep in hand while
# the engine runs) plus a part per archived page (the engine takes about 30 ms for a 1000-entry page
# on a laptop, plus the page's S3 GET; 1.5 s leaves room for a slower Lambda CPU). Short of the
# estimate, the work continues in a fresh invocation with the whole timeout.
ENGINE_BASE_MS = 30_000
ENGINE_PER_PAGE_MS = 1_500
# An invocation that has used less than this has nothing to gain from handing off.
HAND_OFF_MIN_USED_MS = 10_000


class ContinueLaterError(Exception):
    """This message cannot be done now (another invocation holds the claim): retry it later."""


class EngineOutOfTimeError(Exception):
    """The engine was still reading archived pages when only the writes' time was left."""


def aggregate(
    vid: str, ports: ResultsPorts, settings: ResultsSettings, budget: TimeBudget, *, continuation: bool
) -> None:
    owner = uuid.uuid4().hex
    claim = ports.claims.claim(vid, owner, CLAIM_LEASE_S)
    if claim is None:
        video = ports.videos.get(vid)
        if video is not None and video.status is VideoStatus.SUCCEEDED:
            delete_footage_if_due(video, ports.videos, ports.footage, settings)
            return
        if video is None or video.status.final:
            return
        if continuation:
            # The work must not be dropped: if the holder dies, this message finds the lease over.
            raise ContinueLaterError(f"video {vid}: another invocation holds the aggregation claim")
        logger.info("another invocation aggregates this video", extra={"video_id": vid})
        return
    if any(job.status != SUCCEEDED for job in claim.video.jobs.values()):
        ports.claims.release(vid, owner)
        return
    try:
        _run(AggregationRun(claim.video, owner, claim.checkpoint, ports, budget), settings)
    except ClaimLostError:
        # Our lease ran out and another invocation took over; it finishes the video.
        logger.warning("aggregation claim lost", extra={"video_id": vid})
    except Exception:
        # Let a retry start at once instead of waiting for the lease (best effort).
        try:
            ports.claims.release(vid, owner)
        except Exception:
            logger.warning("could not release the claim", extra={"video_id": vid})
        raise


@tracer.capture_method(capture_response=False)
def _run(run: AggregationRun, settings: ResultsSettings) -> None:
    video, checkpoint, budget, ports = run.video, run.checkpoint, run.budget, run.ports
    for kind in sorted(video.jobs):
        if not archive_stream(run, kind):
            return  # handed off, or the video failed
    pages = checkpoint.pages(video.jobs)
    needed = ENGINE_BASE_MS + ENGINE_PER_PAGE_MS * pages
    fresh = budget.used_ms() <= HAND_OFF_MIN_USED_MS
    if budget.remaining_ms() < needed and not fresh and run.hand_off("engine"):
        return

    def check_time() -> None:
        # Without a completion queue nothing could continue the work: better to try to finish here.
        if budget.remaining_ms() < ENGINE_BASE_MS and ports.continuations is not None:
            raise EngineOutOfTimeError

    sink = PassList()
    try:
        result = analyze(
            labels=_archived(run, JobKind.LABELS, check_time),
            faces=_archived(run, JobKind.FACES, check_time),
            settings=settings.engine,
            recorded_at_ms=int(parse_iso(video.recorded_at).timestamp()) * 1000,
            pass_sink=sink,
        )
    except (PageError, InputOrderError) as exc:
        run.fail(f"the Rekognition results could not be read: {exc}")
        return
    except EngineOutOfTimeError:
        if not fresh and run.hand_off("engine"):
            return
        # A whole invocation was not enough: another one would time out the same way, and the
        # message would only wear out its receives with the video ANALYZING.
        run.fail(too_long_reason(pages))
        return
    stats = ports.metrics.write_video(video, result, sink.records)
    done = ports.claims.complete(
        video.video_id,
        run.owner,
        summary=result.summary,
        duration_ms=result.video.duration_ms if result.video else None,
        passes=result.passes,
    )
    if done.changed:
        count("VideosSucceeded")
    logger.info(
        "video analysed",
        extra={
            "video_id": video.video_id,
            "pages": pages,
            "timestamps": result.detections.timestamps,
            "passes": result.passes,
            "buckets": dict(stats.buckets),
            "stale_passes_deleted": stats.stale_passes_deleted,
            "sorted_on_disk": result.sorted_on_disk,
            "continuations": checkpoint.continuations,
        },
    )
    delete_footage_if_due(done.video, ports.videos, ports.footage, settings)


def too_long_reason(pages: int) -> str:
    return (
        f"the video is too long to aggregate within the results Lambda's timeout of "
        f"{RESULTS_FUNCTION.timeout_s} s ({pages} result pages): upload the recording in shorter parts, "
        "or raise timeout_s of RESULTS_FUNCTION in lambdas/displaysense/resources.py (Lambda allows up "
        "to 900 s), deploy, and upload it again"
    )


def _archived(run: AggregationRun, kind: JobKind, check: Callable[[], None]) -> Iterable[Any] | None:
    if kind not in run.video.jobs:
        return None
    return run.ports.archive.pages(run.video_id, kind, run.checkpoint.stream(kind).pages, check)
