"""Persons: OpenCV's HOG pedestrian detector, completed by the faces found in the same frame.

A storefront camera sees people close and cut off by the frame (legs below the bottom edge,
half a body at a side), while the HOG window wants a whole pedestrian with a margin around it.
The frame is therefore padded (replicated edge) below and at the sides before detection, so a
cut-off person still fits a window. A person whose body HOG misses but whose face the face
detector found (turned sideways, partly hidden, close to the camera) is added from the face:
a face is always a person, as for Rekognition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Box, Image, suppress_overlaps


@dataclass(frozen=True)
class PersonSettings:
    # HOG runs on the frame scaled down to at most this width: speed, and closer people fit the window.
    analysis_width: int = 480
    # Padding as a share of the frame height (below) and width (each side).
    pad_bottom: float = 0.6
    pad_sides: float = 0.15
    pyramid_scale: float = 1.05
    # Windows with an SVM margin below this are not reported (margin 0 is confidence 50).
    min_margin: float = 0.0
    # Boxes overlapping more than this (IoU) are one person.
    max_overlap: float = 0.3
    # A box that is mostly padding is a detection on the replicated edge, not a person.
    min_visible_share: float = 0.3
    # HOG fires on the upper and the lower body of a cut-off person separately: boxes of similar
    # width sharing this much of the narrower one's columns are one person (people in one column
    # hide each other, so the detector cannot see two there).
    min_column_overlap: float = 0.7
    # Slope of the logistic map from SVM margin to confidence (Platt scaling).
    confidence_slope: float = 2.0


@dataclass(frozen=True)
class PersonCandidate:
    box: Box
    confidence: float
    source: str  # "hog" or "face": why the stand-in believes there is a person


class PersonDetector:
    def __init__(self, settings: PersonSettings | None = None) -> None:
        self.settings = settings or PersonSettings()
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))

    def detect(self, bgr: Image) -> list[PersonCandidate]:
        s = self.settings
        height, width = bgr.shape[:2]
        scale = min(1.0, s.analysis_width / width)
        small = (
            bgr if scale == 1.0 else cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        sh, sw = small.shape[:2]
        pad_y, pad_x = round(sh * s.pad_bottom), round(sw * s.pad_sides)
        padded = cv2.copyMakeBorder(small, 0, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
        rects, margins = self._hog.detectMultiScale(
            padded, hitThreshold=s.min_margin, winStride=(8, 8), padding=(8, 8), scale=s.pyramid_scale
        )
        boxes: list[Box] = []
        scores: list[float] = []
        for (x, y, w, h), margin in zip(np.asarray(rects).reshape(-1, 4), np.ravel(margins), strict=True):
            # The HOG window keeps a margin around the body (64x128 for a ~40x100 person): trim it.
            window = Box(
                (x - pad_x + 0.2 * w) / scale, (y + 0.07 * h) / scale, 0.6 * w / scale, 0.86 * h / scale
            )
            visible = window.clip(width, height)
            if window.area <= 0 or visible.area / window.area < s.min_visible_share:
                continue
            boxes.append(visible)
            scores.append(float(margin))
        kept = suppress_overlaps(boxes, scores, s.max_overlap)
        merged = merge_columns([(boxes[i], scores[i]) for i in kept], s.min_column_overlap)
        return [PersonCandidate(box, self.confidence(score), "hog") for box, score in merged]

    def confidence(self, margin: float) -> float:
        return 100.0 / (1.0 + math.exp(-self.settings.confidence_slope * margin))


def merge_columns(boxes: list[tuple[Box, float]], min_overlap: float) -> list[tuple[Box, float]]:
    """Union boxes stacked in the same column; the union keeps the best score."""
    merged: list[tuple[Box, float]] = []
    for box, score in sorted(boxes, key=lambda b: b[1], reverse=True):
        for i, (other, other_score) in enumerate(merged):
            shared = min(box.right, other.right) - max(box.left, other.left)
            narrow, wide = sorted((box.width, other.width))
            if narrow > 0 and shared / narrow >= min_overlap and wide / narrow <= 1.6:
                left, top = min(box.left, other.left), min(box.top, other.top)
                right, bottom = max(box.right, other.right), max(box.bottom, other.bottom)
                merged[i] = (Box(left, top, right - left, bottom - top), max(score, other_score))
                break
        else:
            merged.append((box, score))
    return merged


def body_from_face(face: Box, frame_width: int, frame_height: int) -> Box:
    """The body box a face implies: about three face widths wide and seven face heights tall."""
    cx = face.left + face.width / 2
    return Box(
        cx - 1.5 * face.width, face.top - 0.25 * face.height, 3.0 * face.width, 7.5 * face.height
    ).clip(frame_width, frame_height)


def add_people_from_faces(
    persons: list[PersonCandidate],
    faces: list[tuple[Box, float]],
    frame_width: int,
    frame_height: int,
) -> list[PersonCandidate]:
    """Each face claims one person box it can be the head of; unclaimed faces add a person.

    A face is the head of a box when its centre lies within the box's columns, between one face
    height above the box (HOG boxes of cut-off people often start at the shoulders) and the
    middle of the box. One face per box: two people under one HOG window are still two persons.
    """
    claimed: set[int] = set()
    added: list[PersonCandidate] = []
    for face, confidence in sorted(faces, key=lambda f: f[1], reverse=True):
        fx, fy = face.center
        best: int | None = None
        for i, person in enumerate(persons):
            box = person.box
            if i in claimed or not box.left <= fx <= box.right:
                continue
            if not box.top - face.height <= fy <= box.top + box.height / 2:
                continue
            if best is None or abs(person.box.center[0] - fx) < abs(persons[best].box.center[0] - fx):
                best = i
        if best is not None:
            claimed.add(best)
        else:
            added.append(PersonCandidate(body_from_face(face, frame_width, frame_height), confidence, "face"))
    return [*persons, *added]
