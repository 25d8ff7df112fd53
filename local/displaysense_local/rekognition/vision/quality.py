"""Image quality of a face crop, measured from its pixels (Rekognition's Quality: 0-100)."""

from __future__ import annotations

import cv2

from .geometry import Box, Image

# Variance of the Laplacian at which a face counts as half sharp: a face region resized to 64 px
# with crisp edges gives several hundred, a motion-blurred one a few tens.
_HALF_SHARP_VARIANCE = 100.0


def quality(gray: Image, face: Box) -> tuple[float, float] | None:
    """(brightness, sharpness), or None when the face has no pixels in the frame."""
    h, w = gray.shape[:2]
    box = face.clip(w, h)
    crop = gray[int(box.top) : int(box.bottom), int(box.left) : int(box.right)]
    if crop.size < 16:
        return None
    crop = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA)
    brightness = float(crop.mean()) / 255.0 * 100.0
    variance = float(cv2.Laplacian(crop, cv2.CV_64F).var())
    sharpness = 100.0 * variance / (variance + _HALF_SHARP_VARIANCE)
    return brightness, sharpness
