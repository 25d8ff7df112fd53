"""The runs every fault test compares with: the stand-in's real analysis of the sample footage
(made once per session) and one clean run of the pipeline over the same uploads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import SAMPLE, LocalPipeline, analyse_sample

# Four uploads: the sample twice on one camera, 30 s apart (their minutes share buckets, so the
# per-video bucket items must add up); an MP4 header over bytes no decoder reads (ingest accepts it,
# Rekognition fails both jobs); a text file named .mp4 (rejected by ingest).
SAMPLE_KEYS = (
    "uploads/store-a/cam-1/20261124T140000Z.mp4",
    "uploads/store-a/cam-1/20261124T140030Z.mp4",
)
CORRUPT_KEY = "uploads/store-a/cam-2/20261124T140000Z.mp4"
CORRUPT = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41" + bytes(5000)
TEXT_KEY = "uploads/store-a/cam-2/20261124T141500Z.mp4"
TEXT = b"camera 2 says hello\n"
# Get* pages of at most this many entries: the sample's 163 label and 253 face entries make two
# pages per job, so there is a page boundary to checkpoint, resume and kill at.
PAGE_SIZE = 128


def upload_all(run: LocalPipeline, analysis: bytes) -> None:
    sample = SAMPLE.read_bytes()
    for key in SAMPLE_KEYS:
        run.upload(key, sample, analysis=analysis)
    run.upload(CORRUPT_KEY, CORRUPT)
    run.upload(TEXT_KEY, TEXT)


@dataclass(frozen=True)
class CleanRun:
    snapshot: dict[str, Any]
    trace: list[str]  # the results handler's requests for one sample video, in order
    figures: dict[str, Any]
    settled_s: float


@pytest.fixture(scope="session")
def sample_analysis(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return analyse_sample(tmp_path_factory.mktemp("sample-analysis"))


@pytest.fixture(scope="session")
def clean(sample_analysis: bytes, tmp_path_factory: pytest.TempPathFactory) -> CleanRun:
    workdir: Path = tmp_path_factory.mktemp("clean")
    with LocalPipeline(workdir, page_size=PAGE_SIZE) as run:
        upload_all(run, sample_analysis)
        run.start_consumers()
        marks = run.settle(timeout_s=120)
        keys = {v.key: v.video_id for v in run.videos()}
        return CleanRun(
            snapshot=run.snapshot(),
            trace=run.tracer.traces[keys[SAMPLE_KEYS[0]]],
            figures=run.figures(),
            settled_s=marks["settled_s"],
        )
