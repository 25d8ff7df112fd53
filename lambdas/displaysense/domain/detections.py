"""Rekognition Video result pages, read into the few numbers the metrics need.

Pages are the dictionaries boto3 returns for GetLabelDetection (AggregateBy=TIMESTAMPS) and
GetFaceDetection. Everything the metrics do not use (landmarks, quality, label parents) is dropped
here, so a detection costs a few floats however verbose the page is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any, NamedTuple


class PageError(ValueError):
    """A page is not a result page of the kind expected; the message says what is wrong."""


class PageKind(Enum):
    LABELS = "labels"
    FACES = "faces"


class Box(NamedTuple):
    """A bounding box in ratios of the frame size; it may reach past the frame edges.

    A named tuple rather than a frozen dataclass: the tracker makes tens of thousands of them an
    hour of video, and a tuple is several times cheaper to create."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def center_x(self) -> float:
        return self.left + self.width / 2

    @property
    def center_y(self) -> float:
        return self.top + self.height / 2

    def shifted(self, dx: float, dy: float) -> Box:
        return new_box((self.left + dx, self.top + dy, self.width, self.height))

    def iou(self, other: Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.width * self.height + other.width * other.height - inter)


# new_box((left, top, width, height)) is Box(left, top, width, height) at half the cost, for the
# page reader's and the tracker's inner loops, where the named tuple's generated constructor
# shows in bench/bench_engine.py.
new_box: Callable[[tuple[float, float, float, float]], Box] = partial(tuple.__new__, Box)


class PersonBox(NamedTuple):
    timestamp_ms: int
    box: Box


class FaceSample(NamedTuple):
    """One face at one timestamp. Attributes are None where the page did not carry them
    (FaceAttributes=DEFAULT, or a local stand-in that does not estimate them)."""

    timestamp_ms: int
    box: Box
    yaw: float | None = None
    pitch: float | None = None
    # (value, confidence %) with value "Female" or "Male"
    gender: tuple[str, float] | None = None
    age_range: tuple[int, int] | None = None
    # Rekognition's Emotions list as given ({"Type": ..., "Confidence": ...} items), read once by
    # FaceStats; not copied here, since faces are the bulk of every page.
    emotions: list[Any] | None = None
    eyeglasses: bool | None = None
    sunglasses: bool | None = None
    beard: bool | None = None
    mustache: bool | None = None

    @property
    def sort_key(self) -> tuple[float, float, float, float]:
        return (self.box.left, self.box.top, self.box.width, self.box.height)

    @property
    def identity(self) -> tuple[int, Box, float | None, float | None]:
        """What makes two samples the same detection (a page delivered twice)."""
        return (self.timestamp_ms, self.box, self.yaw, self.pitch)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration_ms: int | None = None
    frame_rate: float | None = None
    codec: str | None = None
    format: str | None = None
    frame_width: int | None = None
    frame_height: int | None = None

    @classmethod
    def from_page(cls, page: Mapping[str, Any]) -> VideoInfo | None:
        meta = page.get("VideoMetadata")
        if not isinstance(meta, Mapping) or not meta:
            return None
        duration_ms = _opt_int(meta.get("DurationMillis"))
        if duration_ms is not None and not 0 <= duration_ms <= MAX_VIDEO_MS:
            raise PageError(
                f"VideoMetadata.DurationMillis {duration_ms} is not the length of a video of at most "
                f"{MAX_VIDEO_MS // 3_600_000} hours"
            )
        return cls(
            duration_ms=duration_ms,
            frame_rate=_number(meta.get("FrameRate")),
            codec=_opt_str(meta.get("Codec")),
            format=_opt_str(meta.get("Format")),
            frame_width=_opt_int(meta.get("FrameWidth")),
            frame_height=_opt_int(meta.get("FrameHeight")),
        )


def page_kind(page: Any) -> PageKind:
    """Which Get* operation a page came from, or PageError saying why it is neither."""
    if not isinstance(page, Mapping):
        raise PageError(f"expected a JSON object (a Get* response page), found {type(page).__name__}")
    has_labels, has_faces = "Labels" in page, "Faces" in page
    if has_labels and has_faces:
        raise PageError("page has both 'Labels' and 'Faces': not a single Get* response")
    if not has_labels and not has_faces:
        keys = ", ".join(sorted(map(str, page))[:8]) or "none"
        raise PageError(
            "not a GetLabelDetection or GetFaceDetection page: no 'Labels' or 'Faces' array "
            f"(keys found: {keys})"
        )
    status = page.get("JobStatus")
    if status is not None and status != "SUCCEEDED":
        message = page.get("StatusMessage") or "no status message"
        raise PageError(
            f"page of a job with JobStatus {status!r} ({message}): only SUCCEEDED jobs have results"
        )
    kind = PageKind.LABELS if has_labels else PageKind.FACES
    entries = page["Labels" if has_labels else "Faces"]
    if not isinstance(entries, list):
        raise PageError(
            f"'{'Labels' if has_labels else 'Faces'}' must be an array, found {type(entries).__name__}"
        )
    request = page.get("GetRequestMetadata")
    if kind is PageKind.LABELS and isinstance(request, Mapping) and request.get("AggregateBy") == "SEGMENTS":
        raise PageError(_SEGMENTS)
    return kind


# Segment results name each label once per stretch of video, with no boxes: nobody to track.
_SEGMENTS = (
    "a GetLabelDetection page aggregated by SEGMENTS (no Person boxes per timestamp, so no passes "
    "can be counted): get the results again with AggregateBy=TIMESTAMPS"
)
# Rekognition Video analyses videos of up to 6 hours (VideoTooLargeException); a time far past
# that is not a video position, and would make the per-minute series loop for ever.
MAX_VIDEO_MS = 24 * 3600 * 1000


