"""The API handler on a moto table filled through the real adapters and the engine."""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests
from displaysense.domain.metrics import Counters, merge_all, summarize

from tests.integration.api.conftest import World


@pytest.fixture
def seeded(world: World) -> dict[str, object]:
    s = world.seeder
    videos = {
        "a": s.analysed("store-1", "cam-1", "2026-11-24T09:00:00Z", seed=1),
        "b": s.analysed("store-1", "cam-1", "2026-11-25T14:30:00Z", seed=2),
        "c": s.analysed("store-1", "cam-2", "2026-11-25T09:10:00Z", seed=3, duration_s=200),
        "d": s.analysed("store-2", "front", "2026-11-26T10:00:00Z", seed=4),
        "r": s.rejected(
            "store-1", "cam-2", "2026-11-26T08:00:00Z", "The file is empty (0 bytes): upload it again."
        ),
    }
    world.operations.clear()
    return videos


def summary_of(*videos: object) -> Counters:
    return merge_all(v.summary for v in videos)  # type: ignore[attr-defined]


def test_stores_list_cameras_bounds_and_status_counts(world: World, seeded: dict[str, object]) -> None:
    stores = {s["store"]: s for s in world.get("/stores")["stores"]}
    assert set(stores) == {"store-1", "store-2"}
    one = stores["store-1"]
    assert [c["camera"] for c in one["cameras"]] == ["cam-1", "cam-2"]
    assert one["counts"]["SUCCEEDED"] == 3 and one["counts"]["REJECTED"] == 1
    assert one["first_recorded_at"] == "2026-11-24T09:00:00Z"
    assert one["last_recorded_at"] == "2026-11-26T08:00:00Z"


def test_store_totals_equal_the_videos_and_use_one_query_per_camera(
    world: World, seeded: dict[str, object]
) -> None:
    doc = world.get(
        "/stores/store-1/metrics",
        {"from": "2026-11-23", "to": "2026-11-30", "granularity": "hour", "previous": "true"},
    )
    expected = summarize(summary_of(seeded["a"], seeded["b"], seeded["c"]))
    assert expected["foot_traffic"] > 20
    for key in ("foot_traffic", "impressions", "dwellers", "faces", "gender", "age", "mood", "dwell_s_total"):
        assert doc["totals"][key] == expected[key], key
    assert sum(b["foot_traffic"] for b in doc["series"]) == expected["foot_traffic"]
    busy = {b["start"] for b in doc["series"] if b["foot_traffic"]}
    assert busy == {"2026-11-24T09:00:00Z", "2026-11-25T09:00:00Z", "2026-11-25T14:00:00Z"}
    assert all(doc["availability"].values())
    # The camera registry, then one Query per camera (the previous week included): no Scan, no GetItem.
    assert world.operations == {"Query": 3}


def test_one_camera_and_the_zone(world: World, seeded: dict[str, object]) -> None:
    doc = world.get(
        "/stores/store-1/metrics",
        {
            "camera": "cam-1",
            "from": "2026-11-25",
            "to": "2026-11-26",
            "granularity": "15m",
            "tz": "Asia/Kolkata",
        },
    )
    assert doc["grain"] == "15m"
    assert doc["totals"]["foot_traffic"] == seeded["b"].summary.foot_traffic  # type: ignore[attr-defined]
    # 14:30 UTC is 20:00 in India.
    busy = [b["start"] for b in doc["series"] if b["foot_traffic"]]
    assert busy[0] == "2026-11-25T20:00:00+05:30"


def test_csv_of_the_series(world: World, seeded: dict[str, object]) -> None:
    status, headers, body = world.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-24", "to": "2026-11-26", "granularity": "day"},
        [("Accept", "text/csv")],
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 2
    assert int(rows[0]["foot_traffic"]) == seeded["a"].summary.foot_traffic  # type: ignore[attr-defined]


def test_videos_paged_with_the_registry_cursor(world: World, seeded: dict[str, object]) -> None:
    first = world.get("/videos", {"store": "store-1", "limit": "2"})
    assert len(first["videos"]) == 2 and first["next_cursor"]
    rest = world.get("/videos", {"store": "store-1", "limit": "2", "cursor": first["next_cursor"]})
    ids = [v["video_id"] for v in first["videos"] + rest["videos"]]
    assert sorted(ids) == sorted(v.video_id for k, v in seeded.items() if k in "abcr")  # type: ignore[attr-defined]
    rejected = world.get("/videos", {"store": "store-1", "status": "REJECTED"})["videos"]
    assert [v["reason"] for v in rejected] == ["The file is empty (0 bytes): upload it again."]
    status, _, body = world.call("GET", "/videos", {"store": "store-1", "cursor": "bm90LWEtY3Vyc29y"})
    assert status == 400 and json.loads(body)["error"]["parameter"] == "cursor"


def test_one_video(world: World, seeded: dict[str, object]) -> None:
    video = seeded["a"]
    doc = world.get(f"/videos/{video.video_id}")  # type: ignore[attr-defined]
    assert doc["status"] == "SUCCEEDED"
    assert doc["summary"] == summarize(video.summary)  # type: ignore[attr-defined]
    assert doc["timings"]["duration_s"] == 300.0
    assert set(doc["jobs"]) == {"labels", "faces"}


def test_compare_two_cameras(world: World, seeded: dict[str, object]) -> None:
    doc = world.get(
        "/compare", {"a": "store-1/cam-1", "b": "store-1/cam-2", "from": "2026-11-23", "to": "2026-11-30"}
    )
    assert doc["a"]["foot_traffic"] == summary_of(seeded["a"], seeded["b"]).foot_traffic
    assert doc["b"]["impressions"] == seeded["c"].summary.impressions  # type: ignore[attr-defined]
    assert 0 <= doc["p_b_better"] <= 1


def test_presigned_upload_lands_in_the_drop_folder(world: World) -> None:
    body = json.dumps(
        {
            "store": "store-9",
            "camera": "door",
            "recorded_at": "2026-11-29T08:00:00Z",
            "content_type": "video/quicktime",
            "size": 4,
        }
    ).encode()
    status, _, answer = world.call(
        "POST", "/uploads", headers=[("Content-Type", "application/json")], body=body
    )
    assert status == 200, answer
    ticket = json.loads(answer)
    assert ticket["key"] == "uploads/store-9/door/20261129T080000Z.mov"
    put = requests.put(ticket["url"], data=b"\x00\x00\x00\x08", headers=ticket["headers"], timeout=10)
    assert put.status_code == 200
    head = world.s3.head_object(Bucket="displaysense-test", Key=ticket["key"])
    assert head["ContentType"] == "video/quicktime"
