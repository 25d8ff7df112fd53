"""What each route does, on top of the adapters: the API minus HTTP."""

from __future__ import annotations

import time as wallclock
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from displaysense.api import metrics_query as mq
from displaysense.api.compare import parse_side
from displaysense.api.errors import ApiError, bad_request, not_found, unprocessable
from displaysense.api.ports import Buckets, CameraInfo, CameraLister, Presigner, VideoLister, VideoReader
from displaysense.api.times import local_iso, parse_time, parse_zone, zone_name
from displaysense.domain import ab_comparison
from displaysense.domain.drop_folder import UploadRejected, validate_upload_request
from displaysense.domain.timeutil import iso_s, parse_iso
from displaysense.domain.video import Video, VideoStatus


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return round((parse_iso(end) - parse_iso(start)).total_seconds(), 3)
    except ValueError:
        return None


def video_document(video: Video) -> dict[str, Any]:
    """A video as the API shows it: status, reason, timings, summary and what was estimated."""
    public = video.to_public()
    public["timings"] = {
        "registered_at": video.created_at,
        "analyzed_at": video.analyzed_at,
        "updated_at": video.updated_at,
        # From registration to metrics written: queueing for a job slot plus Rekognition's time.
        "analysis_s": _seconds_between(video.created_at, video.analyzed_at),
        "duration_s": public["duration_s"],
    }
    if video.summary is not None:
        available = mq.availability(video.summary)
        public["summary"] = mq.public_summary(video.summary, available)
        public["availability"] = available
    else:
        public["availability"] = None
    return public


