"""Reading Rekognition pages: the documented examples and the quirks of real responses."""

import json
from pathlib import Path

import pytest
from displaysense.domain.detections import (
    PageError,
    PageKind,
    VideoInfo,
    face_samples,
    page_kind,
    person_boxes,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rekognition"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_documented_label_pages_without_instances_place_no_one():
    for name in ("docs-get-label-detection.json", "cli-get-label-detection.json"):
        page = load(name)
        assert page_kind(page) is PageKind.LABELS
        assert list(person_boxes(page)) == []


def test_documented_face_page_with_default_attributes():
    page = load("cli-get-face-detection.json")
    assert page_kind(page) is PageKind.FACES
    faces = list(face_samples(page))
    assert [f.timestamp_ms for f in faces] == [467, 967]
    first = faces[0]
    # FaceAttributes=DEFAULT: pose only, no demographics
    assert first.yaw == pytest.approx(-58.0786, abs=1e-3)
    assert first.gender is None and first.age_range is None and first.emotions is None
    # a box reaching past the left edge is kept as reported, not dropped
    assert first.box.left < 0 < first.box.right


def test_documented_face_page_metadata():
    info = VideoInfo.from_page(load("docs-get-face-detection.json"))
    assert info == VideoInfo(
        duration_ms=67301,
        frame_rate=pytest.approx(29.97, abs=1e-2),
        codec="h264",
        format="QuickTime / MOV",
        frame_width=1920,
        frame_height=1080,
    )
    assert len(list(face_samples(load("docs-get-face-detection.json")))) == 3


def person_page(instances, timestamp=0, name="Person"):
    return {
        "Labels": [
            {"Timestamp": timestamp, "Label": {"Name": name, "Confidence": 99, "Instances": instances}}
        ]
    }


def test_person_label_with_empty_instances_and_other_labels_are_ignored():
    page = person_page([])
    page["Labels"].append({"Timestamp": 0, "Label": {"Name": "Car", "Instances": [{"BoundingBox": {}}]}})
    assert list(person_boxes(page)) == []


def test_boxes_wholly_outside_or_degenerate_are_dropped():
    boxes = [
        {"BoundingBox": {"Left": 1.2, "Top": 0.1, "Width": 0.1, "Height": 0.5}},
        {"BoundingBox": {"Left": 0.2, "Top": 0.1, "Width": 0.0, "Height": 0.5}},
        {"BoundingBox": {"Left": -0.05, "Top": 0.1, "Width": 0.2, "Height": 0.5}},
        {"BoundingBox": {"Left": "x"}},
        {},
    ]
    kept = list(person_boxes(person_page(boxes)))
    assert len(kept) == 1 and kept[0].box.left == -0.05


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"JobId": "x"}, "no 'Labels' or 'Faces'"),
        ({"Labels": [], "Faces": []}, "both"),
        ({"Labels": {}}, "must be an array"),
        ({"Faces": [], "JobStatus": "FAILED", "StatusMessage": "Unsupported codec"}, "Unsupported codec"),
    ],
)
def test_pages_that_are_not_results_say_why(page, message):
    with pytest.raises(PageError, match=message):
        page_kind(page)


def test_entries_without_a_timestamp_are_errors():
    with pytest.raises(PageError, match="Timestamp"):
        list(person_boxes({"Labels": [{"Label": {"Name": "Person", "Instances": []}}]}))
    with pytest.raises(PageError, match="Face"):
        list(face_samples({"Faces": [{"Timestamp": 3}]}))
