"""What the API needs from storage: the adapters' signatures, as protocols.

`displaysense.adapters` implements them against DynamoDB and S3; unit tests use small fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from displaysense.domain.metrics import Counters
from displaysense.domain.video import Video, VideoStatus


class CameraInfo(Protocol):
    @property
    def store(self) -> str: ...
    @property
    def camera(self) -> str: ...
    @property
    def first_recorded_at(self) -> str | None: ...
    @property
    def last_recorded_at(self) -> str | None: ...
    @property
    def counts(self) -> Mapping[str, int]: ...


class VideoReader(Protocol):
    def get(self, video_id: str) -> Video | None: ...


class VideoLister(Protocol):
    def list_videos(
        self,
        *,
        store: str | None,
        camera: str | None,
        status: VideoStatus | None,
        start: str | None,
        end: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Video], str | None]: ...


class CameraLister(Protocol):
    def list_cameras(self) -> Sequence[CameraInfo]: ...


class Buckets(Protocol):
    def read_buckets(
        self, *, store: str, camera: str, grain: str, start_s: int, end_s: int
    ) -> dict[int, Counters]: ...


class Presigner(Protocol):
    def presign_put(self, *, key: str, content_type: str, expires_in_s: int) -> str: ...
