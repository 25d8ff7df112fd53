"""Per-minute counters rolled up to coarser buckets, exactly (counters only add up).

`roll_up` cuts time into the grains the table stores (UTC buckets of a fixed length, some of them
starting a quarter or half past the hour); the calendar functions below cut time into local
15-minute, hour, day and week buckets of a time zone (the API's granularities), pick the stored
grain that can feed them exactly, and plan which grain to read for which stretch of a range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from displaysense.domain.metrics import Counters

# Grains the results Lambda stores: name -> length in seconds; names are the table's key suffixes.
# A zone at +05:30 or -03:30 (India, Newfoundland, South Australia...) starts its hours and days
# at half past a UTC hour, one at +05:45 or +12:45 (Nepal, Chatham) at a quarter past: the hourly
# grains that start there let those zones read hours, days and weeks at one item an hour, as
# whole-hour zones do from 1h, instead of four items an hour from 15m.
STORED_GRAINS: dict[str, int] = {"1m": 60, "15m": 900, "1h": 3600, "1h+15m": 3600, "1h+30m": 3600}
# Where the buckets of a grain start, in seconds past the UTC epoch's grid (0 when not listed).
GRAIN_PHASE_S: dict[str, int] = {"1h+15m": 900, "1h+30m": 1800}


def grain_phase(grain: str) -> int:
    return GRAIN_PHASE_S.get(grain, 0)


def roll_up(series: Mapping[int, Counters], grain_s: int, phase_s: int = 0) -> dict[int, Counters]:
    """Buckets of `grain_s` seconds starting at `phase_s` past the UTC epoch's grid, from finer
    buckets keyed by their start (epoch seconds). Each finer bucket must lie inside one coarser
    bucket (the 1m buckets of the engine lie inside every stored grain)."""
    if grain_s <= 0:
        raise ValueError("grain_s must be positive")
    out: dict[int, Counters] = {}
    for start, counters in sorted(series.items()):
        key = start - (start - phase_s) % grain_s
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


def _fits(grain: str, granularity: str, offset_s: int) -> bool:
    """Whether the calendar boundaries of `granularity` at this UTC offset are starts of `grain`:
    local boundaries are multiples of the grain's length on the wall clock, so in UTC they sit at
    minus the offset, which must be the grain's phase."""
    length = STORED_GRAINS[grain]
    return NOMINAL_S[granularity] % length == 0 and (offset_s + grain_phase(grain)) % length == 0


def _on_grain(instant_s: int, grain: str) -> bool:
    return (instant_s - grain_phase(grain)) % STORED_GRAINS[grain] == 0


# Coarsest first; among grains of one length the order does not matter (at most one phase fits).
_BY_LENGTH = sorted(STORED_GRAINS, key=lambda name: -STORED_GRAINS[name])


