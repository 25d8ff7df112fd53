"""Videos that have been ANALYZING for too long: a completion message was lost, or the results
function keeps failing on them. The watchdog counts them for an alarm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from displaysense.domain.timeutil import iso_ms
from displaysense.domain.video import VideoStatus


class StoreNames(Protocol):
    @property
    def store(self) -> str: ...


class CameraList(Protocol):
    def list_cameras(self) -> Sequence[StoreNames]: ...


class StatusIndex(Protocol):
    def videos_in_status_since(self, store: str, status: VideoStatus, before: str) -> list[str]: ...


def stuck_videos(
    cameras: CameraList, index: StatusIndex, *, now_s: float, minutes: int
) -> tuple[list[str], int]:
    """Ids of the videos ANALYZING since more than `minutes`, and the number of stores looked at."""
    before = iso_ms(int((now_s - minutes * 60) * 1000))
    stores = sorted({camera.store for camera in cameras.list_cameras()})
    stuck: list[str] = []
    for store in stores:
        stuck.extend(index.videos_in_status_since(store, VideoStatus.ANALYZING, before))
    return stuck, len(stores)
