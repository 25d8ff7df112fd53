"""Pixel boxes and the overlap measures that detectors and their fusion share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

# Frames as OpenCV hands them over (uint8, HxWx3 or HxW); OpenCV's stubs type them loosely.
Image: TypeAlias = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels of the analysed frame."""

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
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return self.left + self.width / 2, self.top + self.height / 2

    def intersection(self, other: Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        return w * h if w > 0 and h > 0 else 0.0

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def overlap_of_smaller(self, other: Box) -> float:
        """Share of the smaller box covered by the other: catches a box nested inside a bigger one."""
        smaller = min(self.area, other.area)
        return self.intersection(other) / smaller if smaller > 0 else 0.0

    def clip(self, frame_width: int, frame_height: int) -> Box:
        left = min(max(self.left, 0.0), float(frame_width))
        top = min(max(self.top, 0.0), float(frame_height))
        right = min(max(self.right, 0.0), float(frame_width))
        bottom = min(max(self.bottom, 0.0), float(frame_height))
        return Box(left, top, right - left, bottom - top)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom


def suppress_overlaps(boxes: Sequence[Box], scores: Sequence[float], max_overlap: float) -> list[int]:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first.

    A box is dropped when it overlaps a kept one by more than `max_overlap`, measured as IoU or
    as the share of the smaller box covered (a detector often fires on a part of a person too).
    """
    order = sorted(range(len(boxes)), key=lambda i: scores[i], reverse=True)
    kept: list[int] = []
    for i in order:
        if all(
            boxes[i].iou(boxes[k]) <= max_overlap and boxes[i].overlap_of_smaller(boxes[k]) <= 0.7
            for k in kept
        ):
            kept.append(i)
    return kept
