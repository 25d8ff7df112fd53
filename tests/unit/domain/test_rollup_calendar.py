"""Calendar roll-up in a time zone: buckets partition time, and roll-ups are exact and additive."""

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from displaysense.domain.metrics import GENDERS, MOODS, Counters, merge_all
from displaysense.domain.rollup import (
    GRANULARITIES,
    STORED_GRAINS,
    CalendarError,
    bucket_start,
    bucket_starts,
    fitting_grain,
    grain_phase,
    next_bucket_start,
    read_plan,
    roll_up,
    roll_up_calendar,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# Zones with the awkward cases: DST both ways, :30 and :45 offsets, a 30-minute DST shift (Lord
# Howe), DST at midnight (Santiago, Havana), a skipped day (Apia, end of 2011), southern hemisphere.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Pacific/Apia",
    "Pacific/Chatham",
]
zones = st.sampled_from(ZONES).map(ZoneInfo)
granularities = st.sampled_from(GRANULARITIES)
# 1990 to 2040, on whole minutes (the finest stored grain).
instants = st.integers(631_152_000 // 60, 2_208_988_800 // 60).map(lambda m: m * 60)
WEEK = 7 * 86_400


def _grain(granularity: str, tz: ZoneInfo, around: int) -> tuple[int, int]:
    """Length and phase of the grain that fits around `around`."""
    name = fitting_grain(granularity, tz, around - 2 * WEEK, around + 2 * WEEK)
    return STORED_GRAINS[name], grain_phase(name)


@st.composite
def counters(draw: st.DrawFn) -> Counters:
    n = st.integers(0, 1000)
    impressions = draw(n)
    return Counters(
        foot_traffic=impressions + draw(n),
        impressions=impressions,
        dwell_ms=draw(n),
        attention_ms=draw(n),
        faces=draw(n),
        person_ms=draw(n),
        observed_ms=draw(n),
        occupancy_peak=draw(st.integers(0, 30)),
        gender={g: draw(n) for g in GENDERS},
        mood={m: draw(n) for m in MOODS},
    )


@settings(max_examples=300, deadline=None)
@given(zones, granularities, instants)
def test_a_bucket_holds_its_instants_and_starts_on_a_stored_grain(tz, granularity, t):
    step, phase = _grain(granularity, tz, t)
    start = bucket_start(t, granularity, tz)
    end = next_bucket_start(start, granularity, tz, step, phase)
    assert start <= t < end
    assert (start - phase) % step == 0
    # Idempotent: the start of a bucket is in its own bucket.
    assert bucket_start(start, granularity, tz) == start
    # No instant of the bucket belongs to another one (checked on the stored grain).
    assert all(bucket_start(u, granularity, tz) == start for u in range(start, end, step))
    # A bucket is as long as its nominal length give or take DST: at most 1.5 hours off.
    nominal = {"15m": 900, "hour": 3600, "day": 86_400, "week": WEEK}[granularity]
    if not (tz.key == "Pacific/Apia" and 1_324_900_000 < t < 1_325_500_000):  # the skipped day
        assert abs((end - start) - nominal) <= 5400


@settings(max_examples=100, deadline=None)
@given(zones, granularities, instants, st.integers(1, 200))
def test_bucket_starts_partition_a_range(tz, granularity, t, steps):
    step, phase = _grain(granularity, tz, t)
    end = t + steps * step
    starts = bucket_starts(t, end, granularity, tz, step, phase)
    assert starts == sorted(set(starts))
    assert starts[0] <= t < (starts[1] if len(starts) > 1 else end + WEEK)
    assert starts[-1] < end
    for u in range(t - (t - phase) % step, end, step):
        if u >= t:
            assert bucket_start(u, granularity, tz) in starts


@settings(max_examples=60, deadline=None)
@given(zones, granularities, instants, st.dictionaries(st.integers(0, 3 * 24 * 60), counters(), max_size=40))
def test_calendar_rollup_is_exact_whatever_the_stored_grain_that_fits(tz, granularity, t, minutes):
    origin = t - t % 3600
    series = {origin + m * 60: c for m, c in minutes.items()}
    direct = roll_up_calendar(series, granularity, tz)
    # Nothing lost, nothing counted twice.
    assert merge_all(direct.values()) == merge_all(series.values())
    # Through the stored grain the API would pick: the same buckets, the same counters.
    grain = fitting_grain(granularity, tz, origin - WEEK, origin + 4 * 86_400 + WEEK)
    stored = roll_up(series, STORED_GRAINS[grain], grain_phase(grain))
    assert roll_up_calendar(stored, granularity, tz) == direct


@settings(max_examples=60, deadline=None)
@given(
    zones,
    granularities,
    instants,
    st.integers(1, 400),
    st.dictionaries(st.integers(0, 3 * 24 * 60), counters(), max_size=40),
)
def test_the_read_plan_covers_the_range_and_its_roll_up_is_exact(tz, granularity, t, days, minutes):
    start = bucket_start(t, granularity, tz)
    later = start + days * 86_400
    end = next_bucket_start(later, granularity, tz, *_grain(granularity, tz, later))
    plan = read_plan(granularity, tz, start, end)
    # Back to back from start to end, each stretch on its grain.
    assert plan[0].start_s == start and plan[-1].end_s == end
    assert all(a.end_s == b.start_s and a.grain != b.grain for a, b in itertools.pairwise(plan))
    for stretch in plan:
        length, offset = STORED_GRAINS[stretch.grain], grain_phase(stretch.grain)
        assert (stretch.start_s - offset) % length == 0 and (stretch.end_s - offset) % length == 0
    # Minutes spread over the first days and the last ones, where the plan's edges are.
    series = {start + m * 60: c for m, c in minutes.items() if start + m * 60 < end}
    series |= {end - 60 - m * 60: c for m, c in minutes.items() if end - 60 - m * 60 >= start}
    direct = roll_up_calendar(series, granularity, tz)
    stored: dict[int, Counters] = {}
    for stretch in plan:
        inside = {k: c for k, c in series.items() if stretch.start_s <= k < stretch.end_s}
        rolled = roll_up(inside, STORED_GRAINS[stretch.grain], grain_phase(stretch.grain))
        assert all(stretch.start_s <= k < stretch.end_s for k in rolled)
        stored |= rolled
    assert roll_up_calendar(stored, granularity, tz) == direct


@settings(max_examples=60, deadline=None)
@given(
    zones,
    granularities,
    instants,
    st.dictionaries(st.integers(0, 2000), counters(), max_size=20),
    st.dictionaries(st.integers(0, 2000), counters(), max_size=20),
)
def test_calendar_rollup_is_additive_across_cameras(tz, granularity, t, cam_a, cam_b):
    a = {t + m * 60: c for m, c in cam_a.items()}
    b = {t + m * 60: c for m, c in cam_b.items()}
    both = {k: a[k].merge(b[k]) if k in a and k in b else a.get(k) or b[k] for k in {*a, *b}}
    rolled_a, rolled_b = roll_up_calendar(a, granularity, tz), roll_up_calendar(b, granularity, tz)
    expected = {
        k: rolled_a[k].merge(rolled_b[k])
        if k in rolled_a and k in rolled_b
        else rolled_a.get(k) or rolled_b[k]
        for k in {*rolled_a, *rolled_b}
    }
    assert roll_up_calendar(both, granularity, tz) == expected


def _local(epoch_s: int, zone: str) -> str:
    return datetime.fromtimestamp(epoch_s, ZoneInfo(zone)).isoformat()


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def test_a_dst_day_in_berlin_has_23_or_25_hours_and_the_repeated_hour_is_two_buckets():
    berlin = ZoneInfo("Europe/Berlin")
    spring = bucket_start(_epoch("2026-03-29T12:00:00+02:00"), "day", berlin)
    assert _local(spring, "Europe/Berlin") == "2026-03-29T00:00:00+01:00"
    assert next_bucket_start(spring, "day", berlin, 3600) - spring == 23 * 3600
    autumn = bucket_start(_epoch("2026-10-25T12:00:00+01:00"), "day", berlin)
    assert next_bucket_start(autumn, "day", berlin, 3600) - autumn == 25 * 3600
    hours = bucket_starts(
        _epoch("2026-10-25T01:00:00+02:00"), _epoch("2026-10-25T04:00:00+01:00"), "hour", berlin, 3600
    )
    assert [_local(h, "Europe/Berlin") for h in hours] == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_weeks_start_on_monday_local_midnight():
    tokyo = ZoneInfo("Asia/Tokyo")
    # Sunday 2026-11-29 23:30 in Tokyo is still the week of Monday 2026-11-23 there (Sunday 14:30 UTC).
    start = bucket_start(_epoch("2026-11-29T23:30:00+09:00"), "week", tokyo)
    assert _local(start, "Asia/Tokyo") == "2026-11-23T00:00:00+09:00"
    # Monday 00:30 in Tokyo is a new week, though it is still Sunday in UTC.
    start = bucket_start(_epoch("2026-11-30T00:30:00+09:00"), "week", tokyo)
    assert _local(start, "Asia/Tokyo") == "2026-11-30T00:00:00+09:00"


def test_midnight_skipped_by_dst_starts_the_day_at_the_jump():
    santiago = ZoneInfo("America/Santiago")
    # 2026-09-06: clocks in Chile jump from 00:00 to 01:00; the day starts at 01:00 local.
    start = bucket_start(_epoch("2026-09-06T12:00:00-03:00"), "day", santiago)
    assert _local(start, "America/Santiago") == "2026-09-06T01:00:00-03:00"


@pytest.mark.parametrize(
    ("zone", "granularity", "grain"),
    [
        ("UTC", "15m", "15m"),
        ("UTC", "hour", "1h"),
        ("Europe/Berlin", "day", "1h"),
        ("Europe/Berlin", "week", "1h"),
        ("Asia/Kolkata", "hour", "1h+30m"),
        ("Asia/Kolkata", "15m", "15m"),
        ("Asia/Kathmandu", "day", "1h+15m"),
        ("Australia/Adelaide", "day", "1h+30m"),
        ("Australia/Lord_Howe", "day", "15m"),
        ("America/St_Johns", "week", "1h+30m"),
    ],
)
def test_the_coarsest_grain_that_fits_the_zone(zone, granularity, grain):
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert fitting_grain(granularity, ZoneInfo(zone), start, start + 365 * 86_400) == grain


def test_offsets_that_are_not_whole_minutes_are_refused_with_the_offsets():
    # Amsterdam kept local mean time (+00:19:32) until 1937.
    with pytest.raises(CalendarError, match=r"\+00:19:32"):
        fitting_grain("hour", ZoneInfo("Europe/Amsterdam"), -1_500_000_000, -1_490_000_000)


def test_unknown_granularity_is_refused():
    with pytest.raises(ValueError, match="granularity"):
        bucket_start(0, "month", ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("zone", "grain"),
    [
        ("UTC", "1h"),
        ("Europe/Berlin", "1h"),
        ("Asia/Kolkata", "1h+30m"),
        ("Asia/Kathmandu", "1h+15m"),
        ("America/St_Johns", "1h+30m"),
        ("Australia/Adelaide", "1h+30m"),
    ],
)
def test_a_year_of_days_is_one_hourly_stretch_in_zones_with_one_phase(zone, grain):
    tz = ZoneInfo(zone)
    start = bucket_start(_epoch("2026-01-01T12:00:00+00:00"), "day", tz)
    end = bucket_start(_epoch("2027-01-01T12:00:00+00:00"), "day", tz)
    [stretch] = read_plan("day", tz, start, end)
    assert (stretch.grain, stretch.start_s, stretch.end_s) == (grain, start, end)
    assert stretch.buckets == (end - start) // 3600


def test_lord_howe_reads_hours_on_both_sides_of_its_half_hour_dst_change():
    tz = ZoneInfo("Australia/Lord_Howe")
    start = bucket_start(_epoch("2026-01-01T12:00:00+00:00"), "day", tz)
    end = bucket_start(_epoch("2027-01-01T12:00:00+00:00"), "day", tz)
    plan = read_plan("day", tz, start, end)
    # Summer (+11:00) on 1h, winter (+10:30) on 1h+30m, and half an hour of 15m after each change.
    assert [s.grain for s in plan] == ["1h", "15m", "1h+30m", "15m", "1h"]
    assert all(s.end_s - s.start_s == 1800 for s in plan if s.grain == "15m")
    assert sum(s.buckets for s in plan) < (end - start) // 3600 + 10
