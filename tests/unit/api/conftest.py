from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from displaysense.api.service import ApiService
from displaysense.domain.metrics import Counters
from displaysense.domain.video import Video, VideoStatus
from displaysense.handlers.api import create_app
from displaysense_local.api_gateway import rest_event

from tests.unit.api.fakes import Camera, FakeBuckets, FakePresigner, FakeVideos

# 2026-11-23 00:00 UTC, a Monday.
MONDAY = 1_795_392_000
NOW = MONDAY + 7 * 86_400


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Api:
    videos: FakeVideos
    buckets: FakeBuckets
    presigner: FakePresigner
    call: Callable[..., Answer]


def video(
    video_id: str, store: str, camera: str, recorded_at: str, status: VideoStatus, **extra: Any
) -> Video:
    return Video(
        video_id=video_id,
        store=store,
        camera=camera,
        bucket="b",
        key=f"uploads/{store}/{camera}/x.mp4",
        version_id="v1",
        size=1000,
        recorded_at=recorded_at,
        status=status,
        created_at=recorded_at,
        updated_at=recorded_at,
        **extra,
    )


def hit(foot_traffic: int = 1, impressions: int = 0, **extra: Any) -> Counters:
    return Counters(foot_traffic=foot_traffic, impressions=impressions, **extra)


@pytest.fixture
def api() -> Api:
    videos = FakeVideos(
        cameras=[
            Camera("store-1", "cam-1", "2026-11-23T09:00:00Z", "2026-11-29T18:00:00Z", {"SUCCEEDED": 3}),
            Camera("store-1", "cam-2", "2026-11-24T09:00:00Z", "2026-11-28T18:00:00Z", {"REJECTED": 1}),
            Camera("store-2", "cam-1", None, None, {"QUEUED": 1}),
        ]
    )
    buckets = FakeBuckets()
    presigner = FakePresigner()
    service = ApiService(
        videos=videos,
        listing=videos,
        cameras=videos,
        buckets=buckets,
        presigner=presigner,
        max_video_bytes=10 * 1024**3,
        upload_url_ttl_s=900,
        clock=lambda: NOW,
    )
    app = create_app(lambda: service, cors_origins=("https://shop.example",))

    def call(
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] | dict[str, str] = (),
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Answer:
        pairs = list(query.items()) if isinstance(query, dict) else list(query)
        event = rest_event(method=method, resource_path=path, query=pairs, headers=headers, body=body)
        raw = app.resolve(event, None)
        headers_out = dict(raw.get("headers") or {})
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            headers_out[name] = ", ".join(values)
        return Answer(raw["statusCode"], headers_out, raw.get("body") or "")

    return Api(videos, buckets, presigner, call)
