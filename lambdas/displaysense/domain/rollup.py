"""Per-minute counters rolled up to coarser buckets, exactly (counters only add up).

`roll_up` aligns buckets to the UTC epoch (the grains the table stores); the calendar functions
below cut time into local 15-minute, hour, day and week buckets of a time zone (the API's
granularities) and pick the stored grain that can feed them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, time, timedelta, tzinfo

from displaysense.domain.metrics import Counters

# Grains the results Lambda stores, in seconds; names are the table's key suffixes.
STORED_GRAINS: dict[str, int] = {"1m": 60, "15m": 900, "1h": 3600}


def roll_up(series: Mapping[int, Counters], grain_s: int) -> dict[int, Counters]:
    """Buckets of `grain_s` seconds, aligned to the UTC epoch, from finer buckets keyed by their
    start (epoch seconds). Each finer bucket must lie inside one coarser bucket."""
    if grain_s <= 0:
        raise ValueError("grain_s must be positive")
    out: dict[int, Counters] = {}
    for start, counters in sorted(series.items()):
        key = start - start % grain_s
        found = out.get(key)
        out[key] = counters if found is None else found.merge(counters)
    return out


# Calendar buckets in a time zone (API granularities). A bucket starts when the local wall clock
# reads a multiple of 15 minutes or a whole hour, at local midnight, or at midnight of a Monday, so
# days last 23 or 25 hours across DST changes and "09:00" means 09:00 in the store. Bucket starts
# are UTC epoch seconds; a bucket runs until the next start.
GRANULARITIES: tuple[str, ...] = ("15m", "hour", "day", "week")
# Nominal lengths: a stored grain can only feed a granularity whose nominal length it divides.
NOMINAL_S: dict[str, int] = {"15m": 900, "hour": 3600, "day": 86_400, "week": 604_800}
# Offsets are sampled this often to find the zone's transitions in a range; no real zone changes
# its offset twice within six hours.
_SCAN_S = 6 * 3600


class CalendarError(ValueError):
    """The range cannot be cut into this granularity in this zone with any stored grain."""


def bucket_start(epoch_s: int, granularity: str, tz: tzinfo) -> int:
    """Start (epoch seconds) of the calendar bucket of `granularity` in `tz` that holds `epoch_s`.

    The floor is taken on the local wall clock and mapped back with the local time's own fold, so
    the repeated hour of a DST fall-back is two buckets. A floored wall time that does not exist
    (a midnight skipped by a DST jump) maps, with fold=0, to the instant of the jump: the first
    instant of that local date.
    """
    local = datetime.fromtimestamp(epoch_s, tz)
    if granularity == "15m":
        floored = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    elif granularity == "hour":
        floored = local.replace(minute=0, second=0, microsecond=0)
    elif granularity == "day":
        floored = datetime.combine(local.date(), time(), tzinfo=tz)
    elif granularity == "week":
        floored = datetime.combine(local.date() - timedelta(days=local.weekday()), time(), tzinfo=tz)
    else:
        raise ValueError(f"unknown granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    return math.floor(floored.timestamp())


def _offset(epoch_s: int, tz: tzinfo) -> int:
    delta = datetime.fromtimestamp(epoch_s, tz).utcoffset()
    return 0 if delta is None else int(delta.total_seconds())


def offset_changes(tz: tzinfo, start_s: int, end_s: int) -> list[tuple[int, int]]:
    """(instant, UTC offset from then on) for `start_s` and each transition of `tz` up to `end_s`."""
    changes = [(start_s, _offset(start_s, tz))]
    t = start_s
    while t < end_s:
        nxt = min(end_s, t + _SCAN_S)
        if _offset(nxt, tz) != changes[-1][1]:
            # Bisect to the first second with the new offset.
            low, high = t, nxt
            while high - low > 1:
                mid = (low + high) // 2
                if _offset(mid, tz) == changes[-1][1]:
                    low = mid
                else:
                    high = mid
            changes.append((high, _offset(high, tz)))
        t = nxt
    return changes


def fitting_grain(granularity: str, tz: tzinfo, start_s: int, end_s: int) -> str:
    """The coarsest stored grain whose buckets each fall inside one calendar bucket in [start, end].

    That holds when the grain divides the granularity's nominal length and every UTC offset of the
    zone in the range, and every transition instant, is a multiple of the grain: then every
    calendar boundary is a multiple of it in UTC. Whole-hour zones get 1h; India (+05:30), Nepal
    (+05:45) or Lord Howe's 30-minute DST get 15m.
    """
    if granularity not in NOMINAL_S:
        raise ValueError(f"unknown granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    changes = offset_changes(tz, start_s, end_s)
    for name, grain_s in sorted(STORED_GRAINS.items(), key=lambda item: -item[1]):
        if NOMINAL_S[granularity] % grain_s:
            continue
        aligned_offsets = all(offset % grain_s == 0 for _, offset in changes)
        aligned_transitions = all(instant % grain_s == 0 for instant, _ in changes[1:])
        if aligned_offsets and aligned_transitions:
            return name
    offsets = sorted({offset for _, offset in changes})
    raise CalendarError(
        f"the zone's UTC offsets in this range ({', '.join(_format_offset(o) for o in offsets)}) are not "
        "whole minutes, so no stored grain lines up with its calendar"
    )


def _format_offset(offset_s: int) -> str:
    sign = "-" if offset_s < 0 else "+"
    hours, rest = divmod(abs(offset_s), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def next_bucket_start(epoch_s: int, granularity: str, tz: tzinfo, step_s: int) -> int:
    """The first calendar bucket start strictly after `epoch_s`.

    `step_s` is a grain that fits (`fitting_grain`): every bucket start is a multiple of it, so
    stepping by it finds the next one without skipping a short bucket (a 30-minute "hour").
    """
    t = epoch_s - epoch_s % step_s + step_s
    while bucket_start(t, granularity, tz) != t:
        t += step_s
    return t


def bucket_starts(start_s: int, end_s: int, granularity: str, tz: tzinfo, step_s: int) -> list[int]:
    """Starts of the calendar buckets that overlap [start_s, end_s), in order (`step_s` fits)."""
    if end_s <= start_s:
        return []
    out = [bucket_start(start_s, granularity, tz)]
    while True:
        nxt = next_bucket_start(out[-1], granularity, tz, step_s)
        if nxt >= end_s:
            return out
        out.append(nxt)


def roll_up_calendar(series: Mapping[int, Counters], granularity: str, tz: tzinfo) -> dict[int, Counters]:
    """Calendar buckets in `tz` from stored buckets keyed by their start (epoch seconds).

    Exact when each stored bucket lies inside one calendar bucket, which `fitting_grain` ensures
    for the grain it picks: counters only add up (and peaks take the maximum).
    """
    out: dict[int, Counters] = {}
    for start, counters in sorted(series.items()):
        key = bucket_start(start, granularity, tz)
        found = out.get(key)
        out[key] = counters if found is None else found.merge(counters)
    return out
