"""Metrics of a store (or one camera) over a range, in calendar buckets of the store's zone.

One `read_buckets` call (one paged DynamoDB Query) per camera on the coarsest stored grain that
fits the granularity and the zone (domain/rollup.py `read_plan`; a few more only across Lord
Howe's 30-minute DST change); the rest is arithmetic on counters. The previous period, for
"change against the previous period", comes from the same Query: the read range is simply
extended backwards.
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
from displaysense.domain.metrics import ACCESSORIES, ESTIMATED, Counters, merge_all, summarize
from displaysense.domain.rollup import (
    NOMINAL_S,
    STORED_GRAINS,
    CalendarError,
    Stretch,
    bucket_start,
    bucket_starts,
    fitting_grain,
    grain_phase,
    next_bucket_start,
    read_plan,
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
# Stored buckets read per camera, previous period included: a year of days or weeks with its
# previous year is 17,568 hourly buckets, in any zone (docs/api.md).
MAX_STORED_PER_CAMERA = 20_000
MAX_SPAN_S = 3 * 366 * 86_400  # checked first, before any zone arithmetic
# Breakdowns whose counts exist only when faces carried the attribute (ESTIMATED names them).
_BREAKDOWNS = ("gender", "age", "mood")


@dataclass(frozen=True)
class Range:
    """[start_s, end_s) widened to whole calendar buckets, with its buckets' starts."""

    start_s: int
    end_s: int
    buckets: list[int]


def availability(total: Counters) -> dict[str, bool]:
    """False for an attribute no face carried although faces were seen (e.g. local mode has no
    gender or age model): its counts are then "not available", not zeros."""
    return {name: not (total.faces > 0 and total.estimated[name] == 0) for name in ESTIMATED}


def public_summary(counters: Counters, available: Mapping[str, bool]) -> dict[str, Any]:
    """The engine's summary keys, with each attribute that is not available as null: a breakdown
    (`gender`, `age`, `mood`) becomes null rather than zeros, an accessory share is null."""
    summary = summarize(counters)
    for name in _BREAKDOWNS:
        if not available[name]:
            summary[name] = None
    for name in ACCESSORIES:
        if not available[name]:
            summary["accessories"][name] = None
    return summary


def requested_span(
    *,
    start: str | None,
    end: str | None,
    tz: tzinfo,
    default_span_s: int,
    now_s: int | None = None,
    start_parameter: str = "from",
    end_parameter: str = "to",
) -> tuple[int, int]:
    """[start, end) as asked: `to` defaults to now and `from` to `default_span_s` before it."""
    end_s = parse_time(end, parameter=end_parameter, tz=tz) if end else int(now_s or wallclock.time())
    start_s = parse_time(start, parameter=start_parameter, tz=tz) if start else end_s - default_span_s
    if start_s >= end_s:
        raise unprocessable(start_parameter, f"{start_parameter} must be before {end_parameter}")
    if end_s - start_s > MAX_SPAN_S:
        raise unprocessable(start_parameter, "the range is longer than 3 years: ask for a shorter one")
    return start_s, end_s


def widen(start_s: int, end_s: int, granularity: str, tz: tzinfo) -> tuple[int, int, str]:
    """`start_s` floored and `end_s` raised to calendar bucket starts, and the stored grain that
    fits the range (its starts are where the calendar's buckets may start)."""
    try:
        # Padded by a week: the bucket edges may lie outside [start, end).
        grain = fitting_grain(granularity, tz, start_s - 604_800, end_s + 604_800)
    except CalendarError as exc:
        raise unprocessable("tz", str(exc)) from None
    first = bucket_start(start_s, granularity, tz)
    last = (
        end_s
        if bucket_start(end_s, granularity, tz) == end_s
        else next_bucket_start(end_s, granularity, tz, STORED_GRAINS[grain], grain_phase(grain))
    )
    return first, last, grain


def plan_range(
    *,
    start: str | None,
    end: str | None,
    granularity: str,
    tz: tzinfo,
    now_s: int | None = None,
) -> Range:
    """The calendar range a request asks for: `from` floored and `to` raised to bucket starts."""
    start_s, end_s = requested_span(
        start=start, end=end, tz=tz, default_span_s=DEFAULT_SPAN_S[granularity], now_s=now_s
    )
    if (end_s - start_s) // NOMINAL_S[granularity] > MAX_SERIES:
        raise unprocessable(
            "granularity",
            f"the range holds more than {MAX_SERIES} {granularity} buckets: use a coarser granularity "
            "or a shorter range",
        )
    first, last, grain = widen(start_s, end_s, granularity, tz)
    buckets = bucket_starts(first, last, granularity, tz, STORED_GRAINS[grain], grain_phase(grain))
    if len(buckets) > MAX_SERIES:
        raise unprocessable("granularity", f"the range holds more than {MAX_SERIES} {granularity} buckets")
    return Range(first, last, buckets)


def previous_start(current: Range, granularity: str, tz: tzinfo) -> int:
    """Start of the period of the same length just before `current`, on a bucket start."""
    return bucket_start(current.start_s - (current.end_s - current.start_s), granularity, tz)


