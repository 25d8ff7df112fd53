"""Assertions shared by the handler tests: the table holds exactly what a clean run computes."""

from __future__ import annotations

from displaysense.domain.rollup import STORED_GRAINS, grain_phase, roll_up
from displaysense.domain.timeutil import parse_iso
from displaysense.domain.video import JobKind, VideoStatus

from tests.integration.handlers.conftest import Pipeline, Scene, Upload, recorded_at_of


def assert_clean_run(pipeline: Pipeline, upload: Upload, scene: Scene, *, faces_only: bool = False) -> None:
    """The video SUCCEEDED and its summary, buckets at every grain and pass records are exactly
    what the engine computes from the same pages in one clean pass."""
    vid = upload.video_id
    recorded_at = recorded_at_of(upload.key)
    expected, records = scene.reference(recorded_at, faces_only=faces_only)
    assert expected.passes > 5  # the scene is not trivially empty

    video = pipeline.services.videos.get(vid)
    assert video is not None
    assert video.status is VideoStatus.SUCCEEDED, video.reason
    assert video.summary == expected.summary
    assert video.duration_ms == (expected.video.duration_ms if expected.video else None)
    assert all(job.status == "SUCCEEDED" for job in video.jobs.values())

    store = pipeline.services.metrics_store
    start = min(expected.series) - 3600
    end = max(expected.series) + 3600
    for grain, grain_s in STORED_GRAINS.items():
        stored = store.read_buckets(store="store-1", camera="cam-1", grain=grain, start_s=start, end_s=end)
        assert stored == roll_up(expected.series, grain_s, grain_phase(grain)), grain
        # One item per (bucket, video): nothing doubled by retries or duplicates.
        items = pipeline.items(f"METRICS#store-1#cam-1#{grain}")
        assert len(items) == len(roll_up(expected.series, grain_s, grain_phase(grain)))

    recorded_at_s = int(parse_iso(recorded_at).timestamp())
    assert store.read_passes(vid) == [r.to_dict(recorded_at_s) for r in records]

    # Every page of every job is archived, once, under results/<video>/.
    for kind, pages in ((JobKind.LABELS, scene.labels), (JobKind.FACES, scene.faces)):
        if faces_only and kind is JobKind.LABELS:
            assert pipeline.archived(vid, kind) == []
            continue
        assert pipeline.archived(vid, kind) == list(range(len(pages)))

    # Every job slot is free again.
    assert pipeline.services.slots.in_use() == 0
