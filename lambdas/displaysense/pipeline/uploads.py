"""Accepting an upload: an object in the drop folder becomes a video, QUEUED with its jobs to
start, or REJECTED with every reason the drop folder's rules find (`domain.drop_folder`).

The video id is a function of bucket, key and object version, so a duplicate event, a retried
message or a re-upload of the same object version finds the video it made before.
"""

from __future__ import annotations

from datetime import UTC, datetime

from displaysense.config import IngestSettings
from displaysense.domain.drop_folder import SNIFF_BYTES, validate_upload
from displaysense.domain.timeutil import iso_ms, parse_iso
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.domain.video_ids import object_version, video_id
from displaysense.observability import count, logger, tracer
from displaysense.pipeline.job_starts import start_jobs
from displaysense.pipeline.messages import UploadedObject
from displaysense.pipeline.ports import IngestPorts, ObjectHead, TimeBudget
from displaysense.resources import UPLOADS_PREFIX


def job_kinds(faces_only: bool) -> list[JobKind]:
    return [JobKind.FACES] if faces_only else [JobKind.LABELS, JobKind.FACES]


@tracer.capture_method(capture_response=False)
def ingest_object(
    obj: UploadedObject, ports: IngestPorts, settings: IngestSettings, budget: TimeBudget
) -> None:
    """Registers the object's video (once) and starts the jobs it still lacks."""
    if not obj.key.startswith(UPLOADS_PREFIX):
        logger.info("object outside uploads/ ignored")
        return
    if obj.key.endswith("/") and obj.size == 0:
        # The console's "create folder" writes such a key; it is not an upload.
        logger.info("folder marker ignored")
        return
    vid = video_id(obj.bucket, obj.key, object_version(obj.version_id, obj.etag))
    video = ports.videos.get(vid)
    if video is None:
        video = accept_upload(obj, vid, ports, settings)
        if video is None:
            return
    if video.status.final:
        logger.info("video already final", extra={"video_id": vid, "status": video.status.value})
        return
    start_jobs(video, ports, budget)


def accept_upload(
    obj: UploadedObject, vid: str, ports: IngestPorts, settings: IngestSettings
) -> Video | None:
    """Validates the object and stores its video; None when the object is gone."""
    head = ports.footage.head(obj.bucket, obj.key, obj.version_id)
    if head is None:
        logger.warning("object no longer exists; nothing to ingest", extra={"video_id": vid})
        return None
    if obj.version_id is None and obj.etag and head.etag != obj.etag.strip().strip('"'):
        # Unversioned bucket, overwritten since the event: the new object has its own event.
        logger.warning("object replaced since the event; skipped", extra={"video_id": vid})
        return None
    size = head.size
    first_bytes = (
        ports.footage.first_bytes(obj.bucket, obj.key, obj.version_id, SNIFF_BYTES) if size > 0 else b""
    )
    now = ports.clock()
    decision = validate_upload(
        key=obj.key,
        size=size,
        max_bytes=settings.max_video_bytes,
        head=first_bytes,
        metadata_recorded_at=head.metadata.get("recorded-at"),
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
        version_id=obj.version_id or _current_version(head, obj),
        size=size,
        recorded_at=recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        status=VideoStatus.QUEUED if decision.accepted else VideoStatus.REJECTED,
        created_at=created_at,
        updated_at=created_at,
        reason=decision.reason,
    )
    expected = job_kinds(settings.faces_only) if decision.accepted else []
    stored, created = ports.videos.register(
        video, expected_jobs=expected, time_known=decision.recorded_at is not None, etag=head.etag
    )
    if created:
        count("VideosRejected" if stored.status is VideoStatus.REJECTED else "VideosQueued")
    logger.info(
        "video registered" if created else "video already registered",
        extra={
            "video_id": vid,
            "store": stored.store,
            "camera": stored.camera,
            "status": stored.status.value,
            "size": size,
            "file_type": decision.file_type.kind if decision.file_type else None,
            "problems": [p.field for p in decision.problems],
        },
    )
    return stored


def _current_version(head: ObjectHead, obj: UploadedObject) -> str | None:
    # An event without a version id (emulators, or an unversioned bucket): the version HEAD shows is
    # the one the event meant if the content is the same.
    if head.version_id is None:
        return None
    return head.version_id if obj.etag is None or head.etag == obj.etag.strip().strip('"') else None


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
