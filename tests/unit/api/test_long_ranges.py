"""A year of days or weeks in any zone, and comparisons over a year: the limits are the stored
buckets read, not the zone's offset (docs/api.md, "How it reads")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.unit.api.conftest import Api, hit

ZONES = [
    ("UTC", "1h"),
    ("Asia/Kolkata", "1h+30m"),
    ("Asia/Kathmandu", "1h+15m"),
    ("America/St_Johns", "1h+30m"),
    ("Australia/Adelaide", "1h+30m"),
    ("Australia/Lord_Howe", "1h, 15m, 1h+30m"),
]


def local(text: str, zone: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def seed_midnights(api: Api, zone: str) -> None:
    """One pass in the last minute of some local days and one in the first minute of the next,
    in both DST seasons, so that a bucket edge off by a quarter or half hour shows."""
    for day in ("2026-01-15", "2026-04-04", "2026-07-15", "2026-10-03", "2026-11-20"):
        night = local(f"{day}T23:59:00", zone)
        api.buckets.add("store-1", "cam-1", night, hit(1, 1))
        api.buckets.add("store-1", "cam-2", night + 60, hit(2, 0))


@pytest.mark.parametrize(("zone", "grain"), ZONES)
def test_a_year_of_days_with_its_previous_year_works_in_every_zone(api: Api, zone: str, grain: str) -> None:
    seed_midnights(api, zone)
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2025-12-01", "to": "2026-12-01", "granularity": "day", "tz": zone, "previous": "true"},
    )
    assert answer.status == 200, answer.body
    doc = answer.json()
    assert doc["grain"] == grain
    assert len(doc["series"]) == 365
    assert doc["totals"]["foot_traffic"] == 5 * 3
    by_day = {b["start"][:10]: b["foot_traffic"] for b in doc["series"] if b["foot_traffic"]}
    # 23:59 on a day, 00:00 the day after: each on its own local day.
    assert by_day == {
        "2026-01-15": 1,
        "2026-01-16": 2,
        "2026-04-04": 1,
        "2026-04-05": 2,
        "2026-07-15": 1,
        "2026-07-16": 2,
        "2026-10-03": 1,
        "2026-10-04": 2,
        "2026-11-20": 1,
        "2026-11-21": 2,
    }
    # One read per camera; across Lord Howe's 30-minute DST changes (four in the two years read)
    # one per stretch: each season on its hourly grain, the half hour after a change on 15m.
    reads = [c for c in api.buckets.calls if c[1] == "cam-1"]
    assert len(reads) == (9 if zone == "Australia/Lord_Howe" else 1)
    assert sum((end - start) // 3600 for _, _, grain, start, end in reads if grain != "15m") >= 2 * 364 * 24


@pytest.mark.parametrize(("zone", "grain"), ZONES[:5])
def test_a_year_of_weeks_with_its_previous_year_works_too(api: Api, zone: str, grain: str) -> None:
    seed_midnights(api, zone)
    doc = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2025-12-01", "to": "2026-12-01", "granularity": "week", "tz": zone, "previous": "true"},
    ).json()
    assert doc["grain"] == grain and len(doc["series"]) == 53
    assert doc["totals"]["foot_traffic"] == 15


def test_more_stored_buckets_than_the_cap_are_refused_naming_from(api: Api) -> None:
    # Two and a half years of days with the previous period: 43,800 hours per camera.
    answer = api.call(
        "GET",
        "/stores/store-1/metrics",
        {"from": "2024-06-01", "to": "2026-12-01", "granularity": "day", "previous": "true"},
    )
    assert answer.status == 422
    error = answer.json()["error"]
    assert error["parameter"] == "from" and "previous period" in error["message"]
    assert api.buckets.calls == []


def test_a_comparison_over_eleven_months_needs_no_series(api: Api) -> None:
    seed_midnights(api, "Asia/Kolkata")
    answer = api.call(
        "GET",
        "/compare",
        {
            "a": "store-1/cam-1",
            "b": "store-1/cam-2",
            "from": "2026-01-01",
            "to": "2026-11-30",
            "tz": "Asia/Kolkata",
        },
    )
    assert answer.status == 200, answer.body
    doc = answer.json()
    assert doc["a"]["foot_traffic"] == 5 and doc["a"]["impressions"] == 5
    assert doc["b"]["foot_traffic"] == 10 and doc["b"]["impressions"] == 0
    assert doc["a"]["from"] == "2026-01-01T00:00:00+05:30" and doc["b"]["to"] == "2026-11-30T00:00:00+05:30"
    assert {c[2] for c in api.buckets.calls} == {"1h+30m"} and len(api.buckets.calls) == 2


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"a": "store-1", "b": "store-1/cam-1", "from": "2024-01-01", "to": "2026-11-30"}, "from"),
        ({"a": "store-1@2024-01-01..2026-11-30", "b": "store-1"}, "a"),
        ({"a": "store-1", "b": "store-1@2023-01-01..2026-11-30"}, "b"),
        ({"a": "store-1", "b": "store-1", "from": "2026-11-30", "to": "2026-01-01"}, "from"),
    ],
)
def test_a_comparison_refuses_naming_its_own_parameters(
    api: Api, query: dict[str, str], parameter: str
) -> None:
    answer = api.call("GET", "/compare", query)
    assert answer.status == 422, answer.body
    assert answer.json()["error"]["parameter"] == parameter
