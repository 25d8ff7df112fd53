"""Rekognition's result shapes from an analysis, and the paging of Get* answers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .analysis import FaceObservation, VideoAnalysis
from .errors import InvalidPaginationTokenError

# What Rekognition reports around the Person label (DetectLabels taxonomy v3).
PERSON_LABEL = "Person"
PERSON_CATEGORIES = ("Person Description",)
PERSON_ALIASES = ("Human",)
MAX_PAGE = 1000
# A NextToken is valid this long after the page that returned it (Rekognition: 24 hours).
PAGE_TOKEN_TTL_S = 24 * 3600


def _round(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


def _box(box: Any) -> dict[str, float]:
    return {k: _round(v) for k, v in asdict(box).items()}


def person_label_wanted(settings: dict[str, Any]) -> bool:
    """Apply StartLabelDetection's GeneralLabels filters to the one label the stand-in reports."""
    general = settings.get("GeneralLabels") or {}
    inclusion = general.get("LabelInclusionFilters") or []
    exclusion = general.get("LabelExclusionFilters") or []
    category_inclusion = general.get("LabelCategoryInclusionFilters") or []
    category_exclusion = general.get("LabelCategoryExclusionFilters") or []
    if inclusion and PERSON_LABEL not in inclusion:
        return False
    if PERSON_LABEL in exclusion:
        return False
    if category_inclusion and not set(PERSON_CATEGORIES) & set(category_inclusion):
        return False
    return not set(PERSON_CATEGORIES) & set(category_exclusion)


def label_detections(
    analysis: VideoAnalysis, min_confidence: float, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """One Person label per sampled timestamp with at least one person, an instance per person."""
    if not person_label_wanted(settings):
        return []
    detections: list[dict[str, Any]] = []
    for frame in analysis.frames:
        instances = [p for p in frame.persons if p.confidence >= min_confidence]
        if not instances:
            continue
        detections.append(
            {
                "Timestamp": frame.timestamp_ms,
                "Label": {
                    "Name": PERSON_LABEL,
                    "Confidence": _round(max(p.confidence for p in instances), 3),
                    "Instances": [
                        {"BoundingBox": _box(p.box), "Confidence": _round(p.confidence, 3)}
                        for p in sorted(instances, key=lambda p: p.confidence, reverse=True)
                    ],
                    "Parents": [],
                    "Aliases": [{"Name": a} for a in PERSON_ALIASES],
                    "Categories": [{"Name": c} for c in PERSON_CATEGORIES],
                },
            }
        )
    return detections


def label_segments(detections: Sequence[dict[str, Any]], sample_interval_ms: float) -> list[dict[str, Any]]:
    """AggregateBy=SEGMENTS: runs of consecutive samples with the label, without instances."""
    segments: list[dict[str, Any]] = []
    for detection in detections:
        timestamp = int(detection["Timestamp"])
        confidence = float(detection["Label"]["Confidence"])
        last = segments[-1] if segments else None
        if last is not None and timestamp - last["EndTimestampMillis"] <= sample_interval_ms * 1.5:
            last["EndTimestampMillis"] = timestamp
            last["DurationMillis"] = timestamp - last["StartTimestampMillis"]
            last["Label"]["Confidence"] = max(last["Label"]["Confidence"], confidence)
            continue
        label = {k: v for k, v in detection["Label"].items() if k != "Instances"}
        label["Instances"] = []
        segments.append(
            {
                "Timestamp": timestamp,
                "Label": label,
                "StartTimestampMillis": timestamp,
                "EndTimestampMillis": timestamp,
                "DurationMillis": 0,
            }
        )
    return segments


def _face_detail(face: FaceObservation, all_attributes: bool) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "BoundingBox": _box(face.box),
        "Pose": {"Roll": _round(face.roll, 3), "Yaw": _round(face.yaw, 3), "Pitch": _round(face.pitch, 3)},
        "Confidence": _round(face.confidence, 3),
    }
    if face.landmarks is not None:
        detail["Landmarks"] = [
            {"Type": name, "X": _round(x), "Y": _round(y)} for name, (x, y) in face.landmarks.items()
        ]
    if face.brightness is not None and face.sharpness is not None:
        detail["Quality"] = {"Brightness": _round(face.brightness, 3), "Sharpness": _round(face.sharpness, 3)}
    if all_attributes:
        ranked = sorted(face.emotions.items(), key=lambda e: e[1], reverse=True)
        detail["Emotions"] = [{"Type": name, "Confidence": _round(100 * p, 3)} for name, p in ranked]
        happy = face.emotions.get("HAPPY", 0.0)
        # Smiling is what the emotion model calls happy: its probability is the smile's.
        detail["Smile"] = {"Value": happy >= 0.5, "Confidence": _round(100 * max(happy, 1 - happy), 3)}
    return detail


def face_detections(analysis: VideoAnalysis, face_attributes: str) -> list[dict[str, Any]]:
    all_attributes = face_attributes == "ALL"
    return [
        {"Timestamp": frame.timestamp_ms, "Face": _face_detail(face, all_attributes)}
        for frame in analysis.frames
        for face in frame.faces
    ]


def encode_token(job_id: str, offset: int, variant: str, issued_at: float) -> str:
    raw = json.dumps(
        {"j": job_id, "o": offset, "v": variant, "t": int(issued_at)}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, job_id: str, variant: str, now: float) -> int:
    """The offset a NextToken points at; it must come from the same job and request shape, and be
    at most a day old."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["o"])
        issued_at = int(data["t"])
        same = data["j"] == job_id and data["v"] == variant
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidPaginationTokenError("Invalid Token") from None
    if not same or offset < 0:
        raise InvalidPaginationTokenError("Invalid Token")
    if now - issued_at > PAGE_TOKEN_TTL_S:
        raise InvalidPaginationTokenError("Invalid Token: the pagination token has expired (24 hours).")
    return offset


def page(
    items: Sequence[dict[str, Any]],
    job_id: str,
    variant: str,
    max_results: int | None,
    token: str | None,
    now: float,
) -> tuple[list[dict[str, Any]], str | None]:
    size = min(max_results or MAX_PAGE, MAX_PAGE)
    start = decode_token(token, job_id, variant, now) if token else 0
    if start > len(items):
        raise InvalidPaginationTokenError("Invalid Token")
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    return chunk, encode_token(job_id, end, variant, now) if end < len(items) else None
