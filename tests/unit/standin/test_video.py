from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from displaysense_local.rekognition.video import VideoFormatError, probe, read_mp4_info

SAMPLE = Path(__file__).resolve().parents[3] / "local/displaysense_local/samples/storefront-walkby.mp4"


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def test_sample_is_h264_in_mp4() -> None:
    info = read_mp4_info(SAMPLE)
    assert info.brand == "isom"
    assert info.video_fourccs == ("avc1",)
    assert info.duration_millis == 40_917
    meta = probe(SAMPLE)
    assert (meta.codec, meta.format) == ("h264", "QuickTime / MOV")
    assert (meta.frame_width, meta.frame_height) == (642, 362)
    assert meta.frame_rate == pytest.approx(60.024, abs=0.001)
    assert meta.to_rekognition()["DurationMillis"] == 40_917


def test_mpeg1_in_mp4_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mpeg1.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"PIM1"), 25, (160, 120))
    for i in range(10):
        writer.write(np.full((120, 160, 3), i * 20, dtype=np.uint8))
    writer.release()
    assert "avc1" not in read_mp4_info(path).video_fourccs
    with pytest.raises(VideoFormatError, match=r"^Unsupported codec/format\.$"):
        probe(path)


@pytest.mark.parametrize("content", [b"", b"hello, not a video", b"\x00" * 64])
def test_not_a_container_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoFormatError):
        probe(path)


def test_quicktime_boxes_are_walked_into_the_video_track(tmp_path: Path) -> None:
    # A MOV skeleton: ftyp 'qt  ', moov with mvhd (timescale 600, 1200 ticks = 2 s) and one video
    # track whose sample description is avc3; mdat before moov, as cameras often write it.
    mvhd = _box(b"mvhd", bytes(4) + bytes(8) + struct.pack(">II", 600, 1200) + bytes(80))
    hdlr = _box(b"hdlr", bytes(4) + bytes(4) + b"vide" + bytes(12))
    stsd = _box(b"stsd", bytes(4) + struct.pack(">I", 1) + _box(b"avc3", bytes(78)))
    track = _box(b"trak", _box(b"mdia", hdlr + _box(b"minf", _box(b"stbl", stsd))))
    data = _box(b"ftyp", b"qt  " + bytes(4)) + _box(b"mdat", bytes(1000)) + _box(b"moov", mvhd + track)
    path = tmp_path / "clip.mov"
    path.write_bytes(data)
    info = read_mp4_info(path)
    assert info == type(info)(brand="qt  ", video_fourccs=("avc3",), duration_millis=2000)
    # The boxes say H.264, but there is nothing to decode: still refused, with the same message.
    with pytest.raises(VideoFormatError, match="Unsupported"):
        probe(path)
