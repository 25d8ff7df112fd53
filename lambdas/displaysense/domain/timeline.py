"""The two result streams (labels and faces) merged into moments in time order.

Rekognition returns each job's results sorted by timestamp, but pages repeat a timestamp across
their boundary, a retried page may arrive twice, and some producers interleave entries slightly
out of order. The merge holds detections for `reorder_window_ms` of video time before releasing
them, grouping and de-duplicating each timestamp; only that window is in memory. Input more out
of order than that raises OutOfOrderError, and `spilled_timeline` sorts it on disk instead.
"""

from __future__ import annotations

import heapq
import math
import pickle
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from displaysense.domain.detections import (
    Box,
    FaceSample,
    PageError,
    PageKind,
    PersonBox,
    VideoInfo,
    face_samples,
    page_kind,
    person_boxes,
)

Pages = Iterable[Mapping[str, Any]]
InfoSink = Callable[[VideoInfo], None]


class OutOfOrderError(Exception):
    """Detections arrived further out of time order than the reorder window allows."""


@dataclass(slots=True)
class Moment:
    timestamp_ms: int
    persons: list[Box] = field(default_factory=list)
    faces: list[FaceSample] = field(default_factory=list)
    # pages that contributed to this moment; only a moment spread over pages can hold repeats
    pages: int = 0

    def canonical(self) -> Moment:
        """De-duplicated, in a fixed order: the same result whatever the page order or size."""
        persons, faces = self.persons, self.faces
        if self.pages > 1:
            persons = list(set(persons))
            faces = list({f.identity: f for f in faces}.values())
        if len(persons) > 1:
            persons.sort(key=lambda b: (b.left, b.top, b.width, b.height))
        if len(faces) > 1:
            faces.sort(key=lambda f: f.sort_key)
        self.persons, self.faces = persons, faces
        return self


Detection = PersonBox | FaceSample


def read_pages(pages: Pages, kind: PageKind, on_info: InfoSink) -> Iterator[list[Detection]]:
    """The detections of each page, checking that every page is of the expected kind."""
    for number, page in enumerate(pages, start=1):
        try:
            found = page_kind(page)
            if found is not kind:
                raise PageError(
                    f"a {found.value} page (Get{'Label' if found is PageKind.LABELS else 'Face'}Detection) "
                    f"where {kind.value} pages were expected"
                )
            info = VideoInfo.from_page(page)
            if info is not None:
                on_info(info)
            if kind is PageKind.LABELS:
                yield list(person_boxes(page))
            else:
                yield list(face_samples(page))
        except PageError as exc:
            raise StreamPageError(kind, number, str(exc)) from None


class StreamPageError(PageError):
    """A PageError that knows which stream and page (counted from 1) it is about."""

    def __init__(self, kind: PageKind, page_number: int, message: str) -> None:
        super().__init__(f"{kind.value} page {page_number}: {message}")
        self.kind = kind
        self.page_number = page_number
        self.reason = message


def _add(moment: Moment, detection: Detection) -> None:
    if isinstance(detection, PersonBox):
        moment.persons.append(detection.box)
    else:
        moment.faces.append(detection)


class _Stream:
    __slots__ = ("done", "high", "pages")

    def __init__(self, pages: Iterator[list[Detection]]) -> None:
        self.pages = pages
        self.high = -math.inf  # latest timestamp seen
        self.done = False


def timeline(
    sources: Iterable[tuple[PageKind, Pages]], reorder_window_ms: int, on_info: InfoSink
) -> Iterator[Moment]:
    streams = [_Stream(read_pages(pages, kind, on_info)) for kind, pages in sources]
    pending: dict[int, Moment] = {}
    times: list[int] = []
    released = -1
    while True:
        live = [s for s in streams if not s.done]
        if not live:
            break
        # Pull from the stream that is furthest behind, so both advance through time together.
        stream = min(live, key=lambda s: s.high)
        page = next(stream.pages, None)
        if page is None:
            stream.done = True
        else:
            touched: set[int] = set()
            high = stream.high
            # A page lists the detections of one timestamp together: the checks and lookups of a
            # timestamp are made once per run of it, not for every detection.
            last_t: int | None = None
            moment: Moment | None = None
            for detection in page:
                t = detection.timestamp_ms
                if t != last_t or moment is None:
                    if t <= released:
                        raise OutOfOrderError(
                            f"a detection at {t} ms arrived after {released} ms had been processed"
                        )
                    moment = pending.get(t)
                    if moment is None:
                        moment = pending[t] = Moment(t)
                        heapq.heappush(times, t)
                    if t not in touched:
                        touched.add(t)
                        moment.pages += 1
                    high = max(high, t)
                    last_t = t
                _add(moment, detection)
            stream.high = high
        limit = min((s.high - reorder_window_ms for s in streams if not s.done), default=math.inf)
        while times and times[0] < limit:
            released = heapq.heappop(times)
            yield pending.pop(released).canonical()
    while times:
        yield pending.pop(heapq.heappop(times)).canonical()


def spilled_timeline(sources: Iterable[tuple[PageKind, Pages]], on_info: InfoSink) -> Iterator[Moment]:
    """The same moments for input in any order, sorted in a temporary SQLite file on disk."""
    with tempfile.TemporaryDirectory(prefix="displaysense-sort-") as folder:
        db = sqlite3.connect(Path(folder) / "detections.db")
        try:
            db.execute("CREATE TABLE detection (t INTEGER NOT NULL, payload BLOB NOT NULL)")
            for kind, pages in sources:
                for page in read_pages(pages, kind, on_info):
                    db.executemany(
                        "INSERT INTO detection VALUES (?, ?)",
                        ((d.timestamp_ms, pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)) for d in page),
                    )
            db.execute("CREATE INDEX by_time ON detection (t)")
            moment: Moment | None = None
            for t, payload in db.execute("SELECT t, payload FROM detection ORDER BY t"):
                if moment is None or moment.timestamp_ms != t:
                    if moment is not None:
                        yield moment.canonical()
                    moment = Moment(t, pages=2)  # rows of any pages: de-duplicate
                _add(moment, pickle.loads(payload))  # noqa: S301 - our own rows, written just above
            if moment is not None:
                yield moment.canonical()
        finally:
            db.close()
