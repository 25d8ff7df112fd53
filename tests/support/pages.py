"""Small Rekognition-shaped pages for hand-made test scenes."""

from __future__ import annotations

from typing import Any


def person(left: float, top: float = 0.2, width: float = 0.15, height: float = 0.65) -> dict[str, Any]:
    return {"BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height}, "Confidence": 95.0}


def label_entry(t: int, *instances: dict[str, Any]) -> dict[str, Any]:
    return {"Timestamp": t, "Label": {"Name": "Person", "Confidence": 95.0, "Instances": list(instances)}}


def face_entry(
    t: int,
    left: float,
    top: float = 0.23,
    yaw: float = 0.0,
    pitch: float = 0.0,
    **attrs: Any,
) -> dict[str, Any]:
    face: dict[str, Any] = {
        "BoundingBox": {"Left": left, "Top": top, "Width": 0.05, "Height": 0.09},
        "Confidence": 99.0,
        "Pose": {"Yaw": yaw, "Pitch": pitch, "Roll": 0.0},
    }
    face.update(attrs)
    return {"Timestamp": t, "Face": face}


def labels_page(entries: list[dict[str, Any]], duration_ms: int | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"JobStatus": "SUCCEEDED", "Labels": entries}
    if duration_ms is not None:
        page["VideoMetadata"] = {"DurationMillis": duration_ms, "FrameRate": 30.0, "Codec": "h264"}
    return page


def faces_page(entries: list[dict[str, Any]], duration_ms: int | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"JobStatus": "SUCCEEDED", "Faces": entries}
    if duration_ms is not None:
        page["VideoMetadata"] = {"DurationMillis": duration_ms, "FrameRate": 30.0, "Codec": "h264"}
    return page


def walker(
    start_ms: int, end_ms: int, x0: float, speed_per_s: float, step_ms: int = 200
) -> list[dict[str, Any]]:
    """Label entries of one person walking at a constant pace."""
    return [
        label_entry(t, person(x0 + speed_per_s * (t - start_ms) / 1000))
        for t in range(start_ms, end_ms + 1, step_ms)
    ]
