"""From Rekognition Video result pages to the metrics of one video.

    metrics = analyze(labels=label_pages, faces=face_pages, settings=EngineSettings(),
                      recorded_at_ms=...)

Pages are consumed as a stream: memory holds the people in view and a few seconds of detections,
not the video. Per-pass records go to an optional sink as each pass ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from displaysense.domain.detections import PageKind, VideoInfo
from displaysense.domain.metrics import Counters, PassRecord, merge_all
from displaysense.domain.series import SeriesBuilder
from displaysense.domain.settings import EngineSettings
from displaysense.domain.timeline import Moment, OutOfOrderError, Pages, spilled_timeline, timeline
from displaysense.domain.tracking import Track, Tracker


class PassSink(Protocol):
    def add(self, record: PassRecord) -> None: ...

    def reset(self) -> None:
        """Forget what was added: the analysis restarts from the first page."""


@dataclass
class PassList:
    records: list[PassRecord] = field(default_factory=list)

    def add(self, record: PassRecord) -> None:
        self.records.append(record)

    def reset(self) -> None:
        self.records.clear()


@dataclass
class DetectionCounts:
    timestamps: int = 0
    person_boxes: int = 0
    faces: int = 0


@dataclass
class VideoMetrics:
    summary: Counters
    series: dict[int, Counters]  # minute start (epoch seconds) -> counters of that minute
    passes: int
    video: VideoInfo | None
    detections: DetectionCounts
    recorded_at_ms: int
    sorted_on_disk: bool = False


class InputOrderError(ValueError):
    """The input is out of order beyond the reorder window and cannot be read a second time."""


def analyze(
    *,
    labels: Pages | None,
    faces: Pages | None,
    settings: EngineSettings,
    recorded_at_ms: int = 0,
    pass_sink: PassSink | None = None,
) -> VideoMetrics:
    """Metrics of one video. `labels` or `faces` may be None for a faces-only or persons-only run.

    Input out of time order beyond `settings.reorder_window_s` is read a second time and sorted on
    disk, so page order never changes the result; that needs re-iterable page sources (a list, or
    an object whose __iter__ starts over), which the archive and the command line provide.
    """
    sources = [(k, p) for k, p in ((PageKind.LABELS, labels), (PageKind.FACES, faces)) if p is not None]
    info: list[VideoInfo] = []
    window_ms = round(settings.reorder_window_s * 1000)
    with _cycle_collector_paused():
        try:
            return _run(
                timeline(sources, window_ms, info.append), settings, recorded_at_ms, pass_sink, info, False
            )
        except OutOfOrderError as exc:
            if any(iter(pages) is pages for _, pages in sources):
                raise InputOrderError(
                    f"result pages are out of time order ({exc}) and the input cannot be read twice"
                ) from exc
        if pass_sink is not None:
            pass_sink.reset()
        info.clear()
        return _run(spilled_timeline(sources, info.append), settings, recorded_at_ms, pass_sink, info, True)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the pages are read.

    Parsing pages creates millions of objects, each allocation counting towards a collection that
    then walks every live page object: about 12 % of the whole run (bench/bench_engine.py). The
    engine's own objects form no reference cycles, so reference counting frees them as they go;
    whatever cycles anything else makes meanwhile are collected when the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(
    moments: Iterator[Moment],
    settings: EngineSettings,
    recorded_at_ms: int,
    pass_sink: PassSink | None,
    info: list[VideoInfo],
    sorted_on_disk: bool,
) -> VideoMetrics:
    tracker = Tracker(settings)
    series = SeriesBuilder(recorded_at_ms)
    counts = DetectionCounts()
    passes = 0
    last_ms = 0

    def finish(tracks: Iterable[Track]) -> None:
        nonlocal passes
        for track in tracks:
            record = _pass_record(track, settings, tracker.face_period_ms())
            if record is None:
                continue
            passes += 1
            series.add_pass(record)
            if pass_sink is not None:
                pass_sink.add(record)

    timestamps = person_boxes = face_count = 0
    for moment in moments:
        t = moment.timestamp_ms
        persons, faces = moment.persons, moment.faces
        timestamps += 1
        if persons:
            person_boxes += len(persons)
            tracker.observe_persons(t, persons)
        if faces:
            face_count += len(faces)
            tracker.observe_faces(t, faces)
        ended = tracker.expire(t)
        if ended:
            finish(ended)
            # The sweep for the peak occupancy moves on only as passes end: before then it has
            # nothing new, and no pass still to come starts before the earliest track in view.
            earliest = tracker.earliest_start()
            series.advance(t if earliest is None else min(earliest, t))
        last_ms = t if t > last_ms else last_ms
    finish(tracker.flush())
    counts.timestamps, counts.person_boxes, counts.faces = timestamps, person_boxes, face_count

    video = next((i for i in info if i.duration_ms is not None), info[0] if info else None)
    duration_ms = max(last_ms, video.duration_ms or 0) if video is not None else last_ms
    buckets = series.finish(duration_ms)
    return VideoMetrics(
        summary=merge_all(buckets.values()),
        series=buckets,
        passes=passes,
        video=video,
        detections=counts,
        recorded_at_ms=recorded_at_ms,
        sorted_on_disk=sorted_on_disk,
    )


def _pass_record(track: Track, settings: EngineSettings, face_period_ms: int) -> PassRecord | None:
    """The pass a finished track stands for, or None when it is too short to be a person."""
    dwell_ms = track.last_ms - track.first_ms
    if dwell_ms < settings.min_pass_s * 1000:
        return None
    faces = track.faces
    attention_ms = faces.attention_ms(face_period_ms)
    return PassRecord(
        start_ms=track.first_ms,
        end_ms=track.last_ms,
        attention_ms=attention_ms,
        dweller=dwell_ms >= settings.dwell_s * 1000,
        impression=attention_ms >= settings.min_attention_s * 1000,
        source="person" if track.had_person else "face",
        face_samples=faces.samples,
        gender=faces.gender(settings),
        age=faces.age(),
        mood=faces.mood(),
        accessories=faces.accessories(),
    )
