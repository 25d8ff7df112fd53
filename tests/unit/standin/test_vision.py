"""The detectors and their geometry, on synthetic input and on single frames of the sample."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from displaysense_local.rekognition.analysis import AnalysisSettings, FrameAnalyzer, keypoint_pose
from displaysense_local.rekognition.vision.faces import FaceCandidate, head_pose
from displaysense_local.rekognition.vision.geometry import Box, suppress_overlaps
from displaysense_local.rekognition.vision.models import EMOTION, FACE_DETECTION_FULL_RANGE, package_file
from displaysense_local.rekognition.vision.persons import (
    MotionGate,
    PersonCandidate,
    PersonSettings,
    add_people_from_faces,
    body_from_face,
    merge_columns,
)

SAMPLE = Path(__file__).resolve().parents[3] / "local/displaysense_local/samples/storefront-walkby.mp4"


def _frames(start_s: float, end_s: float, step_s: float = 0.2) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(SAMPLE))
    frames = []
    second = start_s
    while second <= end_s + 1e-6:
        capture.set(cv2.CAP_PROP_POS_MSEC, second * 1000)
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
        second += step_s
    capture.release()
    return frames


def _mesh(yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
    """The four mesh points head_pose uses, on a head turned by yaw (about the vertical axis) and pitch."""
    points = np.zeros((468, 3), dtype=np.float32)
    face = {33: (-40, 0, 0), 263: (40, 0, 0), 10: (0, -60, 0), 152: (0, 90, 0)}
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    turn = np.array([[math.cos(yaw), 0, -math.sin(yaw)], [0, 1, 0], [math.sin(yaw), 0, math.cos(yaw)]])
    nod = np.array([[1, 0, 0], [0, math.cos(pitch), math.sin(pitch)], [0, -math.sin(pitch), math.cos(pitch)]])
    for index, point in face.items():
        points[index] = turn @ nod @ np.array(point, dtype=float) + (320, 180, 0)
    return points


@pytest.mark.parametrize("yaw", [-60.0, -30.0, 0.0, 25.0, 50.0])
def test_head_pose_recovers_yaw(yaw: float) -> None:
    pose = head_pose(_mesh(yaw))
    assert pose.yaw == pytest.approx(yaw, abs=0.5)
    assert pose.pitch == pytest.approx(0.0, abs=0.5)
    assert pose.roll == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("pitch", [-20.0, 15.0])
def test_head_pose_recovers_pitch(pitch: float) -> None:
    pose = head_pose(_mesh(0.0, pitch))
    assert pose.pitch == pytest.approx(pitch, abs=0.5)
    assert pose.yaw == pytest.approx(0.0, abs=0.5)


def test_keypoint_pose_of_a_frontal_and_a_turned_face() -> None:
    box = Box(100, 100, 100, 100)
    frontal = np.array(
        [[129, 140], [171, 140], [150, 160], [150, 184], [100, 150], [200, 150]], dtype=np.float32
    )
    pose = keypoint_pose(FaceCandidate(box, 0.9, frontal))
    assert abs(pose.yaw) < 1 and abs(pose.pitch) < 5 and abs(pose.roll) < 1
    turned = frontal.copy()
    turned[:, 0] = 150 + (turned[:, 0] - 150) * 0.5 + 10  # eyes half as far apart, nose to the right
    assert keypoint_pose(FaceCandidate(box, 0.9, turned)).yaw == pytest.approx(60, abs=3)
    # A profile the detector drew with both eyes apart, as for a frontal face: the nose far off the
    # ears' midpoint still tells the turn (nose offset 40 of half distance 20: atan(0.62 * 2)).
    guessed = frontal.copy()
    guessed[2, 0] = 110  # nose at the left edge of the face
    guessed[4:, 0] = (130, 170)  # the hidden ear guessed near the visible one
    assert keypoint_pose(FaceCandidate(box, 0.9, guessed)).yaw == pytest.approx(-51, abs=2)


def test_overlapping_and_nested_boxes_are_one() -> None:
    boxes = [Box(0, 0, 100, 200), Box(5, 5, 100, 200), Box(20, 20, 40, 60), Box(300, 0, 100, 200)]
    assert suppress_overlaps(boxes, [0.9, 0.8, 0.5, 0.6], 0.3) == [0, 3]


def test_faces_complete_and_split_persons() -> None:
    person = PersonCandidate(Box(100, 60, 80, 200), 90.0, "hog")
    # One face at the top of the box is that person; a second face at the same height is someone else.
    faces = [(Box(125, 40, 30, 30), 0.9), (Box(400, 50, 30, 30), 0.8)]
    people, held = add_people_from_faces([person], faces, 640, 360)
    assert len(people) == 2 and held == [1, 1]
    assert people[1].source == "face" and people[1].box == body_from_face(Box(400, 50, 30, 30), 640, 360)


def test_head_and_legs_in_one_column_are_one_person() -> None:
    upper = PersonCandidate(Box(100, 50, 60, 150), 90.0, "face")
    legs = PersonCandidate(Box(110, 180, 40, 180), 70.0, "hog")
    beside = PersonCandidate(Box(300, 50, 60, 300), 80.0, "hog")
    merged, faces = merge_columns([upper, legs, beside], [1, 0, 0], 0.7, 1 / 3)
    assert merged[0].box == Box(100, 50, 60, 310) and merged[0].confidence == 90.0
    assert merged[1] == beside and faces == [1, 0]
    # Two boxes that each hold a face stay two people, however close.
    assert len(merge_columns([upper, legs], [1, 1], 0.7, 1 / 3)[0]) == 2


def test_legs_in_a_stride_beside_the_upper_body_are_that_person() -> None:
    body = PersonCandidate(Box(100, 60, 80, 220), 95.0, "hog")
    # Hips and legs found apart, a stride to the side: shorter, starting below the upper third.
    legs = PersonCandidate(Box(150, 160, 60, 200), 70.0, "hog")
    merged, faces = merge_columns([body, legs], [1, 0], 0.7, 1 / 3)
    assert merged == [PersonCandidate(Box(100, 60, 110, 300), 95.0, "hog")] and faces == [1]
    # Someone beside at eye level has their head beside the other's head: two people.
    neighbour = PersonCandidate(Box(150, 70, 80, 210), 80.0, "hog")
    assert len(merge_columns([body, neighbour], [1, 0], 0.7, 1 / 3)[0]) == 2
    # A taller box further down is someone nearer the camera, not a part.
    nearer = PersonCandidate(Box(150, 140, 90, 240), 80.0, "hog")
    assert len(merge_columns([body, nearer], [1, 0], 0.7, 1 / 3)[0]) == 2
    # A lower box with a face of its own is a person (a child beside a parent).
    assert len(merge_columns([body, legs], [1, 1], 0.7, 1 / 3)[0]) == 2


def test_motion_gate_drops_what_never_moved() -> None:
    gate = MotionGate(PersonSettings())
    still = np.full((360, 640, 3), 90, dtype=np.uint8)
    door = PersonCandidate(Box(10, 40, 80, 300), 70.0, "hog")
    walker_box = Box(300, 60, 80, 280)
    for i in range(20):
        gate.update(still)
        assert gate.admit([door], [0], i * 0.2) == []
    moved = still.copy()
    moved[60:340, 300:380] = 220  # someone bright walks in
    gate.update(moved)
    walker = PersonCandidate(walker_box, 80.0, "hog")
    assert gate.admit([door, walker], [0, 0], 4.2) == [walker]
    # A face is always a person, moving or not.
    assert gate.admit([door], [1], 4.4) == [door]


def test_bundled_models_are_found() -> None:
    assert package_file(*FACE_DETECTION_FULL_RANGE).stat().st_size > 100_000
    assert package_file(*EMOTION).suffix == ".tflite"


@pytest.fixture(scope="module")
def analyzer() -> FrameAnalyzer:
    return FrameAnalyzer(AnalysisSettings())


def test_empty_frame_has_nobody(analyzer: FrameAnalyzer) -> None:
    frame = analyzer.analyse(np.full((360, 640, 3), 60, dtype=np.uint8), 0)
    assert frame.persons == [] and frame.faces == []


def test_a_frontal_face_and_a_profile(analyzer: FrameAnalyzer) -> None:
    # At 27 s the woman in the red sweater faces the camera; the bald man walks by in profile.
    # The seconds before let the background model learn the empty wall.
    analyzer.start_video()
    for i, earlier in enumerate(_frames(25.0, 27.0)):
        frame = analyzer.analyse(earlier, 25_000 + 200 * i)
    assert len(frame.faces) == 2
    for face in frame.faces:
        centre = face.box.Left + face.box.Width / 2
        assert any(p.box.Left <= centre <= p.box.Left + p.box.Width for p in frame.persons)
    frontal = min(frame.faces, key=lambda f: f.box.Left)
    assert frontal.box.Left < 0.4 and abs(frontal.yaw) < 20 and abs(frontal.pitch) < 20
    assert (
        frontal.landmarks is not None and frontal.landmarks["eyeLeft"][0] < frontal.landmarks["eyeRight"][0]
    )
    assert set(frontal.emotions) == {"ANGRY", "DISGUSTED", "FEAR", "HAPPY", "SAD", "SURPRISED", "CALM"}
    assert sum(frontal.emotions.values()) == pytest.approx(1.0, abs=0.02)
    profile = max(frame.faces, key=lambda f: f.box.Left)
    assert abs(profile.yaw) > 40
