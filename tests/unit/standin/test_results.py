from __future__ import annotations

import pytest
from displaysense_local.rekognition import results
from displaysense_local.rekognition.analysis import (
    FaceObservation,
    FrameObservation,
    PersonObservation,
    RatioBox,
    VideoAnalysis,
)
from displaysense_local.rekognition.errors import InvalidPaginationTokenError

BOX = RatioBox(Width=0.2, Height=0.5, Left=0.1, Top=0.2)
EMOTIONS = {
    "ANGRY": 0.01,
    "DISGUSTED": 0.0,
    "FEAR": 0.02,
    "HAPPY": 0.7,
    "SAD": 0.02,
    "SURPRISED": 0.05,
    "CALM": 0.2,
}


def _face(landmarks: bool = True) -> FaceObservation:
    return FaceObservation(
        box=BOX,
        confidence=88.0,
        yaw=-12.0,
        pitch=4.0,
        roll=1.0,
        pose_source="mesh" if landmarks else "keypoints",
        landmarks={"eyeLeft": (0.15, 0.3), "nose": (0.2, 0.35)} if landmarks else None,
        emotions=EMOTIONS,
        brightness=40.0,
        sharpness=70.0,
    )


def _analysis() -> VideoAnalysis:
    frames = [
        FrameObservation(0, [], []),
        FrameObservation(200, [PersonObservation(BOX, 95.0), PersonObservation(BOX, 60.0)], [_face()]),
        FrameObservation(400, [PersonObservation(BOX, 45.0)], [_face(landmarks=False)]),
        FrameObservation(600, [PersonObservation(BOX, 80.0)], []),
        FrameObservation(1400, [PersonObservation(BOX, 80.0)], []),
    ]
    return VideoAnalysis(5.0, 640, 360, frames, frames_decoded=90, seconds=1.0)


def test_person_labels_follow_min_confidence() -> None:
    labels = results.label_detections(_analysis(), 50.0, {})
    assert [d["Timestamp"] for d in labels] == [200, 600, 1400]
    first = labels[0]["Label"]
    assert first["Confidence"] == 95.0
    assert [i["Confidence"] for i in first["Instances"]] == [95.0, 60.0]
    assert first["Instances"][0]["BoundingBox"] == {"Width": 0.2, "Height": 0.5, "Left": 0.1, "Top": 0.2}
    assert [d["Timestamp"] for d in results.label_detections(_analysis(), 40.0, {})] == [200, 400, 600, 1400]


@pytest.mark.parametrize(
    ("settings", "wanted"),
    [
        ({}, True),
        ({"GeneralLabels": {"LabelInclusionFilters": ["Person", "Car"]}}, True),
        ({"GeneralLabels": {"LabelInclusionFilters": ["Car"]}}, False),
        ({"GeneralLabels": {"LabelExclusionFilters": ["Person"]}}, False),
        ({"GeneralLabels": {"LabelCategoryInclusionFilters": ["Person Description"]}}, True),
        ({"GeneralLabels": {"LabelCategoryInclusionFilters": ["Vehicles and Automotive"]}}, False),
        ({"GeneralLabels": {"LabelCategoryExclusionFilters": ["Person Description"]}}, False),
    ],
)
def test_label_filters(settings: dict[str, object], wanted: bool) -> None:
    assert bool(results.label_detections(_analysis(), 50.0, settings)) is wanted


def test_segments_join_consecutive_samples() -> None:
    segments = results.label_segments(results.label_detections(_analysis(), 50.0, {}), 200.0)
    assert [(s["StartTimestampMillis"], s["EndTimestampMillis"], s["DurationMillis"]) for s in segments] == [
        (200, 200, 0),
        (600, 600, 0),
        (1400, 1400, 0),
    ]
    segments = results.label_segments(results.label_detections(_analysis(), 40.0, {}), 200.0)
    assert [(s["StartTimestampMillis"], s["EndTimestampMillis"]) for s in segments] == [
        (200, 600),
        (1400, 1400),
    ]
    assert all(s["Label"]["Instances"] == [] for s in segments)


def test_face_attributes_default_and_all() -> None:
    default = results.face_detections(_analysis(), "DEFAULT")
    assert [d["Timestamp"] for d in default] == [200, 400]
    assert set(default[0]["Face"]) == {"BoundingBox", "Pose", "Confidence", "Landmarks", "Quality"}
    # The face the mesh did not accept has no landmarks: none are made up.
    assert "Landmarks" not in default[1]["Face"]
    full = results.face_detections(_analysis(), "ALL")[0]["Face"]
    assert [e["Type"] for e in full["Emotions"]][:2] == ["HAPPY", "CALM"]
    assert full["Emotions"][0]["Confidence"] == pytest.approx(70.0)
    assert full["Smile"] == {"Value": True, "Confidence": pytest.approx(70.0)}
    assert full["Pose"] == {"Roll": 1.0, "Yaw": -12.0, "Pitch": 4.0}


NOW = 1_800_000_000.0


def test_paging_and_tokens() -> None:
    items = [{"n": i} for i in range(25)]
    first, token = results.page(items, "job", "v", 10, None, NOW)
    assert first == items[:10] and token
    second, token = results.page(items, "job", "v", 10, token, NOW)
    third, last = results.page(items, "job", "v", 10, token, NOW)
    assert second + third == items[10:] and last is None
    everything, none = results.page(items, "job", "v", None, None, NOW)
    assert everything == items and none is None
    for forged, job, variant in ((token, "other-job", "v"), (token, "job", "other"), ("%%%", "job", "v")):
        with pytest.raises(InvalidPaginationTokenError):
            results.page(items, job, variant, 10, forged, NOW)


def test_a_token_lives_24_hours() -> None:
    items = [{"n": i} for i in range(25)]
    _, token = results.page(items, "job", "v", 10, None, NOW)
    assert token
    later, _ = results.page(items, "job", "v", 10, token, NOW + results.PAGE_TOKEN_TTL_S)
    assert later == items[10:20]
    with pytest.raises(InvalidPaginationTokenError, match="expired"):
        results.page(items, "job", "v", 10, token, NOW + results.PAGE_TOKEN_TTL_S + 1)


def test_page_size_is_capped_at_1000() -> None:
    items = [{"n": i} for i in range(1500)]
    chunk, token = results.page(items, "job", "v", 5000, None, NOW)
    assert len(chunk) == 1000 and token
