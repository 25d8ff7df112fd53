"""Per-minute counters of one video, in wall-clock minutes (recorded-at + timestamp).

A pass counts in the minute it started; its presence (person-milliseconds, for the mean
occupancy) is split over the minutes it spans; the peak occupancy of a minute is the most passes
in view at any instant of it, found by sweeping pass starts and ends in time order. The sweep
only advances to a time no future pass can start before, so it keeps just the passes in view.
"""

from __future__ import annotations

import heapq

from displaysense.domain.metrics import Counters, PassRecord

MINUTE_MS = 60_000
_START, _END = 0, 1  # at one instant, starts sort before ends: both passes are in view then


def minute_of(epoch_ms: int) -> int:
    """Start of the minute holding this instant, in epoch seconds."""
    return (epoch_ms // MINUTE_MS) * 60


class SeriesBuilder:
    def __init__(self, recorded_at_ms: int) -> None:
        self.origin_ms = recorded_at_ms
        self.buckets: dict[int, Counters] = {}
        self._events: list[tuple[int, int]] = []
        self._in_view = 0
        self._cursor: int | None = None

    def bucket(self, minute_s: int) -> Counters:
        found = self.buckets.get(minute_s)
        if found is None:
            found = self.buckets[minute_s] = Counters()
        return found

    def add_pass(self, record: PassRecord) -> None:
        start = self.origin_ms + record.start_ms
        end = self.origin_ms + record.end_ms
        self.bucket(minute_of(start)).add_pass(record)
        t = start
        while t < end:
            minute = minute_of(t)
            piece_end = min(end, (minute + 60) * 1000)
            self.bucket(minute).person_ms += piece_end - t
            t = piece_end
        heapq.heappush(self._events, (start, _START))
        heapq.heappush(self._events, (end, _END))

    @property
    def sweeping(self) -> bool:
        """Whether pass starts and ends wait to be swept."""
        return bool(self._events)

    def advance(self, safe_video_ms: int) -> None:
        """No pass still to come starts before this time (ms from the start of the video)."""
        self._sweep(self.origin_ms + safe_video_ms)

    def finish(self, duration_ms: int) -> dict[int, Counters]:
        """Close the sweep and spread the observed footage time over its minutes."""
        self._sweep(None)
        t, end = self.origin_ms, self.origin_ms + max(0, duration_ms)
        while t < end:
            minute = minute_of(t)
            piece_end = min(end, (minute + 60) * 1000)
            self.bucket(minute).observed_ms += piece_end - t
            t = piece_end
        return dict(sorted(self.buckets.items()))

    def _sweep(self, limit: int | None) -> None:
        events = self._events
        while events and (limit is None or events[0][0] < limit):
            t, kind = heapq.heappop(events)
            if self._in_view > 0 and self._cursor is not None and t > self._cursor:
                self._raise_peak(self._cursor, t - 1, self._in_view)
            if kind == _START:
                self._in_view += 1
                self._raise_peak(t, t, self._in_view)
            else:
                self._in_view -= 1
            self._cursor = t

    def _raise_peak(self, first_ms: int, last_ms: int, in_view: int) -> None:
        for minute in range(minute_of(first_ms), minute_of(last_ms) + 60, 60):
            bucket = self.bucket(minute)
            bucket.occupancy_peak = max(bucket.occupancy_peak, in_view)
