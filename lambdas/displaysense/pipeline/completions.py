"""A Rekognition job ended: record it on its video, free its job slot, fail the video if the job
failed, and aggregate the video once every one of its jobs has succeeded.

Duplicate or reordered completions find the job recorded, the claim taken or the video final.
"""

from __future__ import annotations

from displaysense.config import ResultsSettings
from displaysense.domain.job_errors import ConfigurationError, RetryLaterError, kind_of_api
from displaysense.domain.video import ACTIVE, ENDED, SUCCEEDED, VideoStatus
from displaysense.domain.video_ids import is_video_id
from displaysense.observability import count, logger
from displaysense.pipeline.aggregation import aggregate
from displaysense.pipeline.job_starts import holder_of
from displaysense.pipeline.messages import Completion
from displaysense.pipeline.ports import ResultsPorts, TimeBudget
from displaysense.pipeline.retention import delete_footage_if_due


def handle_completion(  # noqa: PLR0911 - each early return is one outcome of a completion
    completion: Completion,
    ports: ResultsPorts,
    settings: ResultsSettings,
    budget: TimeBudget,
    *,
    last_receive: bool = False,
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
    if completion.status != SUCCEEDED and not message:
        try:
            message = ports.rekognition.failure_message(kind, completion.job_id)
        except (RetryLaterError, ConfigurationError) as exc:
            if not last_receive:
                # The video's reason is final once written: rather than record the failure without
                # Rekognition's message, fail this item and read the message when it returns.
                logger.warning("failure message throttled; retried later", extra={**log, "code": exc.code})
                raise
            # Better FAILED without the message than the completion in the dead-letter queue and the
            # video ANALYZING for good.
            logger.warning("failure message still throttled on the last receive", extra=log)
    video = ports.jobs.record_job_end(
        vid, kind, job_id=completion.job_id, status=completion.status, message=message
    )
    # Free the slot whatever else happens: the job no longer counts against the quota.
    ports.slots.release(holder_of(vid, kind))
    if video is None:
        logger.warning("completion for an unknown video or job kind; ignored", extra=log)
        return
    logger.info("job ended", extra=log)
    count("JobsEnded")
    if completion.status != SUCCEEDED:
        reason = (
            f"Rekognition {kind.value} job {completion.job_id} ended {completion.status}: "
            f"{message or 'no message given'}"
        )
        result = ports.videos.transition(vid, VideoStatus.FAILED, allowed_from=ACTIVE, reason=reason)
        if result.changed:
            count("VideosFailed")
            logger.warning("video failed", extra={"video_id": vid})
        return
    if video.status is VideoStatus.SUCCEEDED:
        delete_footage_if_due(video, ports.videos, ports.footage, settings)
        return
    if video.status.final:
        return
    waiting = [k.value for k, job in video.jobs.items() if job.status != SUCCEEDED]
    if waiting:
        logger.info("waiting for the other jobs", extra={"video_id": vid, "waiting": waiting})
        return
    aggregate(vid, ports, settings, budget, continuation=False)
