"""One pass over a video: sample frames, find persons and faces, keep what the jobs report.

Label and face jobs on the same video share one analysis (the detectors need each other's
results anyway: faces complete persons), so the footage is decoded once per video.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .vision.emotions import EmotionModel
from .vision.faces import FaceCandidate, FaceDetector, FaceMeshModel, HeadPose, head_pose, landmarks
from .vision.geometry import Box, Image
from .vision.persons import MotionGate, PersonDetector, PersonSettings
from .vision.quality import quality


@dataclass(frozen=True)
class AnalysisSettings:
    # Frames analysed per second of video (Rekognition samples at a rate of its own choosing).
    sample_fps: float = 5.0
    # BlazeFace score below which a face is not reported.
    min_face_score: float = 0.5
    # Below this face-mesh presence the mesh is unreliable (profile, blur, occlusion): the pose
    # then comes from the detector's keypoints instead.
    min_mesh_presence: float = 0.5
    persons: PersonSettings = field(default_factory=PersonSettings)


@dataclass(frozen=True)
class RatioBox:
    """A box as Rekognition gives it: ratios of the frame width and height."""

    Width: float
    Height: float
    Left: float
    Top: float

    @classmethod
    def of(cls, box: Box, width: int, height: int) -> RatioBox:
        return cls(box.width / width, box.height / height, box.left / width, box.top / height)


@dataclass(frozen=True)
class PersonObservation:
    box: RatioBox
    confidence: float


@dataclass(frozen=True)
class FaceObservation:
    box: RatioBox
    confidence: float
    yaw: float
    pitch: float
    roll: float
    # How the pose was measured: "mesh" (468-point face mesh) or "keypoints" (detector, coarser).
    pose_source: str
    landmarks: dict[str, tuple[float, float]] | None
    emotions: dict[str, float]
    brightness: float | None
    sharpness: float | None


@dataclass(frozen=True)
class FrameObservation:
    timestamp_ms: int
    persons: list[PersonObservation]
    faces: list[FaceObservation]


@dataclass(frozen=True)
class VideoAnalysis:
    sample_fps: float
    frame_width: int
    frame_height: int
    frames: list[FrameObservation]
    frames_decoded: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoAnalysis:
        frames = [
            FrameObservation(
                timestamp_ms=f["timestamp_ms"],
                persons=[PersonObservation(RatioBox(**p["box"]), p["confidence"]) for p in f["persons"]],
                faces=[
                    FaceObservation(
                        **{
                            **face,
                            "box": RatioBox(**face["box"]),
                            "landmarks": (
                                {k: (v[0], v[1]) for k, v in face["landmarks"].items()}
                                if face["landmarks"] is not None
                                else None
                            ),
                        }
                    )
                    for face in f["faces"]
                ],
            )
            for f in data["frames"]
        ]
        return cls(
            sample_fps=data["sample_fps"],
            frame_width=data["frame_width"],
            frame_height=data["frame_height"],
            frames=frames,
            frames_decoded=data["frames_decoded"],
            seconds=data["seconds"],
        )


class FrameAnalyzer:
    """The detectors for one worker: TFLite interpreters are not shared between threads."""

    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings
        self._faces = FaceDetector(min_score=settings.min_face_score)
        self._mesh = FaceMeshModel()
        self._emotions = EmotionModel()
        self._persons = PersonDetector(settings.persons)
        self._motion = MotionGate(settings.persons)

    def start_video(self) -> None:
        """Forget what the previous video taught the background model."""
        self._motion.reset()

    def analyse(self, bgr: Image, timestamp_ms: int) -> FrameObservation:
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        faces = [self._face(rgb, gray, candidate, width, height) for candidate in self._faces.detect(rgb)]
        self._motion.update(bgr)
        people, held = self._persons.fuse(
            self._persons.detect(bgr), [(box, obs.confidence) for box, obs in faces], width, height
        )
        persons = self._motion.admit(people, held, timestamp_ms / 1000.0)
        return FrameObservation(
            timestamp_ms=timestamp_ms,
            persons=[PersonObservation(RatioBox.of(p.box, width, height), p.confidence) for p in persons],
            faces=[obs for _, obs in faces],
        )

    def _face(
        self,
        rgb: Image,
        gray: Image,
        candidate: FaceCandidate,
        width: int,
        height: int,
    ) -> tuple[Box, FaceObservation]:
        box = candidate.box.clip(width, height)
        mesh = self._mesh.mesh(rgb, candidate)
        named: dict[str, tuple[float, float]] | None = None
        if mesh.presence >= self.settings.min_mesh_presence:
            pose, source = head_pose(mesh.points), "mesh"
            named = {k: (x / width, y / height) for k, (x, y) in landmarks(mesh.points).items()}
        else:
            pose, source = keypoint_pose(candidate), "keypoints"
        measured = quality(gray, box)
        return box, FaceObservation(
            box=RatioBox.of(box, width, height),
            confidence=100.0 * candidate.score,
            yaw=pose.yaw,
            pitch=pose.pitch,
            roll=pose.roll,
            pose_source=source,
            landmarks=named,
            emotions=self._emotions.emotions(gray, candidate.box),
            brightness=measured[0] if measured else None,
            sharpness=measured[1] if measured else None,
        )


# Eye distance over box width of a frontal face in BlazeFace's boxes; it shrinks with cos(yaw).
_FRONTAL_EYE_SHARE = 0.42
# Half the distance between the ear tragions over how far the nose tip lies in front of them, for
# an adult head (bitragion breadth about 14 cm; tragion to subnasale about 12 cm, of which about
# 9.5 cm is depth, plus about 2 cm of nose): 7 / 11.5.
_TRAGION_HALF_OVER_NOSE_DEPTH = 0.62
# Nose tip below the eye line, as a share of the eye-to-mouth distance, in a level frontal face.
_FRONTAL_NOSE_DROP = 0.45


def keypoint_pose(face: FaceCandidate) -> HeadPose:
    """A coarse pose from BlazeFace's six keypoints, for faces the mesh does not accept.

    Two cues of the yaw: turning the head shortens the projected eye distance by cos(yaw), and it
    moves the nose tip off the midpoint of the ear tragions by depth * sin(yaw) while their half
    distance shrinks to half * cos(yaw). For a turned face the detector guesses the hidden eye and
    ear near where a frontal face has them, so both cues fall short of the true turn: the larger
    one is taken. Nodding moves the nose tip along the eye-to-mouth line.
    """
    k = face.keypoints.astype(float)
    eyes = (k[0] + k[1]) / 2
    eye_share = float(np.linalg.norm(k[1] - k[0])) / max(face.box.width, 1e-6)
    by_eyes = math.degrees(math.acos(min(1.0, eye_share / _FRONTAL_EYE_SHARE)))
    if k[2][0] < eyes[0]:
        by_eyes = -by_eyes
    ears_mid = (k[4][0] + k[5][0]) / 2
    ears_half = abs(k[5][0] - k[4][0]) / 2
    by_ears = math.degrees(math.atan2((k[2][0] - ears_mid) * _TRAGION_HALF_OVER_NOSE_DEPTH, ears_half))
    yaw = by_eyes if abs(by_eyes) >= abs(by_ears) else by_ears
    eye_to_mouth = float(k[3][1] - eyes[1])
    drop = float(k[2][1] - eyes[1]) / eye_to_mouth if abs(eye_to_mouth) > 1e-6 else _FRONTAL_NOSE_DROP
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, (_FRONTAL_NOSE_DROP - drop) / _FRONTAL_NOSE_DROP))))
    roll = math.degrees(math.atan2(float(k[1][1] - k[0][1]), float(k[1][0] - k[0][0])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


class AnalysisError(RuntimeError):
    """The footage cannot be decoded."""


def sample_times(duration_ms: float, sample_fps: float) -> int:
    return max(1, math.ceil(duration_ms / 1000.0 * sample_fps))


def analyse_video(
    path: Path,
    settings: AnalysisSettings,
    analyzer: FrameAnalyzer | None = None,
    progress: Callable[[float], None] | None = None,
) -> VideoAnalysis:
    """Decode every frame (H.264 needs it) but convert and analyse only the sampled ones."""
    analyzer = analyzer or FrameAnalyzer(settings)
    analyzer.start_video()
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise AnalysisError("Unable to decode the video.")
    started = time.perf_counter()
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames: list[FrameObservation] = []
        interval_ms = 1000.0 / settings.sample_fps
        next_sample_ms = 0.0
        index = 0
        while capture.grab():
            timestamp_ms = index * 1000.0 / fps
            # A sample is due at each multiple of the interval; the first frame at or after it is used.
            if timestamp_ms + 1e-6 >= next_sample_ms:
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    frames.append(analyzer.analyse(frame, round(timestamp_ms)))
                while next_sample_ms <= timestamp_ms + 1e-6:
                    next_sample_ms += interval_ms
                if progress is not None and total:
                    progress(index / total)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise AnalysisError("Unable to decode the video.")
    return VideoAnalysis(
        sample_fps=settings.sample_fps,
        frame_width=width,
        frame_height=height,
        frames=frames,
        frames_decoded=index,
        seconds=time.perf_counter() - started,
    )
