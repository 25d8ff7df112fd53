"""What the pipeline's use cases need from the outside world, as protocols.

`displaysense.adapters` implements them against DynamoDB, S3, SQS and Rekognition; the handlers'
wiring builds the adapters and hands them over in `IngestPorts` and `ResultsPorts`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from displaysense.domain.aggregation import Checkpoint, Claim
from displaysense.domain.engine import VideoMetrics
from displaysense.domain.metrics import Counters, PassRecord
from displaysense.domain.video import Footage, JobKind, Transition, Video, VideoStatus


@dataclass(frozen=True)
class ObjectHead:
    """What S3 says of an uploaded object without reading it."""

    size: int
    version_id: str | None
    etag: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


class VideoStore(Protocol):
    def get(self, video_id: str) -> Video | None: ...

    def register(
        self,
        video: Video,
        *,
        expected_jobs: Sequence[JobKind],
        time_known: bool = ...,
        etag: str | None = ...,
    ) -> tuple[Video, bool]: ...

    def transition(
        self,
        video_id: str,
        to: VideoStatus,
        *,
        allowed_from: Collection[VideoStatus],
        reason: str | None = ...,
        owner: str | None = ...,
        extra: Mapping[str, Any] | None = ...,
    ) -> Transition: ...

    def footage(self, video_id: str) -> Footage | None: ...

    def mark_footage_deleted(self, video_id: str) -> None: ...


class JobLog(Protocol):
    def note_waiting(self, video_id: str, reason: str) -> bool: ...

    def record_job_started(self, video_id: str, kind: JobKind, job_id: str) -> Video | None: ...

    def record_job_end(
        self, video_id: str, kind: JobKind, *, job_id: str, status: str, message: str | None
    ) -> Video | None: ...


class Claims(Protocol):
    def claim(self, video_id: str, owner: str, lease_s: int) -> Claim | None: ...

    def save_checkpoint(self, video_id: str, owner: str, checkpoint: Checkpoint, lease_s: int) -> None: ...

    def release(self, video_id: str, owner: str) -> bool: ...

    def complete(
        self, video_id: str, owner: str, *, summary: Counters, duration_ms: int | None, passes: int
    ) -> Transition: ...


class Slots(Protocol):
    capacity: int

    def acquire(self, holder: str) -> int | None: ...

    def release(self, holder: str) -> bool: ...


class Rekognition(Protocol):
    def start(
        self, kind: JobKind, *, bucket: str, key: str, version_id: str | None, token: str, job_tag: str
    ) -> str: ...

    def get_page(self, kind: JobKind, job_id: str, next_token: str | None) -> dict[str, Any]: ...

    def failure_message(self, kind: JobKind, job_id: str) -> str | None: ...


class Archive(Protocol):
    def put_page(self, video_id: str, kind: JobKind, index: int, page: Mapping[str, Any]) -> str: ...

    def list_pages(self, video_id: str, kind: JobKind) -> list[int]: ...

    def pages(
        self, video_id: str, kind: JobKind, count: int, before_page: Callable[[], None] | None = ...
    ) -> Iterable[dict[str, Any]]: ...


class WriteResult(Protocol):
    @property
    def buckets(self) -> Mapping[str, int]: ...

    @property
    def stale_passes_deleted(self) -> int: ...


class MetricsWriter(Protocol):
    def write_video(self, video: Video, metrics: VideoMetrics, passes: list[PassRecord]) -> WriteResult: ...


class FootageStorage(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectHead | None: ...

    def first_bytes(self, bucket: str, key: str, version_id: str | None, count: int) -> bytes: ...

    def delete(self, footage: Footage) -> None: ...


class Continuations(Protocol):
    def send(self, video_id: str, delay_s: int) -> None: ...


class TimeBudget(Protocol):
    def remaining_ms(self) -> int: ...

    def used_ms(self) -> int: ...

    def allows(self, reserve_ms: int) -> bool: ...


@dataclass(frozen=True)
class IngestPorts:
    videos: VideoStore
    jobs: JobLog
    slots: Slots
    rekognition: Rekognition
    footage: FootageStorage
    clock: Callable[[], float]


@dataclass(frozen=True)
class ResultsPorts:
    videos: VideoStore
    jobs: JobLog
    claims: Claims
    slots: Slots
    rekognition: Rekognition
    archive: Archive
    metrics: MetricsWriter
    footage: FootageStorage
    continuations: Continuations | None  # None: no completion queue, work cannot be handed off
