"""A video as an item of the single table, and the keys of the items that belong to videos.

    VIDEO#<video id> / VIDEO        the video, its jobs (map by kind), summary, claim and checkpoint
    STORES / <store>#<camera>       camera registry: first/last recorded_at, n_<STATUS> counts

The video item carries three index keys: by store and time (gsi1), by store and status (gsi2) and
by time across stores (gsi3); docs/architecture.md, "Table", lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from displaysense.adapters.dynamodb import opt_str
from displaysense.domain.metrics import Counters
from displaysense.domain.video import IN_PROGRESS, PENDING, Job, JobKind, Video, VideoStatus

VIDEO_SK = "VIDEO"
STORES_PK = "STORES"
ALL_VIDEOS = "VIDEO"  # gsi3pk of every video: the by_time index lists them all


def video_pk(video_id: str) -> str:
    return f"VIDEO#{video_id}"


def video_key(video_id: str) -> dict[str, str]:
    return {"pk": video_pk(video_id), "sk": VIDEO_SK}


def camera_sk(store: str, camera: str) -> str:
    return f"{store}#{camera}"


def video_to_item(video: Video) -> dict[str, Any]:
    """The table item of a video (without its jobs map, which registration and updates own)."""
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
            message=opt_str(raw.get("message")),
            ended_at=opt_str(raw.get("ended_at")),
        )
    summary = item.get("summary")
    duration = item.get("duration_ms")
    return Video(
        video_id=str(item["video_id"]),
        store=str(item["store"]),
        camera=str(item["camera"]),
        bucket=str(item["bucket"]),
        key=str(item["key"]),
        version_id=opt_str(item.get("version_id")),
        size=int(item.get("size", 0)),
        recorded_at=str(item["recorded_at"]),
        status=VideoStatus(str(item["status"])),
        created_at=str(item["created_at"]),
        updated_at=str(item["updated_at"]),
        reason=opt_str(item.get("reason")),
        jobs=dict(sorted(jobs.items())),
        summary=Counters.from_dict(summary) if summary else None,
        duration_ms=int(duration) if duration is not None else None,
        analyzed_at=opt_str(item.get("analyzed_at")),
    )
