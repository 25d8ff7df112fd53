"""The metrics API on a 90-day hourly query for a store with 4 cameras.

    python -m bench.bench_api               # 90 days, 4 cameras, 5 timed requests
    python -m bench.bench_api --days 30 --repeat 3 --json out.json

DynamoDB is moto, in process (no AWS account): the table is created from `resources.TABLE` and
filled through the real write path (`MetricsStore.write_video`, one video per camera and day with
24 hourly buckets, written at every stored grain). One request is `GET /stores/store-1/metrics`
with `granularity=hour` over the whole range, through the real Powertools resolver and the real
adapters. Reported per request: the handler's wall time, the part of it spent inside DynamoDB calls
(moto's own Query work, which real DynamoDB does on its side), the API's own time (the rest), and
the floor: merely deserializing the same items (the Query pages as DynamoDB returns them, raw
JSON-typed) with boto3's TypeDeserializer. Also the count of DynamoDB requests by operation:
one Query (and its pages) per camera, plus one Query of the camera registry.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from displaysense.adapters.camera_registry import CameraRegistry
from displaysense.adapters.metrics_store import MetricsStore, metrics_pk
from displaysense.adapters.upload_presigner import S3Presigner
from displaysense.adapters.video_listing import VideoListing
from displaysense.adapters.video_records import VideoRecords
from displaysense.api.service import ApiService
from displaysense.domain.engine import DetectionCounts, VideoMetrics
from displaysense.domain.metrics import AGE_BUCKETS, ESTIMATED, GENDERS, MOODS, Counters, merge_all
from displaysense.domain.timeutil import iso_s
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.handlers.api import create_app
from displaysense.resources import TABLE
from displaysense_local.api_gateway import rest_event
from moto import mock_aws

TABLE_NAME = "displaysense-bench"
STORE = "store-1"
CAMERAS = ("cam-1", "cam-2", "cam-3", "cam-4")
START = 1_788_220_800  # 2026-09-01T00:00:00Z


def create_table() -> Any:
    return boto3.resource("dynamodb").create_table(**TABLE.create_table_request(TABLE_NAME))


def hour_counters(n: int) -> Counters:
    """A plausible hour: every field filled, so items are as large as real ones."""
    traffic = 20 + n % 37
    faces = traffic * 2 // 3
    return Counters(
        foot_traffic=traffic,
        dwellers=traffic // 4,
        impressions=traffic // 3,
        dwell_ms=traffic * 6100,
        attention_ms=traffic * 900,
        faces=faces,
        person_ms=traffic * 7000,
        observed_ms=3_600_000,
        occupancy_peak=1 + n % 5,
        gender={g: faces // len(GENDERS) for g in GENDERS},
        age={a: faces // len(AGE_BUCKETS) for a in AGE_BUCKETS},
        mood={m: faces // len(MOODS) for m in MOODS},
        accessories={"eyeglasses": faces // 4, "sunglasses": 1, "beard": faces // 6, "mustache": 2},
        estimated=dict.fromkeys(ESTIMATED, faces),
    )


def seed(table: Any, days: int) -> int:
    """One video per camera and day, 24 hourly buckets each, through MetricsStore.write_video."""
    store = MetricsStore(table)
    items = 0
    for camera in CAMERAS:
        for day in range(days):
            day_s = START + day * 86_400
            series = {day_s + h * 3600: hour_counters(day * 24 + h) for h in range(24)}
            video = Video(
                video_id=f"{camera}-{day:04d}".ljust(32, "0"),
                store=STORE,
                camera=camera,
                bucket="bench",
                key=f"uploads/{STORE}/{camera}/{iso_s(day_s)}.mp4",
                version_id="1",
                size=1,
                recorded_at=iso_s(day_s),
                status=VideoStatus.SUCCEEDED,
                created_at=iso_s(day_s),
                updated_at=iso_s(day_s),
            )
            metrics = VideoMetrics(
                summary=merge_all(series.values()),
                series=series,
                passes=0,
                video=None,
                detections=DetectionCounts(),
                recorded_at_ms=day_s * 1000,
            )
            stats = store.write_video(video, metrics, [])
            items += sum(stats.buckets.values())
    # The camera registry, as ingest keeps it.
    registry = VideoRecords(table, CameraRegistry(table))
    for camera in CAMERAS:
        first = Video(
            video_id=f"reg-{camera}".ljust(32, "0"),
            store=STORE,
            camera=camera,
            bucket="bench",
            key=f"uploads/{STORE}/{camera}/x.mp4",
            version_id="1",
            size=1,
            recorded_at=iso_s(START),
            status=VideoStatus.QUEUED,
            created_at=iso_s(START),
            updated_at=iso_s(START),
        )
        registry.register(first, expected_jobs=(JobKind.FACES,))
    return items


def floor_items(table: Any, days: int) -> list[dict[str, Any]]:
    """The raw items of the same Queries the API makes (1h grain, same range and projection)."""
    # A plain client: the table resource's client would wrap and unwrap the DynamoDB JSON types.
    client = boto3.client("dynamodb")
    raw: list[dict[str, Any]] = []
    for camera in CAMERAS:
        request: dict[str, Any] = {
            "TableName": TABLE_NAME,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": metrics_pk(STORE, camera, "1h")},
                ":lo": {"S": iso_s(START)},
                ":hi": {"S": iso_s(START + days * 86_400)},
            },
            "ProjectionExpression": "bucket_start, counters",
        }
        # The low-level client without the resource layer: items stay in DynamoDB's JSON types.
        while True:
            page = client.query(**request)
            raw.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return raw


def run(days: int, repeat: int) -> dict[str, Any]:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-central-1",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(name, None)
    with mock_aws():
        table = create_table()
        t0 = time.perf_counter()
        written = seed(table, days)
        seed_s = time.perf_counter() - t0
        service = ApiService(
            videos=VideoRecords(table, CameraRegistry(table)),
            listing=VideoListing(table),
            cameras=CameraRegistry(table),
            buckets=MetricsStore(table),
            presigner=S3Presigner(boto3.client("s3"), "bench"),
            max_video_bytes=10 * 1024**3,
            upload_url_ttl_s=900,
        )
        app = create_app(lambda: service)
        operations: Counter[str] = Counter()
        in_dynamodb = [0.0]
        started: dict[int, float] = {}

        def before(event_name: str, **kwargs: Any) -> None:
            operations[event_name.rsplit(".", 1)[-1]] += 1
            started[id(kwargs.get("context"))] = time.perf_counter()

        def after(event_name: str, **kwargs: Any) -> None:
            begun = started.pop(id(kwargs.get("context")), None)
            if begun is not None:
                in_dynamodb[0] += time.perf_counter() - begun

        events = table.meta.client.meta.events
        events.register("before-call.dynamodb.*", before)
        events.register("after-call.dynamodb.*", after)
        query = [
            ("from", iso_s(START)),
            ("to", iso_s(START + days * 86_400)),
            ("granularity", "hour"),
        ]
        event = rest_event(method="GET", resource_path=f"/stores/{STORE}/metrics", query=query)
        # The first request does the cold start work (service, models): kept out of the timings.
        warm = app.resolve(event, None)  # type: ignore[arg-type]
        assert warm["statusCode"] == 200, warm["body"][:300]
        series = json.loads(warm["body"])["series"]
        totals, dynamo, counts = [], [], []
        for _ in range(repeat):
            operations.clear()
            in_dynamodb[0] = 0.0
            t = time.perf_counter()
            answer = app.resolve(event, None)  # type: ignore[arg-type]
            totals.append(time.perf_counter() - t)
            dynamo.append(in_dynamodb[0])
            counts.append(dict(operations))
            assert answer["statusCode"] == 200
        raw = floor_items(table, days)
        deserializer = TypeDeserializer()
        floors = []
        for _ in range(repeat):
            t = time.perf_counter()
            for item in raw:
                {k: deserializer.deserialize(v) for k, v in item.items()}
            floors.append(time.perf_counter() - t)
        total, in_db, floor = statistics.median(totals), statistics.median(dynamo), statistics.median(floors)
        return {
            "days": days,
            "cameras": len(CAMERAS),
            "items_written": written,
            "seed_s": round(seed_s, 1),
            "items_read": len(raw),
            "series_buckets": len(series),
            "response_bytes": len(answer["body"]),
            "handler_ms": round(total * 1000, 1),
            "in_dynamodb_ms": round(in_db * 1000, 1),
            "api_own_ms": round((total - in_db) * 1000, 1),
            "floor_deserialize_ms": round(floor * 1000, 1),
            "ratio_handler_to_floor": round(total / floor, 2),
            "ratio_api_own_to_floor": round((total - in_db) / floor, 2),
            "dynamodb_requests": counts[-1],
            "repeat": repeat,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    result = run(args.days, args.repeat)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
