"""What Rekognition checks and reports about a video file: container, codec, size, rate, duration.

The container and codec come from the MP4/QuickTime boxes themselves (`ftyp`, and the sample
description `stsd` of the video track); frame size, rate and duration are checked against what
OpenCV actually decodes.
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

    def to_rekognition(self) -> dict[str, object]:
        return {
            "Codec": self.codec,
            "DurationMillis": self.duration_millis,
            "Format": self.format,
            "FrameRate": self.frame_rate,
            "FrameHeight": self.frame_height,
            "FrameWidth": self.frame_width,
        }

    @classmethod
    def from_rekognition(cls, data: dict[str, object]) -> VideoMetadata:
        return cls(
            codec=str(data["Codec"]),
            format=str(data["Format"]),
            duration_millis=int(str(data["DurationMillis"])),
            frame_rate=float(str(data["FrameRate"])),
            frame_width=int(str(data["FrameWidth"])),
            frame_height=int(str(data["FrameHeight"])),
        )


@dataclass(frozen=True)
class Mp4Info:
    brand: str
    video_fourccs: tuple[str, ...]
    duration_millis: int | None


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
    with path.open("rb") as stream:
        for kind, start, end in _top_level(stream, size):
            if kind == "ftyp":
                stream.seek(start)
                brand = stream.read(4).decode("latin-1")
            elif kind == "moov" and end - start < 512 * 1024 * 1024:
                stream.seek(start)
                moov = stream.read(end - start)
                fourccs, duration = _read_moov(moov)
    if not brand:
        raise VideoFormatError(UNSUPPORTED)
    return Mp4Info(brand=brand, video_fourccs=tuple(fourccs), duration_millis=duration)


def _read_moov(moov: bytes) -> tuple[list[str], int | None]:
    fourccs: list[str] = []
    duration: int | None = None

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
                for entry, _, _ in _boxes(moov, body + 8, box_end):
                    fourccs.append(entry)
            elif kind in _CONTAINERS:
                walk(body, box_end, handler)

    walk(0, len(moov), [])
    return fourccs, duration


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
    )
