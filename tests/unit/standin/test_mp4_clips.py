"""The test clips cut from the sample by remuxing (tests/support/mp4_clips.py): valid H.264 MP4s
that the stand-in accepts, showing exactly the source's frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from displaysense_local.rekognition.video import probe

from tests.support.mp4_clips import Mp4Error, cut_clip, frame_rate, sample_count, sync_samples

SAMPLE = Path(__file__).parents[3] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"


@pytest.fixture(scope="module")
def source() -> bytes:
    return SAMPLE.read_bytes()


def frames(path: Path, first: int = 0, count: int | None = None) -> list[np.ndarray[Any, Any]]:
    capture = cv2.VideoCapture(str(path))
    found: list[np.ndarray[Any, Any]] = []
    index = 0
    try:
        while count is None or len(found) < count:
            ok, frame = capture.read()
            if not ok:
                break
            if index >= first:
                found.append(frame)
            index += 1
    finally:
        capture.release()
    return found


def test_the_sample_has_what_the_clips_are_cut_from(source: bytes) -> None:
    assert sync_samples(source)[:3] == [0, 250, 500]  # an IDR frame every 250 frames
    assert frame_rate(source) == 60.0
    assert sample_count(source) == 2456


@pytest.mark.parametrize(("first", "count"), [(0, 60), (1000, 90), (2250, 120)])
def test_a_clip_shows_the_source_frames_from_its_start(
    source: bytes, tmp_path: Path, first: int, count: int
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(cut_clip(source, first=first, frames=count))
    metadata = probe(clip)  # what the Rekognition stand-in checks before analysing
    assert metadata.codec == "h264"
    assert (metadata.frame_width, metadata.frame_height) == (642, 362)
    assert metadata.duration_millis == round(count / frame_rate(source) * 1000)
    shown = frames(clip)
    # The last decoded sample or two may be a P-frame meant to be shown after B-frames the cut
    # left out; the rest is every frame, pixel for pixel the source's (no re-encoding).
    assert count - 3 <= len(shown) <= count
    expected = frames(SAMPLE, first, len(shown))
    assert all(np.array_equal(a, b) for a, b in zip(shown, expected, strict=True))
    assert len(clip.read_bytes()) < len(source) * (count + 250) / sample_count(source)


def test_clips_of_other_starts_or_lengths_differ(source: bytes) -> None:
    clips = {cut_clip(source, first=f, frames=n) for f in (0, 250) for n in (60, 61)}
    assert len(clips) == 4


def test_a_clip_must_start_on_a_sync_sample_and_stay_in_the_track(source: bytes) -> None:
    with pytest.raises(Mp4Error, match="not a sync sample"):
        cut_clip(source, first=1, frames=60)
    with pytest.raises(Mp4Error, match="not all in the track"):
        cut_clip(source, first=2250, frames=400)
    with pytest.raises(Mp4Error, match="no moov"):
        cut_clip(b"\0\0\0\x10ftypisom\0\0\0\0", first=0, frames=1)
