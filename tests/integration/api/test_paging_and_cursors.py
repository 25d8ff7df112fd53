"""Paging on the moto table with DynamoDB's own rules on starting keys (dynamodb_rules.py): list
cursors bound to their query, and metrics read with one Query and its pages per camera."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from displaysense.domain.engine import DetectionCounts, VideoMetrics
from displaysense.domain.metrics import Counters, merge_all
from displaysense.domain.timeutil import iso_s
from displaysense.domain.video import Video, VideoStatus

from tests.integration.api.conftest import World
from tests.integration.api.dynamodb_rules import refuse_foreign_start_keys, small_pages

REASON = "The file is empty (0 bytes): upload it again."


@pytest.fixture
def listed(world: World) -> World:
    """Store-1: 6 rejected uploads on two cameras over six days; store-2: 2."""
    for day in range(6):
        camera = "cam-1" if day % 2 else "cam-2"
        world.seeder.rejected("store-1", camera, f"2026-11-{20 + day}T10:00:00Z", REASON)
    for day in range(2):
        world.seeder.rejected("store-2", "door", f"2026-11-{20 + day}T10:00:00Z", REASON)
    refuse_foreign_start_keys(world.table)
    return world


def pages(world: World, query: dict[str, str]) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        page = world.get("/videos", {**query, **({"cursor": cursor} if cursor else {})})
        found.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize(
    "query",
    [
        {"store": "store-1", "limit": "1"},
        {"store": "store-1", "status": "REJECTED", "limit": "2"},
        {"store": "store-1", "camera": "cam-1", "limit": "1"},
        {"store": "store-1", "from": "2026-11-21", "to": "2026-11-25", "limit": "1"},
        {"status": "REJECTED", "limit": "3"},
        {"limit": "1", "to": "2026-11-24"},
    ],
)
def test_every_cursor_handed_out_is_a_starting_key_dynamodb_accepts(
    listed: World, query: dict[str, str]
) -> None:
    ids = [v["video_id"] for page in pages(listed, query) for v in page["videos"]]
    everything = [
        v["video_id"]
        for v in listed.get("/videos", {k: v for k, v in query.items() if k != "limit"})["videos"]
    ]
    assert ids == everything and len(ids) == len(set(ids)) > 1


@pytest.mark.parametrize(
    "other",
    [
        {"store": "store-2", "limit": "2"},  # another partition: DynamoDB would refuse it
        {"store": "store-1", "status": "FAILED", "limit": "2"},  # another index partition
        {"store": "store-1", "from": "2026-11-25", "limit": "2"},  # outside the key condition
        {"store": "store-1", "camera": "cam-2", "limit": "2"},  # another filter
        {"limit": "2"},  # another index
    ],
)
def test_a_cursor_replayed_with_other_filters_is_a_400_naming_cursor(
    listed: World, other: dict[str, str]
) -> None:
    first = listed.get("/videos", {"store": "store-1", "limit": "2", "to": "2026-11-24"})
    assert first["next_cursor"]
    listed.operations.clear()
    status, _, body = listed.call("GET", "/videos", {**other, "cursor": first["next_cursor"]})
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["parameter"] == "cursor" and "other filters" in error["message"]
    assert listed.operations["Query"] == 0  # refused before DynamoDB is asked


def _forge(cursor: str, change: dict[str, str]) -> str:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["k"].update(change)
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "change",
    [
        {"gsi1pk": "store-2"},  # the partition of another store, fingerprint kept
        {"gsi1sk": "2026-11-29T10:00:00Z#cam-1#x"},  # after the range's end
        {"pk": "STORES", "sk": "store-1#cam-1"},  # not a video's key
    ],
)
def test_an_altered_cursor_is_a_400_naming_cursor(listed: World, change: dict[str, str]) -> None:
    query = {"store": "store-1", "limit": "2", "to": "2026-11-24"}
    cursor = listed.get("/videos", query)["next_cursor"]
    status, _, body = listed.call("GET", "/videos", {**query, "cursor": _forge(cursor, change)})
    assert status == 400, body
    assert json.loads(body)["error"]["parameter"] == "cursor"


def test_dynamodb_refusing_the_clients_start_key_is_a_400_not_a_500(
    listed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: should the adapter's checks ever let through a key DynamoDB refuses (here:
    # the checks are switched off and the cursor is forged), the answer still blames the cursor.
    from displaysense.adapters import video_listing

    monkeypatch.setattr(video_listing._VideoQuery, "holds", lambda self, key: True)
    query = {"store": "store-1", "limit": "2"}
    cursor = listed.get("/videos", query)["next_cursor"]
    status, _, body = listed.call(
        "GET", "/videos", {**query, "cursor": _forge(cursor, {"gsi1pk": "store-2"})}
    )
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["parameter"] == "cursor" and "DynamoDB refused it" in error["message"]


def test_a_validation_exception_the_client_did_not_cause_stays_a_server_error(listed: World) -> None:
    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "bug"}}, "Query")

    listed.table.meta.client.meta.events.register("before-call.dynamodb.Query", refuse)
    status, _, body = listed.call("GET", "/videos", {"store": "store-1"})
    assert status == 500, body
    status, _, body = listed.call("GET", "/stores")
    assert status == 500, body


# -- metrics: one Query and its pages per camera

CAMERAS = ("cam-1", "cam-2", "cam-3", "cam-4")
START = 1_788_220_800  # 2026-09-01T00:00:00Z
DAYS = 90


def _write_day(world: World, camera: str, day: int) -> Counters:
    """A video of camera `camera` on day `day` with two busy hours, through MetricsStore.write_video."""
    day_s = START + day * 86_400
    series = {
        day_s + hour * 3600 + 600: Counters(foot_traffic=1 + day % 5, impressions=day % 2) for hour in (9, 17)
    }
    video = Video(
        video_id=f"{camera}-{day:04d}".ljust(32, "0"),
        store="store-1",
        camera=camera,
        bucket="b",
        key=f"uploads/store-1/{camera}/{iso_s(day_s)}.mp4",
        version_id="1",
        size=1,
        recorded_at=iso_s(day_s),
        status=VideoStatus.SUCCEEDED,
        created_at=iso_s(day_s),
        updated_at=iso_s(day_s),
    )
    summary = merge_all(series.values())
    metrics = VideoMetrics(
        summary=summary,
        series=series,
        passes=0,
        video=None,
        detections=DetectionCounts(),
        recorded_at_ms=day_s * 1000,
    )
    world.seeder.metrics.write_video(video, metrics, [])
    return summary


def test_ninety_days_hourly_for_four_cameras_is_one_query_and_its_pages_per_camera(world: World) -> None:
    for camera in CAMERAS:
        world.seeder.rejected("store-1", camera, iso_s(START), REASON)  # the camera registry
    # A video every third day: 60 hourly items per camera over the 90 days, 25 a page: three pages.
    expected = merge_all(_write_day(world, camera, day) for camera in CAMERAS for day in range(0, DAYS, 3))
    small_pages(world.table, 25)
    refuse_foreign_start_keys(world.table)
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(json.loads(params["body"]))

    world.table.meta.client.meta.events.register("before-call.dynamodb.*", record)
    world.operations.clear()
    doc = world.get(
        "/stores/store-1/metrics",
        {"from": iso_s(START), "to": iso_s(START + DAYS * 86_400), "granularity": "hour"},
    )
    assert len(doc["series"]) == DAYS * 24 and doc["grain"] == "1h"
    assert doc["totals"]["foot_traffic"] == expected.foot_traffic > 0
    assert doc["totals"]["impressions"] == expected.impressions
    assert sum(b["foot_traffic"] for b in doc["series"]) == expected.foot_traffic
    # Queries only: the camera registry, then per camera one Query followed over its pages.
    assert set(world.operations) == {"Query"}
    metric_requests = [
        r for r in requests if r["ExpressionAttributeValues"][":pk"]["S"].startswith("METRICS#")
    ]
    per_camera = Counter(r["ExpressionAttributeValues"][":pk"]["S"] for r in metric_requests)
    assert per_camera == {f"METRICS#store-1#{camera}#1h": 3 for camera in CAMERAS}
    firsts = Counter(
        r["ExpressionAttributeValues"][":pk"]["S"] for r in metric_requests if "ExclusiveStartKey" not in r
    )
    assert set(firsts.values()) == {1}  # one Query per camera; the rest are its pages
    assert world.operations["Query"] == len(metric_requests) + 1
