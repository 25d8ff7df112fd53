"""Per-minute counters rolled up to coarser buckets, exactly (counters only add up)."""

from __future__ import annotations

from collections.abc import Mapping

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