def person_boxes(page: Mapping[str, Any]) -> Iterator[PersonBox]:
    """The Person instances of a GetLabelDetection page (other labels are ignored).

    A Person label with no Instances (the video-level label) places no one in the frame and yields
    nothing. A page aggregated by SEGMENTS is refused: it would silently count no one.
    """
    # Pages come from JSON (boto3, files): plain dicts and lists, checked with the fast
    # isinstance(dict) rather than the abstract Mapping on this hot path.
    for index, entry in enumerate(page["Labels"]):
        if not isinstance(entry, dict):
            raise PageError(f"Labels[{index}] is not an object")
        if "Timestamp" not in entry and "StartTimestampMillis" in entry:
            raise PageError(_SEGMENTS)
        label = entry.get("Label")
        if not isinstance(label, dict) or label.get("Name") != "Person":
            continue
        timestamp = _timestamp(entry, "Labels", index)
        instances = label.get("Instances")
        if instances is None:
            continue
        if not isinstance(instances, list):
            raise PageError(
                f"Labels[{index}].Label.Instances must be an array, found {type(instances).__name__}"
            )
        for instance in instances:
            box = _box(instance.get("BoundingBox") if isinstance(instance, dict) else None)
            if box is not None:
                yield _new_person((timestamp, box))


def face_samples(page: Mapping[str, Any]) -> Iterator[FaceSample]:
    # The bulk of every result set: the sample is built with tuple.__new__ (see new_box).
    for index, entry in enumerate(page["Faces"]):
        if not isinstance(entry, dict):
            raise PageError(f"Faces[{index}] is not an object")
        face = entry.get("Face")
        if not isinstance(face, dict):
            raise PageError(f"Faces[{index}] has no 'Face' object")
        timestamp = _timestamp(entry, "Faces", index)
        box = _box(face.get("BoundingBox"))
        if box is None:
            continue
        pose = face.get("Pose")
        yaw = pitch = None
        if pose.__class__ is dict:
            yaw, pitch = _number(pose.get("Yaw")), _number(pose.get("Pitch"))
        emotions = face.get("Emotions")
        yield _new_face(
            (
                timestamp,
                box,
                yaw,
                pitch,
                _gender(face.get("Gender")),
                _age_range(face.get("AgeRange")),
                emotions if emotions.__class__ is list and emotions else None,
                _flag(face.get("Eyeglasses")),
                _flag(face.get("Sunglasses")),
                _flag(face.get("Beard")),
                _flag(face.get("Mustache")),
            )
        )


# PersonBox(...) and FaceSample(...) without the named tuple's generated constructor, as new_box
# is for Box: one of them for every detection read.
_new_person: Callable[[tuple[int, Box]], PersonBox] = partial(tuple.__new__, PersonBox)
_new_face: Callable[[tuple[Any, ...]], FaceSample] = partial(tuple.__new__, FaceSample)


def _timestamp(entry: Mapping[str, Any], array: str, index: int) -> int:
    """The Timestamp of `entry`, item `index` of the page's `array`; its place is named only in
    the error, so it is not formatted for every entry."""
    value = entry.get("Timestamp")
    if value.__class__ is int and 0 <= value <= MAX_VIDEO_MS:
        return value  # the common case, decided first
    number = _number(value)
    if number is None or not 0 <= number <= MAX_VIDEO_MS:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        raise PageError(
            f"{array}[{index}] has no valid 'Timestamp' (milliseconds from the start of a video of at most "
            f"{MAX_VIDEO_MS // 3_600_000} hours), found {shown}"
        )
    return int(number)


def _box(raw: Any) -> Box | None:
    """A box as reported, or None when it lies wholly outside the frame.

    Rekognition reports people at the frame edge with boxes partly outside [0, 1]. They are kept
    as reported: clipping would shrink a box entering the frame and slow its apparent motion,
    which is what the tracker predicts from. Degenerate sizes are refused.
    """
    if not isinstance(raw, dict):
        return None
    try:
        left, top = float(raw["Left"]), float(raw["Top"])
        width, height = float(raw["Width"]), float(raw["Height"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    # written so that NaN fails every comparison and infinities fall outside
    if 0 < width <= 2 and 0 < height <= 2 and -width < left < 1 and -height < top < 1:
        return new_box((left, top, width, height))
    return None


def _gender(raw: Any) -> tuple[str, float] | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("Value")
    if value != "Female" and value != "Male":  # noqa: PLR1714 - faster than a tuple lookup here
        return None
    return (value, _number(raw.get("Confidence")) or 0.0)


def _age_range(raw: Any) -> tuple[int, int] | None:
    if not isinstance(raw, dict):
        return None
    low, high = _number(raw.get("Low")), _number(raw.get("High"))
    if low is None or high is None or high < low:
        return None
    return (int(low), int(high))


def _flag(raw: Any) -> bool | None:
    value = raw.get("Value") if raw.__class__ is dict else None
    return value if value.__class__ is bool else None


def _number(value: Any) -> float | None:
    """A finite JSON number as float; None for anything else (booleans, NaN, infinities and
    integers beyond floating point included)."""
    if value.__class__ is float:
        return value if -_HUGE < value < _HUGE else None
    if value.__class__ is int:
        return float(value) if -_HUGE < value < _HUGE else None
    return None


_HUGE = 1e300


def _opt_int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
