"""Metrics of a store (or one camera) over a range, in calendar buckets of the store's zone.

One `read_buckets` call (one paged DynamoDB Query) per camera on the coarsest stored grain that
fits the granularity and the zone (domain/rollup.py); the rest is arithmetic on counters. The
previous period, for "change against the previous period", comes from the same Query: the read
range is simply extended backwards.
"""

from __future__ import annotations

import csv
import io
import time as wallclock
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from displaysense.api.errors import ApiError, unprocessable
from displaysense.api.ports import Buckets
from displaysense.api.times import local_iso, parse_time, zone_name
from displaysense.domain.metrics import ESTIMATED, Counters, merge_all, summarize
from displaysense.domain.rollup import (
    NOMINAL_S,
    STORED_GRAINS,
    CalendarError,
    bucket_start,
    bucket_starts,
    fitting_grain,
    next_bucket_start,
)

# A range given without `from` covers this much before `to` (or now).
DEFAULT_SPAN_S: dict[str, int] = {
    "15m": 86_400,
    "hour": 7 * 86_400,
    "day": 30 * 86_400,
    "week": 12 * 7 * 86_400,
}
# Bounds that keep every answer well inside Lambda's 6 MB response and API Gateway's 29 s.
MAX_SERIES = 5000  # buckets in one series (90 days hourly is 2160)
MAX_STORED_PER_CAMERA = 20_000  # stored buckets read per camera, previous period included
MAX_SPAN_S = 3 * 366 * 86_400  # checked first, before any zone arithmetic


@dataclass(frozen=True)
class Range:
    """[start_s, end_s) widened to whole calendar buckets, with its buckets' starts."""

    start_s: int
    end_s: int
    buckets: list[int]
    grain: str


def availability(total: Counters) -> dict[str, bool]:
    """False for an attribute no face carried although faces were seen (e.g. local mode has no
    gender or age model): its counts are then "not available", not zeros."""
    return {name: not (total.faces > 0 and total.estimated[name] == 0) for name in ESTIMATED}


def plan_range(
    *,
    start: str | None,
    end: str | None,
    granularity: str,
    tz: tzinfo,
    now_s: int | None = None,
    start_parameter: str = "from",
    end_parameter: str = "to",
) -> Range:
    """The calendar range a request asks for: `from` floored and `to` raised to bucket starts."""
    end_s = parse_time(end, parameter=end_parameter, tz=tz) if end else int(now_s or wallclock.time())
    start_s = (
        parse_time(start, parameter=start_parameter, tz=tz) if start else end_s - DEFAULT_SPAN_S[granularity]
    )
    if start_s >= end_s:
        raise unprocessable(start_parameter, f"{start_parameter} must be before {end_parameter}")
    if end_s - start_s > MAX_SPAN_S:
        raise unprocessable(start_parameter, "the range is longer than 3 years: ask for a shorter one")
    if (end_s - start_s) // NOMINAL_S[granularity] > MAX_SERIES:
        raise unprocessable(
            "granularity",
            f"the range holds more than {MAX_SERIES} {granularity} buckets: use a coarser granularity "
            "or a shorter range",
        )
    try:
        # Padded by a week: the bucket edges may lie outside [start, end).
        grain = fitting_grain(granularity, tz, start_s - 604_800, end_s + 604_800)
    except CalendarError as exc:
        raise unprocessable("tz", str(exc)) from None
    step = STORED_GRAINS[grain]
    first = bucket_start(start_s, granularity, tz)
    last = (
        end_s
        if bucket_start(end_s, granularity, tz) == end_s
        else next_bucket_start(end_s, granularity, tz, step)
    )
    buckets = bucket_starts(first, last, granularity, tz, step)
    if len(buckets) > MAX_SERIES:
        raise unprocessable("granularity", f"the range holds more than {MAX_SERIES} {granularity} buckets")
    return Range(first, last, buckets, grain)


def previous_start(current: Range, granularity: str, tz: tzinfo) -> int:
    """Start of the period of the same length just before `current`, on a bucket start."""
    return bucket_start(current.start_s - (current.end_s - current.start_s), granularity, tz)


