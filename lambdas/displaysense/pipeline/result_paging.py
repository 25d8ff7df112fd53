"""Collecting one job's result pages into the archive, page by page, from the run's checkpoint.

Each page is archived and the checkpoint saved before the next is asked for, so whatever stops the
run (time running low, a crash, throttling) loses at most the page in flight. An expired NextToken
restarts the job's paging from its first page, a few times at most.
"""

from __future__ import annotations

from displaysense.domain.job_errors import (
    ConfigurationError,
    InvalidPaginationTokenError,
    PermanentError,
    RetryLaterError,
)
from displaysense.domain.video import JobKind
from displaysense.observability import REFUSALS_METRIC, count, logger
from displaysense.pipeline.aggregation_run import AggregationRun
from displaysense.resources import REKOGNITION_CALL_MS

# Time kept in hand before fetching a page: the slowest Get*, then the archive write, the checkpoint
# and a hand-off at their usual speed.
PAGE_WRITES_MS = 15_000
PAGE_RESERVE_MS = REKOGNITION_CALL_MS + PAGE_WRITES_MS
MAX_PAGING_RESTARTS = 3
# A continuation after a throttled Get* waits this long (SQS DelaySeconds, at most 900).
THROTTLED_DELAY_S = 60


def archive_stream(run: AggregationRun, kind: JobKind) -> bool:
    """Pages one job's results into the archive from its checkpoint. False: stop (handed off or
    failed); True: the stream is complete."""
    vid = run.video_id
    stream = run.checkpoint.stream(kind)
    if stream.done:
        return True
    archive, rekognition = run.ports.archive, run.ports.rekognition
    if stream.pages and archive.list_pages(vid, kind)[: stream.pages] != list(range(stream.pages)):
        # The checkpoint names pages the archive does not hold (expired, deleted): start over.
        logger.warning("archive incomplete; paging restarts", extra={"video_id": vid, "kind": kind.value})
        stream.restart()
    job_id = run.video.jobs[kind].job_id
    can_hand_off = True
    while not stream.done:
        if can_hand_off and run.budget.remaining_ms() < PAGE_RESERVE_MS:
            if run.hand_off(f"{kind.value} page {stream.pages}"):
                return False
            can_hand_off = False
        failure: str | None = None
        try:
            page = rekognition.get_page(kind, job_id, stream.next_token if stream.pages else None)
        except InvalidPaginationTokenError as exc:
            if stream.restarts < MAX_PAGING_RESTARTS:
                logger.warning(
                    "pagination token refused; paging restarts from the first page",
                    extra={"video_id": vid, "kind": kind.value, "pages": stream.pages},
                )
                stream.restart()
                run.save()
                continue
            failure = (
                f"Rekognition kept refusing the page token of the {kind.value} job ({exc}) after "
                f"{MAX_PAGING_RESTARTS} restarts from its first page: upload the recording again"
            )
        except RetryLaterError as exc:
            # Get* throttled beyond botocore's retries: continue after a pause instead of failing the
            # message, which would wait out the queue's visibility timeout and count towards the DLQ.
            if run.hand_off(f"{kind.value} page {stream.pages}", THROTTLED_DELAY_S):
                logger.warning("Get* throttled", extra={"video_id": vid, "code": exc.code})
                return False
            raise
        except ConfigurationError as exc:
            # Refused, not busy (an IAM change not applied yet, a role without the permission): fail
            # the message; it is retried after its visibility timeout, and ends in the dead-letter
            # queue (alarm) if the refusal persists. The video stays ANALYZING meanwhile.
            count(REFUSALS_METRIC)
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
            run.fail(failure)
            return False
        archive.put_page(vid, kind, stream.pages, page)
        stream.pages += 1
        token = page.get("NextToken")
        stream.next_token = str(token) if token else None
        stream.done = not token
        run.save()
    logger.info("results archived", extra={"video_id": vid, "kind": kind.value, "pages": stream.pages})
    return True
