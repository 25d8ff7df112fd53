"""The API handler against in-memory adapters: routes, calendar buckets, CSV, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from displaysense.domain.metrics import ESTIMATED, Counters, summarize
from displaysense.domain.video import VideoStatus

from tests.unit.api.conftest import MONDAY, Api, hit, video

HOUR = 3600


def seed_week(api: Api) -> None:
    """Two cameras of store-1, every hour of the week from Monday 2026-11-23 00:00 UTC."""
    for h in range(7 * 24):
        api.buckets.add("store-1", "cam-1", MONDAY + h * HOUR, hit(2, 1, faces=1, estimated={"gender": 1}))
        api.buckets.add("store-1", "cam-2", MONDAY + h * HOUR + 600, hit(1, 0))


def test_stores_group_cameras_with_bounds_and_counts(api: Api) -> None:
    answer = api.call("GET", "/stores")
    assert answer.status == 200
    stores = answer.json()["stores"]
    assert [s["store"] for s in stores] == ["store-1", "store-2"]
    first = stores[0]
    assert [c["camera"] for c in first["cameras"]] == ["cam-1", "cam-2"]
    assert first["first_recorded_at"] == "2026-11-23T09:00:00Z"
    assert first["last_recorded_at"] == "2026-11-29T18:00:00Z"
    assert first["counts"]["SUCCEEDED"] == 3 and first["counts"]["REJECTED"] == 1
    assert stores[1]["first_recorded_at"] is None


def test_metrics_totals_are_the_engine_summary_of_the_series(api: Api) -> None:
    seed_week(api)
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-23T00:00:00Z", "to": "2026-11-30T00:00:00Z", "granularity": "day"},
    )
    assert answer.status == 200, answer.body
    doc = answer.json()
    assert doc["grain"] == "1h" and doc["cameras"] == ["cam-1", "cam-2"]
    assert len(doc["series"]) == 7
    assert set(doc["totals"]) == set(summarize(Counters()))
    assert doc["totals"]["foot_traffic"] == 7 * 24 * 3
    assert doc["totals"]["impressions"] == 7 * 24
    assert doc["totals"]["engagement_rate"] == round(1 / 3, 4)
    assert sum(b["foot_traffic"] for b in doc["series"]) == doc["totals"]["foot_traffic"]
    assert (
        doc["series"][0]["start"] == "2026-11-23T00:00:00Z"
        and doc["series"][-1]["end"] == "2026-11-30T00:00:00Z"
    )
    # One read per camera, on the 1h grain, covering exactly the range.
    assert sorted(c[1] for c in api.buckets.calls) == ["cam-1", "cam-2"]
    assert {c[2:] for c in api.buckets.calls} == {("1h", MONDAY, MONDAY + 7 * 86_400)}


def test_camera_narrows_the_metrics(api: Api) -> None:
    seed_week(api)
    doc = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"camera": "cam-2", "from": "2026-11-23", "to": "2026-11-24", "granularity": "hour"},
    ).json()
    assert doc["camera"] == "cam-2" and doc["cameras"] == ["cam-2"]
    assert doc["totals"]["foot_traffic"] == 24
    assert len(doc["series"]) == 24
    assert [c[1] for c in api.buckets.calls] == ["cam-2"]


def test_days_follow_the_zone_and_zone_offsets_choose_the_grain(api: Api) -> None:
    seed_week(api)
    berlin = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-24", "to": "2026-11-26", "granularity": "day", "tz": "Europe/Berlin"},
    ).json()
    assert [b["start"] for b in berlin["series"]] == [
        "2026-11-24T00:00:00+01:00",
        "2026-11-25T00:00:00+01:00",
    ]
    assert berlin["grain"] == "1h" and berlin["tz"] == "Europe/Berlin"
    # Each Berlin day is 23:00 UTC to 23:00 UTC: 24 hours of both cameras.
    assert [b["foot_traffic"] for b in berlin["series"]] == [72, 72]
    india = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-24", "to": "2026-11-25", "granularity": "hour", "tz": "Asia/Kolkata"},
    ).json()
    # India's hours start at half past the UTC hour: read from the hourly grain that starts there.
    assert india["grain"] == "1h+30m"
    assert india["series"][0]["start"] == "2026-11-24T00:00:00+05:30"
    assert len(india["series"]) == 24


def test_the_range_is_widened_to_whole_buckets_and_a_week_starts_on_monday(api: Api) -> None:
    seed_week(api)
    doc = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-25T10:20:00Z", "to": "2026-11-26T01:00:00Z", "granularity": "week"},
    ).json()
    assert doc["from"] == "2026-11-23T00:00:00Z" and doc["to"] == "2026-11-30T00:00:00Z"
    assert len(doc["series"]) == 1


def test_previous_period_comes_from_the_same_reads(api: Api) -> None:
    seed_week(api)
    doc = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-26", "to": "2026-11-28", "granularity": "day", "previous": "true"},
    ).json()
    assert (
        doc["previous"]["from"] == "2026-11-24T00:00:00Z" and doc["previous"]["to"] == "2026-11-26T00:00:00Z"
    )
    assert doc["previous"]["totals"]["foot_traffic"] == 2 * 24 * 3
    assert len(api.buckets.calls) == 2  # still one read per camera


def test_availability_marks_attributes_not_estimated(api: Api) -> None:
    seed_week(api)
    doc = api.call("GET", "/stores/store-1/metrics", {"from": "2026-11-23", "to": "2026-11-24"}).json()
    assert doc["availability"] == {name: name == "gender" for name in ESTIMATED}
    empty = api.call("GET", "/stores/store-2/metrics", {"from": "2026-11-23", "to": "2026-11-24"}).json()
    assert all(empty["availability"].values())  # no faces at all: nothing to call unavailable


def test_attributes_not_available_are_null_not_zeros(api: Api) -> None:
    # Faces were seen and carried a gender, never an age, a mood or an accessory (local mode).
    seed_week(api)
    doc = api.call(
        "GET", "/stores/store-1/metrics", {"from": "2026-11-23", "to": "2026-11-24", "previous": "true"}
    ).json()
    for summary in [doc["totals"], *doc["series"]]:
        assert summary["gender"] == {"female": 0, "male": 0, "unknown": 0}
        assert summary["age"] is None and summary["mood"] is None and summary["mood_index"] is None
        assert set(summary["accessories"].values()) == {None}
    # The previous day has no data at all: zeros are then the truth, not "not available".
    assert doc["previous"]["totals"]["age"] == dict.fromkeys(doc["previous"]["totals"]["age"], 0)


def test_csv_leaves_attributes_not_available_empty(api: Api) -> None:
    seed_week(api)
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-23", "to": "2026-11-25", "granularity": "day", "format": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(answer.body)))
    assert len(rows) == 2
    for row in rows:
        assert row["gender_unknown"] == "0" and row["faces"] == "24"
        assert row["age_25-34"] == row["mood_HAPPY"] == row["accessories_beard"] == row["mood_index"] == ""
        assert "0" not in {v for k, v in row.items() if k.startswith(("age_", "mood_", "accessories_"))}


def test_a_video_summary_shows_attributes_not_available_as_null(api: Api) -> None:
    done = video("c" * 32, "store-1", "cam-1", "2026-11-23T10:00:00Z", VideoStatus.SUCCEEDED)
    done.summary = hit(4, 2, faces=3, estimated={**dict.fromkeys(ESTIMATED, 0), "gender": 3, "age": 3})
    api.videos.videos.append(done)
    doc = api.call("GET", f"/videos/{'c' * 32}").json()
    assert doc["summary"]["gender"] == {"female": 0, "male": 0, "unknown": 0}
    assert doc["summary"]["age"]["unknown"] == 0
    assert doc["summary"]["mood"] is None and doc["availability"]["mood"] is False


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ({"format": "csv"}, []),
        ({}, [("Accept", "text/csv")]),
        ({}, [("Accept", "text/csv, application/json;q=0.5")]),
    ],
)
def test_series_as_csv(api: Api, query: dict[str, str], headers: list[tuple[str, str]]) -> None:
    seed_week(api)
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-23", "to": "2026-11-25", "granularity": "day", **query},
        headers=headers,
    )
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body)))
    assert [r["start"] for r in rows] == ["2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"]
    assert rows[0]["foot_traffic"] == "72" and rows[0]["faces"] == "24"


def test_json_stays_the_default_for_browsers(api: Api) -> None:
    seed_week(api)
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2026-11-23", "to": "2026-11-24"},
        headers=[("Accept", "*/*")],
    )
    assert answer.headers["Content-Type"] == "application/json"


def test_videos_are_paged_and_filtered(api: Api) -> None:
    for i in range(5):
        api.videos.videos.append(
            video(f"{i:032x}", "store-1", "cam-1", f"2026-11-2{3 + i}T10:00:00Z", VideoStatus.SUCCEEDED)
        )
    api.videos.videos.append(
        video(
            "f" * 32,
            "store-1",
            "cam-2",
            "2026-11-25T10:00:00Z",
            VideoStatus.REJECTED,
            reason="The file is empty.",
        )
    )
    first = api.call("GET", "/videos", {"store": "store-1", "camera": "cam-1", "limit": "2"}).json()
    assert [v["recorded_at"] for v in first["videos"]] == ["2026-11-27T10:00:00Z", "2026-11-26T10:00:00Z"]
    second = api.call(
        "GET",
        "/videos",
        {"store": "store-1", "camera": "cam-1", "limit": "2", "cursor": first["next_cursor"]},
    )
    assert [v["recorded_at"] for v in second.json()["videos"]] == [
        "2026-11-25T10:00:00Z",
        "2026-11-24T10:00:00Z",
    ]
    rejected = api.call("GET", "/videos", {"status": "REJECTED"}).json()["videos"]
    assert [(v["status"], v["reason"]) for v in rejected] == [("REJECTED", "The file is empty.")]
    window = api.call("GET", "/videos", {"from": "2026-11-24", "to": "2026-11-26T00:00:00Z"}).json()["videos"]
    assert len(window) == 3


def test_one_video_with_timings_and_summary(api: Api) -> None:
    done = video("a" * 32, "store-1", "cam-1", "2026-11-23T10:00:00Z", VideoStatus.SUCCEEDED)
    done.created_at = "2026-11-23T11:00:00Z"
    done.analyzed_at = "2026-11-23T11:04:30Z"
    done.duration_ms = 60_000
    done.summary = hit(4, 2, faces=3)
    api.videos.videos.append(done)
    doc = api.call("GET", f"/videos/{'a' * 32}").json()
    assert doc["timings"]["analysis_s"] == 270.0 and doc["timings"]["duration_s"] == 60.0
    assert doc["summary"]["foot_traffic"] == 4 and doc["summary"]["engagement_rate"] == 0.5
    assert doc["availability"]["gender"] is False
    missing = api.call("GET", f"/videos/{'b' * 32}")
    assert missing.status == 404 and missing.json()["error"]["parameter"] == "video_id"


def test_upload_returns_a_presigned_put_for_the_drop_folder_key(api: Api) -> None:
    answer = api.call(
        "POST",
        "/uploads",
        headers=[("Content-Type", "application/json")],
        body=b'{"store": "store-1", "camera": "cam-1", "recorded_at": "2026-11-29T14:00:00Z",'
        b' "content_type": "video/mp4", "size": 1048576}',
    )
    assert answer.status == 200, answer.body
    ticket = answer.json()
    assert ticket["key"] == "uploads/store-1/cam-1/20261129T140000Z.mp4"
    assert ticket["method"] == "PUT" and ticket["headers"] == {"Content-Type": "video/mp4"}
    assert api.presigner.requests == [(ticket["key"], "video/mp4", 900)]
    assert ticket["expires_at"] == "2026-11-30T00:15:00Z"


GOOD_UPLOAD = {
    "store": "s",
    "camera": "cam-1",
    "recorded_at": "2026-11-29T14:00:00Z",
    "content_type": "video/mp4",
    "size": 10,
}


def upload_body(**changes: object) -> bytes:
    fields = {**GOOD_UPLOAD, **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not DROP}).encode()


DROP = object()


@pytest.mark.parametrize(
    ("body", "status", "parameter"),
    [
        (upload_body(store="Store 1"), 422, "store"),
        (upload_body(recorded_at="yesterday"), 422, "recorded_at"),
        (upload_body(content_type="video/avi"), 415, "content_type"),
        (upload_body(size=20_000_000_000), 413, "size"),
        (upload_body(size=0), 422, "size"),
        (upload_body(size="big"), 400, "size"),
        (upload_body(size=DROP), 400, "size"),
        (upload_body(x=1), 400, "x"),
        (b'{"store": ', 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b"", 400, "body"),
    ],
)
def test_upload_refusals_name_the_parameter(api: Api, body: bytes, status: int, parameter: str) -> None:
    answer = api.call("POST", "/uploads", headers=[("Content-Type", "application/json")], body=body)
    assert answer.status == status, answer.body
    assert answer.json()["error"]["parameter"] == parameter
    assert api.presigner.requests == []


def test_upload_needs_json(api: Api) -> None:
    answer = api.call("POST", "/uploads", headers=[("Content-Type", "text/plain")], body=b"store=s")
    assert answer.status == 415


def test_compare_two_cameras_in_their_own_periods(api: Api) -> None:
    seed_week(api)
    answer = api.call(
        "GET",
        "/compare",
        {"a": "store-1/cam-1@2026-11-23..2026-11-24", "b": "store-1/cam-2@2026-11-24..2026-11-25"},
    )
    assert answer.status == 200, answer.body
    doc = answer.json()
    assert (
        doc["a"]["foot_traffic"] == 48
        and doc["a"]["impressions"] == 24
        and doc["a"]["engagement_rate"] == 0.5
    )
    assert doc["b"]["foot_traffic"] == 24 and doc["b"]["engagement_rate"] == 0.0
    assert doc["p_b_better"] < 0.01
    assert doc["a"]["from"] == "2026-11-23T00:00:00Z" and doc["b"]["to"] == "2026-11-25T00:00:00Z"


def test_compare_stores_over_the_shared_period(api: Api) -> None:
    seed_week(api)
    doc = api.call(
        "GET", "/compare", {"a": "store-2", "b": "store-1", "from": "2026-11-23", "to": "2026-11-30"}
    ).json()
    assert doc["a"]["foot_traffic"] == 0 and doc["a"]["engagement_rate"] is None
    assert doc["b"]["foot_traffic"] == 7 * 24 * 3


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ({"a": "store-1", "b": "Store 1"}, 400, "b"),
        ({"a": "store-1@2026-11-23", "b": "store-1"}, 400, "a"),
        ({"a": "store-1@2026-11-23..", "b": "store-1"}, 400, "a"),
        ({"a": "store-1/cam-9", "b": "store-1"}, 404, "a"),
        ({"a": "nowhere", "b": "store-1"}, 404, "a"),
        ({"a": "store-1@2026-11-24..2026-11-23", "b": "store-1"}, 422, "a"),
        ({"a": "store-1"}, 400, "b"),
    ],
)
def test_compare_refusals(api: Api, query: dict[str, str], status: int, parameter: str) -> None:
    answer = api.call("GET", "/compare", query)
    assert answer.status == status, answer.body
    assert answer.json()["error"]["parameter"] == parameter


@pytest.mark.parametrize(
    ("method", "path", "query", "status", "parameter"),
    [
        ("GET", "/stores/store-1/metrics", {"granularity": "month"}, 400, "granularity"),
        ("GET", "/stores/store-1/metrics", {"from": "2026-13-01"}, 400, "from"),
        ("GET", "/stores/store-1/metrics", {"to": "9999-12-31T23:59:59+14:00"}, 400, "to"),
        ("GET", "/stores/store-1/metrics", {"from": "2026-11-24", "to": "2026-11-23"}, 422, "from"),
        ("GET", "/stores/store-1/metrics", {"from": "2020-01-01", "to": "2026-01-01"}, 422, "from"),
        (
            "GET",
            "/stores/store-1/metrics",
            {"from": "2025-01-01", "to": "2026-01-01", "granularity": "15m"},
            422,
            "granularity",
        ),
        ("GET", "/stores/store-1/metrics", {"tz": "Mars/Olympus"}, 400, "tz"),
        ("GET", "/stores/store-1/metrics", {"tz": "../../etc/passwd"}, 400, "tz"),
        ("GET", "/stores/store-1/metrics", {"camera": "cam-9"}, 404, "camera"),
        ("GET", "/stores/store-1/metrics", {"previous": "maybe"}, 400, "previous"),
        ("GET", "/stores/store-1/metrics", {"format": "xml"}, 400, "format"),
        ("GET", "/stores/nowhere/metrics", {}, 404, "store"),
        ("GET", "/stores/Store%201/metrics", {}, 400, "store"),
        ("GET", "/videos", {"camera": "cam-1"}, 400, "camera"),
        ("GET", "/videos", {"status": "DONE"}, 400, "status"),
        ("GET", "/videos", {"limit": "1000"}, 400, "limit"),
        ("GET", "/videos", {"limit": "ten"}, 400, "limit"),
        ("GET", "/videos", {"cursor": "forged"}, 400, "cursor"),
        ("GET", "/videos", {"from": "2026-11-25", "to": "2026-11-24"}, 422, "from"),
        ("GET", "/videos/not-an-id", {}, 400, "video_id"),
        ("GET", "/", {"asset": "../handlers/api.py"}, 404, "asset"),
    ],
)
def test_bad_requests_name_the_parameter(
    api: Api, method: str, path: str, query: dict[str, str], status: int, parameter: str
) -> None:
    answer = api.call(method, path, query)
    assert answer.status == status, answer.body
    error = answer.json()["error"]
    assert error["parameter"] == parameter
    assert error["message"]


@pytest.mark.parametrize(
    ("method", "path", "query", "unknown", "accepted"),
    [
        ("GET", "/stores", {"store": "store-1"}, "store", "it takes none"),
        (
            "GET",
            "/stores/store-1/metrics",
            {"camer": "cam-1"},
            "camer",
            "camera, format, from, granularity, previous, to, tz",
        ),
        ("GET", "/stores/store-1/metrics", {"Camera": "cam-1", "granularity": "day"}, "Camera", "camera"),
        ("GET", "/videos", {"store": "store-1", "stat": "FAILED"}, "stat", "camera, cursor, from, limit"),
        ("GET", "/videos/" + "a" * 32, {"fields": "all"}, "fields", "it takes none"),
        ("POST", "/uploads", {"dry_run": "1"}, "dry_run", "it takes none"),
        ("GET", "/compare", {"a": "store-1", "b": "store-2", "c": "store-1"}, "c", "a, b, from, to, tz"),
        ("GET", "/", {"assets": "app.js"}, "assets", "asset, v"),
        ("GET", "/openapi.json", {"format": "yaml"}, "format", "it takes none"),
        ("GET", "/docs", {"x": "1"}, "x", "format"),
    ],
)
def test_an_unknown_query_parameter_is_refused_naming_it_and_the_accepted_ones(
    api: Api, method: str, path: str, query: dict[str, str], unknown: str, accepted: str
) -> None:
    seed_week(api)
    api.videos.videos.append(video("a" * 32, "store-1", "cam-1", "2026-11-23T10:00:00Z", VideoStatus.QUEUED))
    headers = [("Content-Type", "application/json")] if method == "POST" else []
    answer = api.call(method, path, query, headers=headers, body=upload_body() if method == "POST" else None)
    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert error["parameter"] == unknown
    assert repr(unknown) in error["message"] and accepted in error["message"]
    assert api.presigner.requests == []


def test_several_unknown_parameters_are_all_listed(api: Api) -> None:
    answer = api.call("GET", "/stores/store-1/metrics", {"camer": "cam-1", "form": "csv"})
    assert answer.status == 400
    error = answer.json()["error"]
    assert [d["parameter"] for d in error["details"]] == ["camer", "form"]


def test_the_pages_take_their_own_parameters(api: Api) -> None:
    assert api.call("GET", "/", {"asset": "app.js", "v": "0123456789abcdef"}).status == 200
    assert api.call("GET", "/docs", {"format": "oauth2-redirect"}).status == 200


def test_unknown_routes_and_methods(api: Api) -> None:
    assert api.call("GET", "/nothing").status == 404
    assert api.call("GET", "/stores/store-1").status == 404
    wrong = api.call("DELETE", "/stores")
    assert wrong.status == 405 and wrong.headers["Allow"] == "GET"
    assert api.call("GET", "/uploads").headers["Allow"] == "POST"
    assert api.call("PATCH", "/videos/" + "a" * 32).status == 405
    assert api.call("HEAD", "/stores").status == 405


def test_cors_headers_for_allowed_origins_only(api: Api) -> None:
    allowed = api.call("GET", "/stores", headers=[("Origin", "https://shop.example")])
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = api.call("GET", "/stores", headers=[("Origin", "https://evil.example")])
    assert "Access-Control-Allow-Origin" not in other.headers
    error = api.call("GET", "/videos", {"limit": "0"}, headers=[("Origin", "https://shop.example")])
    assert error.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_dashboard_page_and_assets(api: Api) -> None:
    page = api.call("GET", "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "cdn" not in page.body.lower() and "https://" not in page.body
    script = api.call("GET", "/", {"asset": "chart.umd.min.js"})
    assert script.status == 200 and "Chart.js v4" in script.body
    assert script.headers["Cache-Control"].endswith("immutable")
    assert "?asset=chart.umd.min.js&amp;v=" in page.body


def test_openapi_documents_every_route_with_the_stage_server(api: Api) -> None:
    doc = api.call("GET", "/openapi.json").json()
    assert set(doc["paths"]) == {
        "/stores",
        "/stores/{store}/metrics",
        "/videos",
        "/videos/{video_id}",
        "/uploads",
        "/compare",
    }
    assert doc["servers"] == [{"url": "/v1"}]
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    metrics = doc["paths"]["/stores/{store}/metrics"]["get"]
    assert {p["name"] for p in metrics["parameters"]} >= {
        "from",
        "to",
        "granularity",
        "tz",
        "camera",
        "format",
    }
    assert "text/csv" in metrics["responses"]["200"]["content"]
    assert metrics["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    compare = doc["paths"]["/compare"]["get"]
    assert "<store>[/<camera>][@<from>..<to>]" in compare["description"]


def test_unknown_asset_names_are_not_cached(api: Api) -> None:
    from displaysense.api import static

    api.call("GET", "/", {"asset": "app.js"})
    cached = static._load.cache_info().currsize
    for n in range(50):
        assert api.call("GET", "/", {"asset": f"no-such-file-{n}.js"}).status == 404
    assert static._load.cache_info().currsize == cached


def test_the_page_says_how_the_data_routes_are_guarded() -> None:
    from displaysense.api.service import ApiService
    from displaysense.handlers.api import create_app
    from displaysense_local.api_gateway import rest_event

    from tests.unit.api.fakes import FakeBuckets, FakePresigner, FakeVideos

    def page(api_auth: str) -> str:
        service = ApiService(
            videos=FakeVideos(),
            listing=FakeVideos(),
            cameras=FakeVideos(),
            buckets=FakeBuckets(),
            presigner=FakePresigner(),
            max_video_bytes=1,
            upload_url_ttl_s=1,
        )
        app = create_app(lambda: service, api_auth=api_auth)  # type: ignore[arg-type]
        return str(app.resolve(rest_event(method="GET", resource_path="/", query=[]), None)["body"])  # type: ignore[arg-type]

    assert '<meta name="displaysense-auth" content="API_KEY">' in page("API_KEY")
    assert '<meta name="displaysense-auth" content="IAM">' in page("IAM")


@pytest.mark.parametrize(
    ("raw", "mode"), [(None, "API_KEY"), ("", "API_KEY"), ("IAM", "IAM"), ("iam", "IAM")]
)
def test_the_api_auth_mode_comes_from_ds_api_auth(raw: str | None, mode: str) -> None:
    from displaysense.config import api_auth_from_env

    assert api_auth_from_env({} if raw is None else {"DS_API_AUTH": raw}) == mode


def test_an_unknown_api_auth_mode_is_refused() -> None:
    from displaysense.config import api_auth_from_env
    from displaysense.domain.settings import SettingsError

    with pytest.raises(SettingsError, match="DS_API_AUTH='COGNITO'"):
        api_auth_from_env({"DS_API_AUTH": "cognito"})


def test_docs_page_works_offline(api: Api) -> None:
    page = api.call("GET", "/docs")
    assert page.status == 200 and "SwaggerUIBundle" in page.body
    assert "unpkg.com" not in page.body and "cdn.jsdelivr" not in page.body