def read_calendar(
    store: Buckets,
    *,
    store_id: str,
    cameras: Sequence[str],
    grain: str,
    granularity: str,
    tz: tzinfo,
    start_s: int,
    end_s: int,
) -> dict[int, Counters]:
    """Counters of the cameras in [start_s, end_s), summed, in calendar buckets of `tz`."""
    if (end_s - start_s) // STORED_GRAINS[grain] > MAX_STORED_PER_CAMERA:
        raise unprocessable(
            "from", "the range is too long for this zone and granularity: ask for a shorter range"
        )
    combined: dict[int, Counters] = {}
    for camera in cameras:
        for key, counters in store.read_buckets(
            store=store_id, camera=camera, grain=grain, start_s=start_s, end_s=end_s
        ).items():
            found = combined.get(key)
            combined[key] = counters if found is None else found.merge(counters)
    # One calendar lookup per stored bucket start (they repeat across cameras only once here).
    out: dict[int, Counters] = {}
    for key in sorted(combined):
        calendar_key = bucket_start(key, granularity, tz)
        found = out.get(calendar_key)
        out[calendar_key] = combined[key] if found is None else found.merge(combined[key])
    return out


def _within(calendar: Mapping[int, Counters], start_s: int, end_s: int) -> Iterable[Counters]:
    return (c for k, c in calendar.items() if start_s <= k < end_s)


def metrics_document(
    store: Buckets,
    *,
    store_id: str,
    cameras: Sequence[str],
    camera: str | None,
    granularity: str,
    tz: tzinfo,
    current: Range,
    with_previous: bool,
) -> dict[str, Any]:
    read_from = previous_start(current, granularity, tz) if with_previous else current.start_s
    calendar = read_calendar(
        store,
        store_id=store_id,
        cameras=cameras,
        grain=current.grain,
        granularity=granularity,
        tz=tz,
        start_s=read_from,
        end_s=current.end_s,
    )
    total = merge_all(_within(calendar, current.start_s, current.end_s))
    ends = [*current.buckets[1:], current.end_s]
    empty = summarize(Counters())
    series = []
    for start, end in zip(current.buckets, ends, strict=True):
        found = calendar.get(start)
        series.append(
            {
                "start": local_iso(start, tz),
                "end": local_iso(end, tz),
                **(empty if found is None else summarize(found)),
            }
        )
    document: dict[str, Any] = {
        "store": store_id,
        "camera": camera,
        "cameras": list(cameras),
        "granularity": granularity,
        "tz": zone_name(tz),
        "grain": current.grain,
        "from": local_iso(current.start_s, tz),
        "to": local_iso(current.end_s, tz),
        "totals": summarize(total),
        "availability": availability(total),
        "series": series,
    }
    if with_previous:
        previous = merge_all(_within(calendar, read_from, current.start_s))
        document["previous"] = {
            "from": local_iso(read_from, tz),
            "to": local_iso(current.start_s, tz),
            "totals": summarize(previous),
        }
    return document


def totals_for(
    store: Buckets,
    *,
    store_id: str,
    cameras: Sequence[str],
    tz: tzinfo,
    current: Range,
    granularity: str,
) -> Counters:
    calendar = read_calendar(
        store,
        store_id=store_id,
        cameras=cameras,
        grain=current.grain,
        granularity=granularity,
        tz=tz,
        start_s=current.start_s,
        end_s=current.end_s,
    )
    return merge_all(calendar.values())


# Series columns of the CSV: scalar summary keys, then the breakdowns flattened as <key>_<name>.
def series_csv(document: Mapping[str, Any]) -> str:
    series: list[dict[str, Any]] = document["series"]
    columns: list[str] = []
    sample = series[0] if series else {"start": "", "end": "", **summarize(Counters())}
    for key, value in sample.items():
        if isinstance(value, dict):
            columns.extend(f"{key}_{name}" for name in value)
        else:
            columns.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in series:
        flat: list[Any] = []
        for value in row.values():
            if isinstance(value, dict):
                flat.extend("" if v is None else v for v in value.values())
            else:
                flat.append("" if value is None else value)
        writer.writerow(flat)
    return out.getvalue()


def check_cameras(known: Sequence[str], camera: str | None, store_id: str) -> list[str]:
    if camera is None:
        return list(known)
    if camera not in known:
        raise ApiError(404, "camera", f"store {store_id!r} has no camera {camera!r}")
    return [camera]