def fitting_grain(granularity: str, tz: tzinfo, start_s: int, end_s: int) -> str:
    """The coarsest stored grain whose buckets each fall inside one calendar bucket in [start, end].

    That holds when the grain's length divides the granularity's nominal length, every UTC offset
    of the zone in the range puts the calendar's boundaries on the grain's starts, and every
    transition instant is one of them. Whole-hour zones get 1h; India (+05:30) 1h+30m, Nepal
    (+05:45) 1h+15m; Lord Howe, whose 30-minute DST moves its boundaries between :00 and :30,
    15m over a range that holds a change (`read_plan` reads it more cheaply).
    """
    if granularity not in NOMINAL_S:
        raise ValueError(f"unknown granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    changes = offset_changes(tz, start_s, end_s)
    for name in _BY_LENGTH:
        aligned_offsets = all(_fits(name, granularity, offset) for _, offset in changes)
        aligned_transitions = all(_on_grain(instant, name) for instant, _ in changes[1:])
        if aligned_offsets and aligned_transitions:
            return name
    raise _no_grain(changes)


def _no_grain(changes: list[tuple[int, int]]) -> CalendarError:
    offsets = sorted({offset for _, offset in changes})
    return CalendarError(
        f"the zone's UTC offsets in this range ({', '.join(_format_offset(o) for o in offsets)}) are not "
        "whole minutes, so no stored grain lines up with its calendar"
    )


@dataclass(frozen=True)
class Stretch:
    """Part of a range read on one stored grain: [start_s, end_s), both starts of the grain."""

    grain: str
    start_s: int
    end_s: int

    @property
    def buckets(self) -> int:
        return (self.end_s - self.start_s) // STORED_GRAINS[self.grain]


def read_plan(granularity: str, tz: tzinfo, start_s: int, end_s: int) -> list[Stretch]:
    """[start_s, end_s), two calendar bucket starts, cut into stretches each read on the coarsest
    stored grain whose buckets fall inside calendar buckets there: their roll-up is exact.

    One stretch, the `fitting_grain` of the range, unless a DST change in it moves the calendar's
    boundaries to another phase of the UTC hour (Lord Howe, +10:30 and +11:00): then each side of
    the change is read on its own hourly grain and only the half hour after it on 15m, rather
    than the whole range on 15m (four times the items).
    """
    changes = offset_changes(tz, start_s, end_s)
    stretches: list[Stretch] = []
    for index, (piece_start, offset) in enumerate(changes):
        piece_end = changes[index + 1][0] if index + 1 < len(changes) else end_s
        if piece_end <= piece_start:
            continue
        main = next((g for g in _BY_LENGTH if _fits(g, granularity, offset)), None)
        if main is None:
            raise _no_grain(changes)
        length, phase = STORED_GRAINS[main], grain_phase(main)
        inner_start = piece_start + (phase - piece_start) % length
        inner_end = piece_end - (piece_end - phase) % length
        if inner_start >= inner_end:
            inner_start = inner_end = piece_end
        # A change rarely falls on the other side's grain: the edges of the piece next to it are read
        # on a finer grain that fits both the calendar and the edge.
        for lo, hi in ((piece_start, inner_start), (inner_start, inner_end), (inner_end, piece_end)):
            if lo >= hi:
                continue
            grain = next(
                (
                    g
                    for g in _BY_LENGTH
                    if _fits(g, granularity, offset) and _on_grain(lo, g) and _on_grain(hi, g)
                ),
                None,
            )
            if grain is None:
                raise _no_grain(changes)
            if stretches and stretches[-1].grain == grain and stretches[-1].end_s == lo:
                stretches[-1] = Stretch(grain, stretches[-1].start_s, hi)
            else:
                stretches.append(Stretch(grain, lo, hi))
    return stretches


def _format_offset(offset_s: int) -> str:
    sign = "-" if offset_s < 0 else "+"
    hours, rest = divmod(abs(offset_s), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def next_bucket_start(epoch_s: int, granularity: str, tz: tzinfo, step_s: int, phase_s: int = 0) -> int:
    """The first calendar bucket start strictly after `epoch_s`.

    `step_s` and `phase_s` are the length and phase of a grain that fits (`fitting_grain`): every
    bucket start is one of its starts, so stepping by it finds the next one without skipping a
    short bucket (a 30-minute "hour").
    """
    t = epoch_s + step_s - (epoch_s - phase_s) % step_s
    while bucket_start(t, granularity, tz) != t:
        t += step_s
    return t


def bucket_starts(
    start_s: int, end_s: int, granularity: str, tz: tzinfo, step_s: int, phase_s: int = 0
) -> list[int]:
    """Starts of the calendar buckets that overlap [start_s, end_s), in order (`step_s` and
    `phase_s` of a grain that fits)."""
    if end_s <= start_s:
        return []
    out = [bucket_start(start_s, granularity, tz)]
    while True:
        nxt = next_bucket_start(out[-1], granularity, tz, step_s, phase_s)
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
