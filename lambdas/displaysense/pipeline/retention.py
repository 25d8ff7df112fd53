"""Footage retention 0: the analysed object version is deleted once its video SUCCEEDED.

Idempotent, and tried again by every later message about the video until it is recorded as done.
Longer retentions are the bucket's lifecycle rules, not this.
"""

from __future__ import annotations

from displaysense.config import ResultsSettings
from displaysense.domain.video import Video, VideoStatus
from displaysense.observability import logger
from displaysense.pipeline.ports import FootageStorage, VideoStore


def delete_footage_if_due(
    video: Video, videos: VideoStore, footage: FootageStorage, settings: ResultsSettings
) -> None:
    if settings.footage_retention_days != 0 or video.status is not VideoStatus.SUCCEEDED:
        return
    where = videos.footage(video.video_id)
    if where is None or where.deleted_at is not None:
        return
    footage.delete(where)
    videos.mark_footage_deleted(video.video_id)
    logger.info("footage deleted (retention 0)", extra={"video_id": video.video_id})
