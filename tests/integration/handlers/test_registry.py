"""The table adapters on their own: list queries the API uses, the claim, and the job slots."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import pytest
from displaysense.adapters.job_slots import JobSlots
from displaysense.adapters.video_listing import InvalidCursorError
from displaysense.domain.aggregation import ClaimLostError
from displaysense.domain.metrics import Counters
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.handlers.wiring import Services

from tests.integration.handlers.conftest import Pipeline


def video(
    vid: str, store: str, camera: str, recorded_at: str, status: VideoStatus = VideoStatus.QUEUED
) -> Video:
    return Video(
        video_id=vid.ljust(32, "0"),
        store=store,
        camera=camera,
        bucket="b",
        key=f"uploads/{store}/{camera}/x.mp4",
        version_id="v1",
        size=10,
        recorded_at=recorded_at,
        status=status,
        created_at="2026-11-24T12:00:00.000Z",
        updated_at="2026-11-24T12:00:00.000Z",
    )


@pytest.fixture
def registry(pipeline: Pipeline) -> Services:
    registry = pipeline.services
    rows = [
        ("a1", "store-a", "cam-1", "2026-11-24T10:00:00Z", VideoStatus.QUEUED),
        ("a2", "store-a", "cam-2", "2026-11-24T11:00:00Z", VideoStatus.REJECTED),
        ("a3", "store-a", "cam-1", "2026-11-24T12:00:00Z", VideoStatus.QUEUED),
        ("a4", "store-a", "cam-1", "2026-11-24T13:00:00Z", VideoStatus.QUEUED),
        ("b1", "store-b", "cam-1", "2026-11-24T10:30:00Z", VideoStatus.QUEUED),
        ("b2", "store-b", "cam-9", "2026-11-24T11:30:00Z", VideoStatus.REJECTED),
    ]
    for vid, store, camera, at, status in rows:
        registry.videos.register(video(vid, store, camera, at, status), expected_jobs=[JobKind.FACES])
    registry.videos.transition("a3".ljust(32, "0"), VideoStatus.ANALYZING, allowed_from=[VideoStatus.QUEUED])
    return registry


def ids(videos: list[Video]) -> list[str]:
    return [v.video_id[:2] for v in videos]


def list_all(registry: Services, limit: int, **filters: object) -> tuple[list[str], int]:
    query = {"store": None, "camera": None, "status": None, "start": None, "end": None, **filters}
    found: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = registry.listing.list_videos(limit=limit, cursor=cursor, **query)  # type: ignore[arg-type]
        pages += 1
        assert len(page) <= limit
        found += ids(page)
        if cursor is None:
            return found, pages


def test_list_videos_uses_the_index_that_fits(registry: Services) -> None:
    assert list_all(registry, 10)[0] == ["a4", "a3", "b2", "a2", "b1", "a1"]  # newest first
    assert list_all(registry, 10, store="store-a")[0] == ["a4", "a3", "a2", "a1"]
    assert list_all(registry, 10, store="store-a", status=VideoStatus.QUEUED)[0] == ["a4", "a1"]
    assert list_all(registry, 10, store="store-a", camera="cam-1")[0] == ["a4", "a3", "a1"]
    assert list_all(registry, 10, status=VideoStatus.REJECTED)[0] == ["b2", "a2"]
    assert list_all(registry, 10, camera="cam-9")[0] == ["b2"]
    # start inclusive, end exclusive, any ISO 8601 form
    window = {"start": "2026-11-24T11:00:00Z", "end": "20261124T130000Z"}
    assert list_all(registry, 10, **window)[0] == ["a3", "b2", "a2"]
    assert list_all(registry, 10, store="store-a", start="2026-11-24T12:00:00+00:00")[0] == ["a4", "a3"]
    assert list_all(registry, 10, end="2026-11-24T10:30:00Z")[0] == ["a1"]


def test_cursors_walk_every_video_once(registry: Services) -> None:
    found, pages = list_all(registry, 2)
    assert found == ["a4", "a3", "b2", "a2", "b1", "a1"]
    assert pages == 3
    assert list_all(registry, 1, store="store-a", camera="cam-1")[0] == ["a4", "a3", "a1"]
    assert list_all(registry, 1, status=VideoStatus.QUEUED)[0] == ["a4", "b1", "a1"]


def test_list_videos_is_one_query_per_page(registry: Services) -> None:
    before = registry.listing.query_count
    registry.listing.list_videos(
        store="store-a", camera=None, status=None, start=None, end=None, limit=2, cursor=None
    )
    assert registry.listing.query_count == before + 1


def test_bad_cursors_are_refused(registry: Services) -> None:
    _, cursor = registry.listing.list_videos(
        store=None, camera=None, status=None, start=None, end=None, limit=1, cursor=None
    )
    assert cursor is not None
    with pytest.raises(InvalidCursorError):
        registry.listing.list_videos(
            store="store-a", camera=None, status=None, start=None, end=None, limit=1, cursor=cursor
        )
    with pytest.raises(InvalidCursorError):
        registry.listing.list_videos(
            store=None, camera=None, status=None, start=None, end=None, limit=1, cursor="bm9wZQ"
        )


def test_list_cameras_counts_by_status(registry: Services) -> None:
    cameras = {(c.store, c.camera): c for c in registry.cameras.list_cameras()}
    assert set(cameras) == {
        ("store-a", "cam-1"),
        ("store-a", "cam-2"),
        ("store-b", "cam-1"),
        ("store-b", "cam-9"),
    }
    cam = cameras[("store-a", "cam-1")]
    assert cam.counts == {"QUEUED": 2, "ANALYZING": 1, "SUCCEEDED": 0, "FAILED": 0, "REJECTED": 0}
    assert (cam.first_recorded_at, cam.last_recorded_at) == ("2026-11-24T10:00:00Z", "2026-11-24T13:00:00Z")


def test_transitions_are_counted_once(registry: Services) -> None:
    vid = "a1".ljust(32, "0")
    first = registry.videos.transition(vid, VideoStatus.ANALYZING, allowed_from=[VideoStatus.QUEUED])
    again = registry.videos.transition(vid, VideoStatus.ANALYZING, allowed_from=[VideoStatus.QUEUED])
    refused = registry.videos.transition(vid, VideoStatus.REJECTED, allowed_from=[VideoStatus.QUEUED])
    assert (first.changed, again.changed, refused.changed) == (True, False, False)
    cam = next(c for c in registry.cameras.list_cameras() if (c.store, c.camera) == ("store-a", "cam-1"))
    assert cam.counts["QUEUED"] == 1 and cam.counts["ANALYZING"] == 2
    listed, _ = registry.listing.list_videos(
        store="store-a",
        camera=None,
        status=VideoStatus.ANALYZING,
        start=None,
        end=None,
        limit=10,
        cursor=None,
    )
    assert ids(listed) == ["a3", "a1"]  # the status index follows the change


def test_the_aggregation_claim(pipeline: Pipeline, registry: Services) -> None:
    vid = "a3".ljust(32, "0")
    registry.job_records.record_job_end(vid, JobKind.FACES, job_id="j1", status="SUCCEEDED", message=None)
    a = registry.claims.claim(vid, "owner-a", 300)
    assert a is not None and a.owner == "owner-a"
    assert registry.claims.claim(vid, "owner-b", 300) is None
    assert registry.claims.claim(vid, "owner-a", 300) is not None  # the holder may renew
    pipeline.clock.advance(301)
    b = registry.claims.claim(vid, "owner-b", 300)  # the lease ran out
    assert b is not None
    with pytest.raises(ClaimLostError):
        registry.claims.save_checkpoint(vid, "owner-a", a.checkpoint, 300)
    with pytest.raises(ClaimLostError):
        registry.claims.complete(vid, "owner-a", summary=Counters(), duration_ms=1000, passes=0)
    assert registry.claims.release(vid, "owner-a") is False
    done = registry.claims.complete(
        vid, "owner-b", summary=Counters(foot_traffic=3), duration_ms=1000, passes=3
    )
    assert done.changed and done.video.status is VideoStatus.SUCCEEDED
    assert done.video.summary == Counters(foot_traffic=3)
    assert registry.claims.claim(vid, "owner-c", 300) is None  # final: nothing to claim


def test_job_slots_cap_renew_and_expire(make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    slots = JobSlots(pipeline.table, capacity=3, lease_s=100, clock=pipeline.clock)
    taken = [slots.acquire(f"v{n}#faces") for n in range(3)]
    assert sorted(t for t in taken if t is not None) == [0, 1, 2]
    assert slots.acquire("v9#faces") is None
    assert slots.acquire("v1#faces") == taken[1]  # a retry gets the slot it holds
    assert slots.in_use() == 3
    assert slots.release("v1#faces")
    assert not slots.release("v1#faces")
    assert slots.acquire("v9#faces") == taken[1]
    # Nobody released the others (lost completions): their leases run out.
    pipeline.clock.advance(101)
    assert slots.in_use() == 0
    fresh = [slots.acquire(f"w{n}#faces") for n in range(3)]
    assert sorted(t for t in fresh if t is not None) == [0, 1, 2]
    assert slots.acquire("w9#faces") is None
    assert not slots.release("v0#faces")  # its slot belongs to another job now


def test_two_acquirers_racing_for_one_slot(make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    first = JobSlots(pipeline.table, capacity=2, clock=pipeline.clock)
    second = JobSlots(pipeline.table, capacity=2, clock=pipeline.clock)
    winner = "x#faces"
    # A holder whose first choice is the same slot as the winner's.
    loser = next(
        f"y{n}#faces"
        for n in range(100)
        if zlib.crc32(f"y{n}#faces".encode()) % 2 == zlib.crc32(winner.encode()) % 2
    )
    stale = first.slots()  # read before the other one wrote: every slot looks free
    won = second.acquire(winner)
    first.slots = lambda: stale  # type: ignore[method-assign]
    got = first.acquire(loser)
    # The conditional write refused the taken slot; the loser went on to the other one.
    assert won is not None and got is not None and got != won
    assert {s.holder for s in second.slots()} == {winner, loser}
    assert second.acquire("z#faces") is None


def test_a_camera_is_listed_whole_between_its_bounds_and_its_first_count(pipeline: Pipeline) -> None:
    """Registration widens the camera's recorded range before the transaction that counts the video:
    the API may list the cameras in between (it did, with a KeyError and a 500, under a burst)."""
    registry = pipeline.services
    registry.cameras.widen_bounds("store-n", "cam-1", "2026-11-24T10:00:00Z")
    (camera,) = [c for c in registry.cameras.list_cameras() if c.store == "store-n"]
    assert (camera.camera, camera.first_recorded_at, camera.last_recorded_at) == (
        "cam-1",
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00Z",
    )
    assert not any(camera.counts.values())