class ApiService:
    def __init__(
        self,
        *,
        videos: VideoReader,
        listing: VideoLister,
        cameras: CameraLister,
        buckets: Buckets,
        presigner: Presigner,
        max_video_bytes: int,
        upload_url_ttl_s: int,
        clock: Callable[[], float] = wallclock.time,
    ) -> None:
        self.videos = videos
        self.listing = listing
        self.cameras = cameras
        self.buckets = buckets
        self.presigner = presigner
        self.max_video_bytes = max_video_bytes
        self.upload_url_ttl_s = upload_url_ttl_s
        self.clock = clock

    # GET /stores
    def stores(self) -> dict[str, Any]:
        by_store: dict[str, list[CameraInfo]] = {}
        for entry in self.cameras.list_cameras():
            by_store.setdefault(entry.store, []).append(entry)
        stores = []
        for store in sorted(by_store):
            cameras = sorted(by_store[store], key=lambda e: e.camera)
            counts: dict[str, int] = dict.fromkeys((s.value for s in VideoStatus), 0)
            for entry in cameras:
                for status, n in entry.counts.items():
                    counts[status] = counts.get(status, 0) + int(n)
            firsts = [e.first_recorded_at for e in cameras if e.first_recorded_at]
            lasts = [e.last_recorded_at for e in cameras if e.last_recorded_at]
            stores.append(
                {
                    "store": store,
                    "first_recorded_at": min(firsts) if firsts else None,
                    "last_recorded_at": max(lasts) if lasts else None,
                    "counts": counts,
                    "cameras": [
                        {
                            "camera": e.camera,
                            "first_recorded_at": e.first_recorded_at,
                            "last_recorded_at": e.last_recorded_at,
                            "counts": {k: int(v) for k, v in e.counts.items()},
                        }
                        for e in cameras
                    ],
                }
            )
        return {"stores": stores}

    def _cameras_of(self, store: str) -> list[str]:
        cameras = sorted({e.camera for e in self.cameras.list_cameras() if e.store == store})
        if not cameras:
            raise not_found("store", f"no store {store!r}: GET /stores lists the stores")
        return cameras

    # GET /stores/{store}/metrics
    def metrics(
        self,
        *,
        store: str,
        camera: str | None,
        start: str | None,
        end: str | None,
        granularity: str,
        tz_name: str | None,
        with_previous: bool,
    ) -> dict[str, Any]:
        tz = parse_zone(tz_name)
        current = mq.plan_range(start=start, end=end, granularity=granularity, tz=tz, now_s=int(self.clock()))
        cameras = mq.check_cameras(self._cameras_of(store), camera, store)
        return mq.metrics_document(
            self.buckets,
            store_id=store,
            cameras=cameras,
            camera=camera,
            granularity=granularity,
            tz=tz,
            current=current,
            with_previous=with_previous,
        )

    # GET /videos
    def list_videos(
        self,
        *,
        store: str | None,
        camera: str | None,
        status: str | None,
        start: str | None,
        end: str | None,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        if camera is not None and store is None:
            raise bad_request("camera", "camera ids belong to a store: give store as well")
        start_s = parse_time(start, parameter="from", tz=UTC) if start else None
        end_s = parse_time(end, parameter="to", tz=UTC) if end else None
        if start_s is not None and end_s is not None and start_s >= end_s:
            raise unprocessable("from", "from must be before to")
        try:
            videos, next_cursor = self.listing.list_videos(
                store=store,
                camera=camera,
                status=VideoStatus(status) if status else None,
                start=None if start_s is None else iso_s(start_s),
                end=None if end_s is None else iso_s(end_s),
                limit=limit,
                cursor=cursor,
            )
        except ValueError as exc:
            # The adapters refuse a cursor that is not one of theirs (or no longer fits the filter).
            if cursor is not None:
                raise bad_request("cursor", f"the cursor is not valid for this listing: {exc}") from None
            raise
        return {"videos": [video_document(v) for v in videos], "next_cursor": next_cursor}

    # GET /videos/{video_id}
    def video(self, video_id: str) -> dict[str, Any]:
        found = self.videos.get(video_id)
        if found is None:
            raise not_found("video_id", f"no video {video_id!r}")
        return video_document(found)

    # POST /uploads
    def upload(
        self, *, store: str, camera: str, recorded_at: str, content_type: str, size: int
    ) -> dict[str, Any]:
        now = self.clock()
        try:
            request = validate_upload_request(
                store=store,
                camera=camera,
                recorded_at=recorded_at,
                content_type=content_type,
                size=size,
                max_bytes=self.max_video_bytes,
                now=datetime.fromtimestamp(now, UTC),
            )
        except UploadRejected as exc:
            fields = {p.field for p in exc.problems}
            status = 413 if fields == {"size"} and size > 0 else 415 if fields == {"content_type"} else 422
            first = exc.problems[0]
            raise ApiError(
                status,
                first.field,
                first.reason,
                details=[{"parameter": p.field, "message": p.reason} for p in exc.problems],
            ) from None
        url = self.presigner.presign_put(
            key=request.key, content_type=request.content_type, expires_in_s=self.upload_url_ttl_s
        )
        return {
            "method": "PUT",
            "url": url,
            "headers": {"Content-Type": request.content_type},
            "key": request.key,
            "recorded_at": request.recorded_at,
            "expires_at": iso_s(int(now) + self.upload_url_ttl_s),
            "max_bytes": self.max_video_bytes,
        }

    # GET /compare
    def compare(
        self, *, a: str, b: str, start: str | None, end: str | None, tz_name: str | None
    ) -> dict[str, Any]:
        tz = parse_zone(tz_name)
        now_s = int(self.clock())
        sides: list[dict[str, Any]] = []
        counts: list[ab_comparison.Side] = []
        for parameter, text in (("a", a), ("b", b)):
            spec = parse_side(text, parameter)
            # A comparison needs totals only: the period is widened to whole hours of `tz` and
            # summed with no series, so it is bounded by the stored buckets read, not by a series.
            own = spec.start is not None
            start_s, end_s = mq.requested_span(
                start=spec.start or start,
                end=spec.end or end,
                tz=tz,
                default_span_s=mq.DEFAULT_SPAN_S["hour"],
                now_s=now_s,
                start_parameter=parameter if own else "from",
                end_parameter=parameter if own else "to",
            )
            first, last, _ = mq.widen(start_s, end_s, "hour", tz)
            try:
                cameras = mq.check_cameras(self._cameras_of(spec.store), spec.camera, spec.store)
            except ApiError as exc:
                raise ApiError(exc.status, parameter, exc.message) from None
            total = mq.totals_between(
                self.buckets,
                store_id=spec.store,
                cameras=cameras,
                tz=tz,
                start_s=first,
                end_s=last,
                parameter=parameter if own else "from",
            )
            counts.append(ab_comparison.Side(impressions=total.impressions, foot_traffic=total.foot_traffic))
            sides.append(
                {
                    "side": text,
                    "store": spec.store,
                    "camera": spec.camera,
                    "from": local_iso(first, tz),
                    "to": local_iso(last, tz),
                    "foot_traffic": total.foot_traffic,
                    "impressions": total.impressions,
                }
            )
        result = ab_comparison.compare(counts[0], counts[1]).to_dict()
        for side, key in zip(sides, ("a", "b"), strict=True):
            stats = result.pop(key)
            assert isinstance(stats, dict)
            side.update(stats)
        return {"a": sides[0], "b": sides[1], "tz": zone_name(tz), "metric": "engagement_rate", **result}