def read_calendar(
    store: Buckets,
    *,
    store_id: str,
    cameras: Sequence[str],
    granularity: str,
    tz: tzinfo,
    start_s: int,
    end_s: int,
    parameter: str = "from",
) -> tuple[dict[int, Counters], list[Stretch]]:
    """Counters of the cameras in [start_s, end_s) (calendar bucket starts), summed, in calendar
    buckets of `tz`, and the read plan: one read per camera and stretch (one stretch unless a
    30-minute DST change lies in the range)."""
    try:
        plan = read_plan(granularity, tz, start_s, end_s)
    except CalendarError as exc:
        raise unprocessable("tz", str(exc)) from None
    stored = sum(stretch.buckets for stretch in plan)
    if stored > MAX_STORED_PER_CAMERA:
        raise unprocessable(
            parameter,
            f"the range needs {stored} stored buckets per camera, more than {MAX_STORED_PER_CAMERA}: "
            "ask for a shorter range (a previous period counts too)",
        )
    combined: dict[int, Counters] = {}
    for camera in cameras:
        for stretch in plan:
            for key, counters in store.read_buckets(
                store=store_id,
                camera=camera,
                grain=stretch.grain,
                start_s=stretch.start_s,
                end_s=stretch.end_s,
            ).items():
                found = combined.get(key)
                combined[key] = counters if found is None else found.merge(counters)
    # One calendar lookup per stored bucket start (they repeat across cameras only once here).
    out: dict[int, Counters] = {}
    for key in sorted(combined):
        calendar_key = bucket_start(key, granularity, tz)
        found = out.get(calendar_key)
        out[calendar_key] = combined[key] if found is None else found.merge(combined[key])
    return out, plan


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
    calendar, plan = read_calendar(
        store,
        store_id=store_id,
        cameras=cameras,
        granularity=granularity,
        tz=tz,
        start_s=read_from,
        end_s=current.end_s,
    )
    total = merge_all(_within(calendar, current.start_s, current.end_s))
    available = availability(total)
    ends = [*current.buckets[1:], current.end_s]
    empty = public_summary(Counters(), available)
    series = []
    for start, end in zip(current.buckets, ends, strict=True):
        found = calendar.get(start)
        series.append(
            {
                "start": local_iso(start, tz),
                "end": local_iso(end, tz),
                **(empty if found is None else public_summary(found, available)),
            }
        )
    document: dict[str, Any] = {
        "store": store_id,
        "camera": camera,
        "cameras": list(cameras),
        "granularity": granularity,
        "tz": zone_name(tz),
        "grain": ", ".join(dict.fromkeys(stretch.grain for stretch in plan)),
        "from": local_iso(current.start_s, tz),
        "to": local_iso(current.end_s, tz),
        "totals": public_summary(total, available),
        "availability": available,
        "series": series,
    }
    if with_previous:
        previous = merge_all(_within(calendar, read_from, current.start_s))
        document["previous"] = {
            "from": local_iso(read_from, tz),
            "to": local_iso(current.start_s, tz),
            "totals": public_summary(previous, availability(previous)),
        }
    return document


def totals_between(
    store: Buckets,
    *,
    store_id: str,
    cameras: Sequence[str],
    tz: tzinfo,
    start_s: int,
    end_s: int,
    parameter: str,
) -> Counters:
    """The cameras' counters over [start_s, end_s), hour bucket starts in `tz`: no series, so the
    range is only bounded by the stored buckets read (refused naming `parameter`)."""
    calendar, _ = read_calendar(
        store,
        store_id=store_id,
        cameras=cameras,
        granularity="hour",
        tz=tz,
        start_s=start_s,
        end_s=end_s,
        parameter=parameter,
    )
    return merge_all(calendar.values())


def _csv_columns() -> list[str]:
    # From the empty summary, not from the first row: a breakdown that is not available is null
    # there, and its columns must still be in the header.
    columns = ["start", "end"]
    for key, value in summarize(Counters()).items():
        if isinstance(value, dict):
            columns.extend(f"{key}_{name}" for name in value)
        else:
            columns.append(key)
    return columns


# Series columns of the CSV: scalar summary keys, then the breakdowns flattened as <key>_<name>;
# an empty cell is a value that is null in JSON (not available, or nothing to divide by).
def series_csv(document: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_csv_columns())
    template = summarize(Counters())
    for row in document["series"]:
        flat: list[Any] = [row["start"], row["end"]]
        for key, value in template.items():
            found = row[key]
            if isinstance(value, dict):
                flat.extend("" if found is None or found[name] is None else found[name] for name in value)
            else:
                flat.append("" if found is None else found)
        writer.writerow(flat)
    return out.getvalue()


def check_cameras(known: Sequence[str], camera: str | None, store_id: str) -> list[str]:
    if camera is None:
        return list(known)
    if camera not in known:
        raise ApiError(404, "camera", f"store {store_id!r} has no camera {camera!r}")
    return [camera]
