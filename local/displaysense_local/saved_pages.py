"""Saved Rekognition result pages on disk, read as the engine's page sources.

A path is a JSON file holding one Get* response page or an array of pages, or a directory whose
`*.json` files are read in name order. Reading starts over at each iteration, so the engine can
read the pages a second time when they are out of time order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypedDict

import msgspec

# The fields of a Get* page that the engine reads (displaysense.domain.detections), as msgspec
# types: a page decoded with them holds only these, so the rest of a FaceAttributes=ALL page
# (landmarks, quality, smile, eyes, mouth, every confidence the engine ignores: most of its bytes)
# is skipped by the parser instead of being built into Python objects and thrown away. Values are
# `Any`: the engine checks them itself and says what is wrong. A page that does not fit these
# shapes is decoded whole instead (see _parse), so the engine sees it as it is.


class _Box(TypedDict, total=False):
    Width: Any
    Height: Any
    Left: Any
    Top: Any


class _Instance(TypedDict, total=False):
    BoundingBox: _Box


class _Label(TypedDict, total=False):
    Name: Any
    Instances: list[_Instance]


class _LabelDetection(TypedDict, total=False):
    Timestamp: Any
    StartTimestampMillis: Any
    Label: _Label


class _Flag(TypedDict, total=False):
    Value: Any


class _Gender(TypedDict, total=False):
    Value: Any
    Confidence: Any


class _AgeRange(TypedDict, total=False):
    Low: Any
    High: Any


class _Pose(TypedDict, total=False):
    Yaw: Any
    Pitch: Any


class _Emotion(TypedDict, total=False):
    Type: Any
    Confidence: Any


class _Face(TypedDict, total=False):
    BoundingBox: _Box
    Pose: _Pose
    Gender: _Gender
    AgeRange: _AgeRange
    Emotions: list[_Emotion]
    Eyeglasses: _Flag
    Sunglasses: _Flag
    Beard: _Flag
    Mustache: _Flag


class _FaceDetection(TypedDict, total=False):
    Timestamp: Any
    Face: _Face


class _Page(TypedDict, total=False):
    JobStatus: Any
    StatusMessage: Any
    VideoMetadata: Any
    GetRequestMetadata: Any
    Labels: list[_LabelDetection]
    Faces: list[_FaceDetection]


_read_fields = msgspec.json.Decoder(_Page | list[_Page]).decode
_read_whole = msgspec.json.Decoder().decode


def _parse(data: bytes) -> Any:
    try:
        document = _read_fields(data)
    except msgspec.ValidationError:
        return _read_whole(data)
    pages = document if isinstance(document, list) else [document]
    if any(("Labels" in page) == ("Faces" in page) for page in pages):
        # neither or both: not a page of either kind, and the engine's error lists its keys
        return _read_whole(data)
    return document


class ResultFileError(ValueError):
    """A result file cannot be used; the message names the file and what is wrong with it."""


def expand(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if not found:
                raise ResultFileError(f"{path}: directory holds no *.json result pages")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ResultFileError(f"{path}: no such file or directory")
    return files


class PageFiles:
    """The pages of some result files, in order; remembers which file each page came from."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)
        self.origins: list[str] = []  # origins[n - 1]: file of page n of the current reading

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.origins = []
        for path in self.files:
            try:
                document = _parse(path.read_bytes())
            except msgspec.DecodeError as exc:
                raise ResultFileError(f"{path}: not valid JSON ({exc})") from None
            except OSError as exc:
                raise ResultFileError(f"{path}: cannot be read ({exc.strerror})") from None
            pages = document if isinstance(document, list) else [document]
            for index, page in enumerate(pages):
                where = (
                    f"{path}" if len(pages) == 1 and not isinstance(document, list) else f"{path}[{index}]"
                )
                self.origins.append(where)
                yield page

    def origin(self, page_number: int) -> str:
        if 0 < page_number <= len(self.origins):
            return self.origins[page_number - 1]
        return "?"
