"""What Rekognition checks and reports about a video file: container, codec, size, rate, duration.

The container and codec come from the MP4/QuickTime boxes themselves (`ftyp`, and the sample
description `stsd` of the video track); frame size, rate and duration are checked against what
OpenCV actually decodes. The colour range comes from the H.264 sequence parameter set in the
sample description (`avcC`), or from a `colr` box of type `nclx`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2

# Rekognition Video accepts H.264 in MP4 or MOV; these are the H.264 sample entry types.
H264_FOURCCS = frozenset({"avc1", "avc3"})
UNSUPPORTED = "Unsupported codec/format."
_CONTAINERS = ("moov", "trak", "mdia", "minf", "stbl", "edts", "udta")


class VideoFormatError(ValueError):
    """The file is not a video Rekognition would analyse; the message is the job's StatusMessage."""


@dataclass(frozen=True)
class VideoMetadata:
    codec: str
    format: str
    duration_millis: int
    frame_rate: float
    frame_width: int
    frame_height: int
    # FULL or LIMITED; None when the file does not say (an avc3 stream without a `colr` box).
    color_range: str | None = None

    def to_rekognition(self) -> dict[str, object]:
        metadata: dict[str, object] = {
            "Codec": self.codec,
            "DurationMillis": self.duration_millis,
            "Format": self.format,
            "FrameRate": self.frame_rate,
            "FrameHeight": self.frame_height,
            "FrameWidth": self.frame_width,
        }
        if self.color_range is not None:
            metadata["ColorRange"] = self.color_range
        return metadata

    @classmethod
    def from_rekognition(cls, data: dict[str, object]) -> VideoMetadata:
        return cls(
            codec=str(data["Codec"]),
            format=str(data["Format"]),
            duration_millis=int(str(data["DurationMillis"])),
            frame_rate=float(str(data["FrameRate"])),
            frame_width=int(str(data["FrameWidth"])),
            frame_height=int(str(data["FrameHeight"])),
            color_range=str(data["ColorRange"]) if data.get("ColorRange") else None,
        )


@dataclass(frozen=True)
class Mp4Info:
    brand: str
    video_fourccs: tuple[str, ...]
    duration_millis: int | None
    color_range: str | None = None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def _top_level(stream: BinaryIO, file_size: int) -> Iterator[tuple[str, int, int]]:
    """Top-level boxes by seeking: `mdat` can be gigabytes and is never read."""
    pos = 0
    while pos + 8 <= file_size:
        stream.seek(pos)
        head = stream.read(16)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if size == 1 and len(head) == 16:
            size = struct.unpack(">Q", head[8:16])[0]
            header = 16
        elif size == 0:
            size = file_size - pos
        if size < header:
            return
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def read_mp4_info(path: Path) -> Mp4Info:
    """Brand, the sample entry types of the video tracks, and the movie duration."""
    size = path.stat().st_size
    brand = ""
    fourccs: list[str] = []
    duration: int | None = None
    color_range: str | None = None
    with path.open("rb") as stream:
        for kind, start, end in _top_level(stream, size):
            if kind == "ftyp":
                stream.seek(start)
                brand = stream.read(4).decode("latin-1")
            elif kind == "moov" and end - start < 512 * 1024 * 1024:
                stream.seek(start)
                moov = stream.read(end - start)
                fourccs, duration, color_range = _read_moov(moov)
    if not brand:
        raise VideoFormatError(UNSUPPORTED)
    return Mp4Info(
        brand=brand, video_fourccs=tuple(fourccs), duration_millis=duration, color_range=color_range
    )


def _read_moov(moov: bytes) -> tuple[list[str], int | None, str | None]:
    fourccs: list[str] = []
    duration: int | None = None
    ranges: list[str] = []

    def walk(start: int, end: int, handler: list[str]) -> None:
        nonlocal duration
        for kind, body, box_end in _boxes(moov, start, end):
            if kind == "mvhd":
                version = moov[body]
                if version == 1:
                    timescale, length = struct.unpack(">IQ", moov[body + 20 : body + 32])
                else:
                    timescale, length = struct.unpack(">II", moov[body + 12 : body + 20])
                if timescale:
                    duration = round(length * 1000 / timescale)
            elif kind == "trak":
                track_handler: list[str] = []
                walk(body, box_end, track_handler)
            elif kind == "hdlr":
                handler.append(moov[body + 8 : body + 12].decode("latin-1"))
            elif kind == "stsd" and handler and handler[-1] == "vide":
                # Full box header (4) and entry count (4), then sample entries: size (4) + type (4).
                for entry, entry_body, entry_end in _boxes(moov, body + 8, box_end):
                    fourccs.append(entry)
                    found = _entry_color_range(moov, entry_body, entry_end)
                    if found and entry in H264_FOURCCS:
                        ranges.append(found)
            elif kind in _CONTAINERS:
                walk(body, box_end, handler)

    walk(0, len(moov), [])
    return fourccs, duration, ranges[0] if ranges else None


