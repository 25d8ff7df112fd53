from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from displaysense_local.rekognition.video import VideoFormatError, probe, read_mp4_info, sps_full_range

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
    # x264 wrote video_full_range_flag 0 in the SPS; OpenCV's decoder agrees (I420, not J420).
    assert meta.color_range == "LIMITED" and meta.to_rekognition()["ColorRange"] == "LIMITED"
    capture = cv2.VideoCapture(str(SAMPLE))
    pixel_format = int(capture.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT)).to_bytes(4, "little")
    capture.release()
    assert pixel_format == b"I420"


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


class _BitWriter:
    """H.264 RBSP bits, with Exp-Golomb codes, to build parameter sets for the parser."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def nal(self) -> bytes:
        bits = [*self.bits, 1]  # rbsp_stop_one_bit
        bits += [0] * (-len(bits) % 8)
        raw = bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))
        escaped = bytearray()
        zeros = 0
        for byte in raw:  # emulation prevention, as an encoder writes it
            if zeros >= 2 and byte <= 3:
                escaped.append(3)
                zeros = 0
            escaped.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return bytes([0x67, *escaped])


def _sps(profile: int, vui: str, scaling: bool = False) -> bytes:
    """An SPS of a 640x368 frame; vui is "none", "silent" (no video signal type), "full" or "limited"."""
    w = _BitWriter()
    w.u(8, profile)
    w.u(16, 0x001F)  # constraint flags, level 3.1
    w.ue(0)
    if profile == 100:
        w.ue(1)  # 4:2:0
        w.ue(0)
        w.ue(0)
        w.u(1, 0)
        w.u(1, 1 if scaling else 0)
        if scaling:
            for i in range(8):
                w.u(1, 1 if i in (0, 6) else 0)
                if i == 0:
                    w.se(-8)  # next scale 0: the list ends after its first delta
                elif i == 6:
                    for _ in range(64):
                        w.se(1)  # a full 8x8 list
    w.ue(0)  # log2_max_frame_num_minus4
    w.ue(1)  # pic_order_cnt_type 1, with its cycle
    w.u(1, 0)
    w.se(-2)
    w.se(3)
    w.ue(2)
    w.se(1)
    w.se(-1)
    w.ue(3)  # max_num_ref_frames
    w.u(1, 0)
    w.ue(39)
    w.ue(22)
    w.u(1, 0)  # frame_mbs_only_flag 0: an mb_adaptive flag follows
    w.u(1, 1)
    w.u(1, 1)
    w.u(1, 1)  # frame cropping
    for value in (0, 0, 0, 4):
        w.ue(value)
    w.u(1, 0 if vui == "none" else 1)
    if vui != "none":
        w.u(1, 1)  # aspect ratio: extended SAR
        w.u(8, 255)
        w.u(32, (4 << 16) | 3)
        w.u(1, 1)  # overscan info
        w.u(1, 0)
        w.u(1, 0 if vui == "silent" else 1)
        if vui != "silent":
            w.u(3, 5)
            w.u(1, 1 if vui == "full" else 0)
            w.u(1, 0)
    return w.nal()


@pytest.mark.parametrize("profile", [66, 100])
@pytest.mark.parametrize(
    ("vui", "full"), [("none", None), ("silent", None), ("full", True), ("limited", False)]
)
def test_sps_video_full_range_flag(profile: int, vui: str, full: bool | None) -> None:
    assert sps_full_range(_sps(profile, vui)) is full
    assert sps_full_range(_sps(100, vui, scaling=True)) is full


def _mov_with_entry(children: bytes) -> bytes:
    hdlr = _box(b"hdlr", bytes(4) + bytes(4) + b"vide" + bytes(12))
    stsd = _box(b"stsd", bytes(4) + struct.pack(">I", 1) + _box(b"avc1", bytes(78) + children))
    track = _box(b"trak", _box(b"mdia", hdlr + _box(b"minf", _box(b"stbl", stsd))))
    return _box(b"ftyp", b"isom" + bytes(4)) + _box(b"moov", track)


def _avcc(sps: bytes) -> bytes:
    return _box(b"avcC", bytes([1, 100, 0, 31, 0xFF, 0xE1]) + struct.pack(">H", len(sps)) + sps + bytes([0]))


def _nclx(full: bool) -> bytes:
    return _box(b"colr", b"nclx" + struct.pack(">HHH", 1, 1, 1) + bytes([0x80 if full else 0]))


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        (_avcc(_sps(100, "full")), "FULL"),
        (_avcc(_sps(100, "limited")), "LIMITED"),
        (_avcc(_sps(100, "none")), "LIMITED"),  # H.264 infers video_full_range_flag 0
        (_avcc(_sps(100, "none")) + _nclx(True), "FULL"),  # the colour box says what the SPS does not
        (_avcc(_sps(100, "limited")) + _nclx(True), "LIMITED"),  # the stream itself decides
        (_nclx(True), "FULL"),
        (b"", None),  # nothing says: left out, never guessed
    ],
)
def test_color_range_from_the_sample_entry(tmp_path: Path, children: bytes, expected: str | None) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(_mov_with_entry(children))
    assert read_mp4_info(path).color_range == expected
