"""A video in the pipeline: where it came from, where it is in its life, what it showed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from displaysense.domain.metrics import Counters, summarize


class VideoStatus(StrEnum):
    QUEUED = "QUEUED"  # registered, waiting for a Rekognition job slot
    ANALYZING = "ANALYZING"  # jobs started, not all ended
    SUCCEEDED = "SUCCEEDED"  # metrics written
    FAILED = "FAILED"  # Rekognition failed a job; reason carries its message
    REJECTED = "REJECTED"  # bad input; reason says what to fix

    @property
    def final(self) -> bool:
        return self in (VideoStatus.SUCCEEDED, VideoStatus.FAILED, VideoStatus.REJECTED)


class JobKind(StrEnum):
    LABELS = "labels"  # StartLabelDetection, Person only
    FACES = "faces"  # StartFaceDetection, FaceAttributes=ALL


# Store under which rejected uploads with no valid store in their key are listed.
UNASSIGNED_STORE = "_unassigned"

# A video whose jobs may still start or end; anything else is final.
ACTIVE = (VideoStatus.QUEUED, VideoStatus.ANALYZING)

# A job's status: PENDING before Start* gave it a JobId (waiting for a slot or the quota),
# IN_PROGRESS until its completion arrives, then one of ENDED (Rekognition's own words).
PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"
ENDED = frozenset({SUCCEEDED, "FAILED", "ERROR"})


class VideoNotFoundError(LookupError):
    pass


@dataclass
class Job:
    kind: JobKind
    job_id: str
    status: str = IN_PROGRESS  # PENDING | IN_PROGRESS | one of ENDED
    message: str | None = None
    ended_at: str | None = None


@dataclass
class Video:
    video_id: str
    store: str
    camera: str
    bucket: str
    key: str
    version_id: str | None
    size: int
    recorded_at: str  # UTC ISO 8601, whole seconds
    status: VideoStatus
    created_at: str
    updated_at: str
    reason: str | None = None
    jobs: dict[JobKind, Job] = field(default_factory=dict)
    summary: Counters | None = None
    duration_ms: int | None = None
    analyzed_at: str | None = None

    def to_public(self) -> dict[str, Any]:
        """The API's view of a video (no bucket internals beyond the key)."""
        return {
            "video_id": self.video_id,
            "store": self.store,
            "camera": self.camera,
            "key": self.key,
            "size": self.size,
            "recorded_at": self.recorded_at,
            "status": self.status.value,
            "reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "analyzed_at": self.analyzed_at,
            "duration_s": None if self.duration_ms is None else self.duration_ms / 1000,
            "jobs": {
                kind.value: {"status": job.status, "message": job.message, "ended_at": job.ended_at}
                for kind, job in self.jobs.items()
            },
            "summary": None if self.summary is None else summarize(self.summary),
        }


@dataclass(frozen=True)
class Transition:
    """The outcome of a status change: the video as it is now, and whether this call changed it
    (False: it was already in the target status, or not in an allowed one)."""

    video: Video
    changed: bool


@dataclass(frozen=True)
class Footage:
    """Where a video's uploaded object version is, and when retention deleted it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    deleted_at: str | None
