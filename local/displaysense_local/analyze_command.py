"""`displaysense analyze-results`: the metrics of one video from saved result pages."""

from __future__ import annotations

import os
from typing import Any

from displaysense.domain.detections import PageKind
from displaysense.domain.engine import InputOrderError, PassList, VideoMetrics, analyze
from displaysense.domain.metrics import summarize
from displaysense.domain.settings import EngineSettings
from displaysense.domain.timeline import StreamPageError
from displaysense.domain.timeutil import epoch_s, iso_s, parse_iso

from displaysense_local.errors import CommandError
from displaysense_local.saved_pages import PageFiles, ResultFileError, expand


def run(
    labels: list[str] | None,
    faces: list[str] | None,
    recorded_at: str | None,
    with_series: bool,
    with_passes: bool,
) -> dict[str, Any]:
    if not labels and not faces:
        raise CommandError("give --labels, --faces or both: the result pages to analyse")
    try:
        settings = EngineSettings.from_env(os.environ)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    recorded_at_ms = 0
    if recorded_at is not None:
        try:
            recorded_at_ms = epoch_s(parse_iso(recorded_at)) * 1000
        except ValueError as exc:
            raise CommandError(f"--recorded-at: {exc}") from None
    try:
        label_pages = PageFiles(expand(labels)) if labels else None
        face_pages = PageFiles(expand(faces)) if faces else None
    except ResultFileError as exc:
        raise CommandError(str(exc)) from None
    sink = PassList() if with_passes else None
    try:
        metrics = analyze(
            labels=label_pages,
            faces=face_pages,
            settings=settings,
            recorded_at_ms=recorded_at_ms,
            pass_sink=sink,
        )
    except ResultFileError as exc:
        raise CommandError(str(exc)) from None
    except StreamPageError as exc:
        source = label_pages if exc.kind is PageKind.LABELS else face_pages
        where = source.origin(exc.page_number) if source is not None else "?"
        option = "--labels" if exc.kind is PageKind.LABELS else "--faces"
        raise CommandError(f"{where} (from {option}): {exc.reason}") from None
    except InputOrderError as exc:
        raise CommandError(str(exc)) from None
    return report(metrics, sink, with_series)


def report(metrics: VideoMetrics, passes: PassList | None, with_series: bool) -> dict[str, Any]:
    video = metrics.video
    out: dict[str, Any] = {
        "summary": summarize(metrics.summary),
        "video": {
            "recorded_at": iso_s(metrics.recorded_at_ms // 1000),
            "duration_s": None if video is None or video.duration_ms is None else video.duration_ms / 1000,
            "frame_rate": None if video is None else video.frame_rate,
            "codec": None if video is None else video.codec,
            "format": None if video is None else video.format,
        },
        "detections": {
            "timestamps": metrics.detections.timestamps,
            "person_boxes": metrics.detections.person_boxes,
            "faces": metrics.detections.faces,
        },
    }
    if with_series:
        out["series"] = [{"minute": iso_s(minute), **summarize(c)} for minute, c in metrics.series.items()]
    if passes is not None:
        origin_s = metrics.recorded_at_ms // 1000
        out["passes"] = [p.to_dict(origin_s) for p in sorted(passes.records, key=lambda r: r.start_ms)]
    return out
