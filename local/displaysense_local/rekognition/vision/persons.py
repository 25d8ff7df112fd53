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
    # HOG fires on the upper and the lower body of a cut-off person separately: boxes sharing this
    # much of the narrower one's columns are one person (people in one column hide each other, so
    # the detector cannot see two there), unless each holds a face.
    min_column_overlap: float = 0.7
    # A shorter box that starts below this share of a taller box's height and shares columns with
    # it is the hips and legs of that person (a stride puts them beside the upper body), not a
    # second person: at eye level a second person's head would be beside the first one's head.
    part_below_share: float = 1 / 3
    # Background subtraction (a fixed camera): a person box without a face is only reported when
    # this share of it differs from the background, or when it continues a reported box of the last
    # `motion_memory_s` seconds (someone who walked in and now stands still). Door edges, reflections
    # and posters never move, so HOG's mistakes on them are dropped. 0 turns the gate off.
    min_foreground_share: float = 0.05
    motion_memory_s: float = 1.0
    # Frames of background history; at 5 samples a second, 150 is 30 s.
    background_history: int = 150
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
        return [PersonCandidate(boxes[i], self.confidence(scores[i]), "hog") for i in kept]

    def fuse(
        self,
        persons: list[PersonCandidate],
        faces: list[tuple[Box, float]],
        frame_width: int,
        frame_height: int,
    ) -> tuple[list[PersonCandidate], list[int]]:
        """Complete the HOG persons with the faces, then join the parts of one body.

        Returns the persons and how many faces each holds.
        """
        people, held = add_people_from_faces(persons, faces, frame_width, frame_height)
        return merge_columns(people, held, self.settings.min_column_overlap, self.settings.part_below_share)

    def confidence(self, margin: float) -> float:
        return 100.0 / (1.0 + math.exp(-self.settings.confidence_slope * margin))


def _same_column(a: Box, b: Box, min_overlap: float) -> bool:
    shared = min(a.right, b.right) - max(a.left, b.left)
    narrow = min(a.width, b.width)
    return narrow > 0 and shared / narrow >= min_overlap


def _lower_part(part: Box, body: Box, below_share: float) -> bool:
    """`part` is a piece of `body` further down: shorter, starting below its upper share, beside it."""
    shared = min(part.right, body.right) - max(part.left, body.left)
    return shared > 0 and part.height < body.height and part.top >= body.top + below_share * body.height


def merge_columns(
    people: list[PersonCandidate], faces: list[int], min_overlap: float, part_below_share: float
) -> tuple[list[PersonCandidate], list[int]]:
    """Union the boxes of one body found apart into one person: boxes stacked in one column (head,
    torso and legs), and a faceless lower part beside the upper body (legs in a stride).

    `faces[i]` is the number of faces person i holds; boxes that hold a face each are two people
    standing close, never merged.
    """
    merged = list(zip(people, faces, strict=True))
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                (a, fa), (b, fb) = merged[i], merged[j]
                if fa + fb > 1:
                    continue
                if not (
                    _same_column(a.box, b.box, min_overlap)
                    or (fb == 0 and _lower_part(b.box, a.box, part_below_share))
                    or (fa == 0 and _lower_part(a.box, b.box, part_below_share))
                ):
                    continue
                left, top = min(a.box.left, b.box.left), min(a.box.top, b.box.top)
                right, bottom = max(a.box.right, b.box.right), max(a.box.bottom, b.box.bottom)
                best = a if a.confidence >= b.confidence else b
                merged[i] = (
                    PersonCandidate(Box(left, top, right - left, bottom - top), best.confidence, best.source),
                    fa + fb,
                )
                del merged[j]
                changed = True
                break
            if changed:
                break
    return [person for person, _ in merged], [count for _, count in merged]


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
) -> tuple[list[PersonCandidate], list[int]]:
    """Each face claims one person box it can be the head of; unclaimed faces add a person.

    Returns the persons and how many faces each holds (0 or 1).

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
    held = [1 if i in claimed else 0 for i in range(len(persons))] + [1] * len(added)
    return [*persons, *added], held


class MotionGate:
    """Keeps person boxes that moved into view; a fixed storefront camera sees the rest as background."""

    _WIDTH = 160  # the background model works on a small, blurred copy: noise and speed

    def __init__(self, settings: PersonSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """A new video: forget the background and the boxes."""
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=self.settings.background_history, varThreshold=25, detectShadows=False
        )
        self._mask: Image | None = None
        self._scale = 1.0
        self._recent: list[tuple[float, Box]] = []

    def update(self, bgr: Image) -> None:
        height, width = bgr.shape[:2]
        self._scale = self._WIDTH / width
        small = cv2.resize(
            bgr, (self._WIDTH, max(1, round(height * self._scale))), interpolation=cv2.INTER_AREA
        )
        gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        mask = self._model.apply(gray)
        if self._mask is None:
            # The first frame is all "foreground" to an empty model: it is no evidence of motion.
            mask = np.zeros_like(mask)
        self._mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))

    def foreground_share(self, box: Box) -> float:
        if self._mask is None:
            return 0.0
        x0, y0 = int(box.left * self._scale), int(box.top * self._scale)
        x1, y1 = math.ceil(box.right * self._scale), math.ceil(box.bottom * self._scale)
        region = self._mask[y0:y1, x0:x1]
        return float((region > 0).mean()) if region.size else 0.0

    def admit(
        self, people: list[PersonCandidate], faces: list[int], timestamp_s: float
    ) -> list[PersonCandidate]:
        s = self.settings
        if s.min_foreground_share <= 0:
            return people
        self._recent = [(t, b) for t, b in self._recent if timestamp_s - t <= s.motion_memory_s]
        admitted = [
            person
            for person, held in zip(people, faces, strict=True)
            if held
            or self.foreground_share(person.box) >= s.min_foreground_share
            or any(_continues(person.box, earlier) for _, earlier in self._recent)
        ]
        self._recent.extend((timestamp_s, p.box) for p in admitted)
        return admitted


def _continues(box: Box, earlier: Box) -> bool:
    """The same person a moment later: overlapping, or in the same column at about the same height."""
    if box.iou(earlier) >= 0.3:
        return True
    dx = abs(box.center[0] - earlier.center[0])
    dy = abs(box.center[1] - earlier.center[1])
    return dx <= 0.5 * max(box.width, earlier.width) and dy <= 0.25 * max(box.height, earlier.height)