# A VisualSampleEntry's fixed fields before its child boxes (ISO/IEC 14496-12 12.1.3).
_VISUAL_SAMPLE_ENTRY = 78


def _entry_color_range(data: bytes, start: int, end: int) -> str | None:
    """FULL or LIMITED from a video sample entry's `avcC` SPS, or its `colr` box, or None.

    The SPS decides when it signals the range; otherwise an `nclx` colour box; otherwise an SPS
    that was read but is silent means LIMITED, the value H.264 infers (video_full_range_flag 0).
    """
    signalled: bool | None = None
    sps_read = False
    nclx: bool | None = None
    for kind, body, box_end in _boxes(data, start + _VISUAL_SAMPLE_ENTRY, end):
        if kind == "avcC":
            for sps in _avcc_sps(data[body:box_end]):
                try:
                    signalled = sps_full_range(sps)
                except (IndexError, ValueError):
                    continue
                sps_read = True
                break
        elif kind == "colr" and data[body : body + 4] == b"nclx" and box_end - body >= 11:
            nclx = bool(data[body + 10] & 0x80)
    full = signalled if signalled is not None else nclx
    if full is None:
        return "LIMITED" if sps_read else None
    return "FULL" if full else "LIMITED"


def _avcc_sps(record: bytes) -> list[bytes]:
    """The sequence parameter set NAL units of an AVCDecoderConfigurationRecord (14496-15 5.3.3)."""
    if len(record) < 6:
        return []
    units, pos = [], 6
    for _ in range(record[5] & 0x1F):
        if pos + 2 > len(record):
            break
        (length,) = struct.unpack(">H", record[pos : pos + 2])
        units.append(record[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return units


class _Bits:
    """An H.264 RBSP read bit by bit, with Exp-Golomb codes (H.264 7.2, 9.1)."""

    def __init__(self, nal: bytes) -> None:
        # Emulation prevention: 00 00 03 in the NAL unit is 00 00 in the RBSP.
        rbsp = bytearray()
        zeros = 0
        for byte in nal:
            if zeros >= 2 and byte == 3:
                zeros = 0
                continue
            rbsp.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        self._data = bytes(rbsp)
        self._pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self._data[self._pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)


# Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 7.3.2.1.1).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def sps_full_range(nal: bytes) -> bool | None:
    """video_full_range_flag of an H.264 SPS NAL unit, or None when its VUI does not signal it."""
    bits = _Bits(nal)
    if bits.u(8) & 0x1F != 7:
        raise ValueError("not a sequence parameter set")
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        chroma_format = bits.ue()
        if chroma_format == 3:
            bits.u(1)  # separate_colour_plane_flag
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.u(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma_format == 3 else 8):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_value_allowed_flag
    bits.ue()  # pic_width_in_mbs_minus1
    bits.ue()  # pic_height_in_map_units_minus1
    if not bits.u(1):  # frame_mbs_only_flag
        bits.u(1)
    bits.u(1)  # direct_8x8_inference_flag
    if bits.u(1):  # frame_cropping_flag
        for _ in range(4):
            bits.ue()
    if not bits.u(1):  # vui_parameters_present_flag
        return None
    if bits.u(1) and bits.u(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc
        bits.u(32)  # sar_width, sar_height
    if bits.u(1):  # overscan_info_present_flag
        bits.u(1)
    if not bits.u(1):  # video_signal_type_present_flag
        return None
    bits.u(3)  # video_format
    return bool(bits.u(1))


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale != 0:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale or last


def probe(path: Path) -> VideoMetadata:
    """Metadata of an MP4/MOV file with H.264 video, or VideoFormatError with Rekognition's message."""
    try:
        info = read_mp4_info(path)
    except (OSError, struct.error):
        raise VideoFormatError(UNSUPPORTED) from None
    if not info.video_fourccs or not H264_FOURCCS.intersection(info.video_fourccs):
        raise VideoFormatError(UNSUPPORTED)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoFormatError(UNSUPPORTED)
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        frames = float(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        ok = capture.grab()
    finally:
        capture.release()
    if not ok or width <= 0 or height <= 0 or fps <= 0:
        raise VideoFormatError(UNSUPPORTED)
    duration = info.duration_millis if info.duration_millis else round(frames / fps * 1000)
    return VideoMetadata(
        codec="h264",
        format="QuickTime / MOV",
        duration_millis=duration,
        frame_rate=round(fps, 3),
        frame_width=width,
        frame_height=height,
        color_range=info.color_range,
    )
