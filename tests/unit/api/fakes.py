"""In-memory stand-ins for the adapters, with the adapters' signatures (api/ports.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from displaysense.domain.metrics import Counters
from displaysense.domain.rollup import STORED_GRAINS, grain_phase, roll_up
from displaysense.domain.video import Video, VideoStatus


@dataclass(frozen=True)
class Camera:
    store: str
    camera: str
    first_recorded_at: str | None
    last_recorded_at: str | None
    counts: Mapping[str, int]


@dataclass
class FakeVideos:
    videos: list[Video] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)

    def get(self, video_id: str) -> Video | None:
        return next((v for v in self.videos if v.video_id == video_id), None)

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
    ) -> tuple[list[Video], str | None]:
        chosen = [
            v
            for v in sorted(self.videos, key=lambda v: v.recorded_at, reverse=True)
            if (store is None or v.store == store)
            and (camera is None or v.camera == camera)
            and (status is None or v.status == status)
            and (start is None or v.recorded_at >= start)
            and (end is None or v.recorded_at < end)
        ]
        offset = 0
        if cursor is not None:
            if not cursor.startswith("at-"):
                raise ValueError("not a cursor of this listing")
            offset = int(cursor[3:])
        page = chosen[offset : offset + limit]
        more = offset + limit < len(chosen)
        return page, f"at-{offset + limit}" if more else None

    def list_cameras(self) -> list[Camera]:
        return list(self.cameras)


@dataclass
class FakeBuckets:
    """Per-minute counters per (store, camera), served at any stored grain like the table does."""

    minutes: dict[tuple[str, str], dict[int, Counters]] = field(default_factory=dict)
    calls: list[tuple[str, str, str, int, int]] = field(default_factory=list)

    def add(self, store: str, camera: str, minute_s: int, counters: Counters) -> None:
        series = self.minutes.setdefault((store, camera), {})
        found = series.get(minute_s)
        series[minute_s] = counters if found is None else found.merge(counters)

    def read_buckets(
        self, *, store: str, camera: str, grain: str, start_s: int, end_s: int
    ) -> dict[int, Counters]:
        self.calls.append((store, camera, grain, start_s, end_s))
        rolled = roll_up(self.minutes.get((store, camera), {}), STORED_GRAINS[grain], grain_phase(grain))
        return {k: v for k, v in sorted(rolled.items()) if start_s <= k < end_s}


@dataclass
class FakePresigner:
    requests: list[tuple[str, str, int]] = field(default_factory=list)

    def presign_put(self, *, key: str, content_type: str, expires_in_s: int) -> str:
        self.requests.append((key, content_type, expires_in_s))
        return f"https://bucket.example/{key}?signed=1"
