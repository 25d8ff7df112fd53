"""Reading Rekognition pages: the documented examples and the quirks of real responses."""

import copy
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
from displaysense.domain.engine import analyze
from displaysense.domain.settings import EngineSettings
from displaysense.domain.timeline import StreamPageError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rekognition"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_documented_label_pages_without_person_instances_place_no_one():
    for name in (
        "docs-get-label-detection.json",
        "cli-get-label-detection.json",
        "docs-get-label-detection-timestamps.json",  # Car, Cup, Kangaroo, Bicycle boxes: no Person
    ):
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


def test_a_segments_page_is_refused_with_what_to_do():
    page = load("docs-get-label-detection-segments.json")
    with pytest.raises(PageError, match="AggregateBy=TIMESTAMPS"):
        list(person_boxes(page))
    # and when the request metadata says so, whatever the entries look like
    page = {"Labels": [], "GetRequestMetadata": {"SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS"}}
    with pytest.raises(PageError, match="SEGMENTS"):
        page_kind(page)


def test_instances_that_are_not_an_array_are_an_error_not_a_crash():
    page = person_page(5)
    with pytest.raises(PageError, match=r"Labels\[0\]\.Label\.Instances must be an array"):
        list(person_boxes(page))


@pytest.mark.parametrize("timestamp", [-1, float("nan"), float("inf"), 10**30, 25 * 3600 * 1000, "0", True])
def test_timestamps_that_are_no_position_in_a_video_are_errors(timestamp):
    with pytest.raises(PageError, match="Timestamp"):
        list(person_boxes(person_page([], timestamp=timestamp)))


def test_numbers_that_are_not_finite_are_not_estimates():
    nan, inf = float("nan"), float("inf")
    box = {"Left": 0.2, "Top": 0.2, "Width": 0.1, "Height": 0.2}
    page = {
        "Faces": [
            {"Timestamp": 0, "Face": {"BoundingBox": {**box, "Left": nan}}},
            {"Timestamp": 0, "Face": {"BoundingBox": {**box, "Width": inf}}},
            {"Timestamp": 0, "Face": {"BoundingBox": {**box, "Top": 10**400}}},
            {
                "Timestamp": 0,
                "Face": {
                    "BoundingBox": box,
                    "Pose": {"Yaw": nan, "Pitch": inf},
                    "Gender": {"Value": "Male", "Confidence": nan},
                    "AgeRange": {"Low": inf, "High": inf},
                },
            },
        ]
    }
    (face,) = face_samples(page)
    assert face.yaw is None and face.pitch is None and face.age_range is None
    assert face.gender == ("Male", 0.0)


BOX = {"Left": 0.2, "Top": 0.2, "Width": 0.1, "Height": 0.2}
# Keys of real pages, so that generated pages reach the parser's inner branches.
VOCABULARY = (
    "Labels", "Faces", "Label", "Name", "Instances", "BoundingBox", "Left", "Top", "Width", "Height",
    "Timestamp", "Face", "Pose", "Yaw", "Pitch", "Gender", "Value", "Confidence", "AgeRange", "Low",
    "High", "Emotions", "Type", "Eyeglasses", "Sunglasses", "Beard", "Mustache", "VideoMetadata",
    "DurationMillis", "FrameRate", "FrameWidth", "JobStatus", "StatusMessage", "GetRequestMetadata",
    "AggregateBy", "StartTimestampMillis",
)  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from(["Person", "Female", "Male", "HAPPY", "SEGMENTS", "SUCCEEDED", "FAILED", ""])
    | st.text(max_size=4)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=3), inner, max_size=5)
    ),
    max_leaves=30,
)


def _valid_pages():
    from tests.support.pages import face_entry, faces_page, label_entry, labels_page, person

    label_page = labels_page([label_entry(t, person(0.1 + t / 10_000)) for t in (0, 200, 400, 600)], 1000)
    face_page = faces_page([face_entry(t, 0.15 + t / 10_000, Gender={"Value": "Male", "Confidence": 90.0})
                            for t in (0, 200, 400, 600)], 1000)  # fmt: skip
    return label_page, face_page


def _containers(node):
    """Every dict and list in a JSON document, the document included."""
    found = [node]
    for value in node.values() if isinstance(node, dict) else node:
        if isinstance(value, dict | list) and value:
            found += _containers(value)
    return found


@st.composite
def damaged_pages(draw):
    """A real page with one part anywhere in it (any key of any object, any item of any array)
    replaced by arbitrary JSON, or an unexpected key added."""
    page = copy.deepcopy(_valid_pages()[draw(st.integers(0, 1))])
    node = draw(st.sampled_from(_containers(page)))
    replacement = draw(json_values)
    if isinstance(node, dict):
        keys = sorted(node)
        key = draw(st.sampled_from(keys)) if draw(st.integers(0, 4)) else draw(st.sampled_from(VOCABULARY))
        node[key] = replacement
    else:
        node[draw(st.integers(0, len(node) - 1))] = replacement
    return page


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, damaged_pages()), st.sampled_from(["labels", "faces"]))
# the crashes found so far, always tried
@example({"Labels": [{"Timestamp": 0, "Label": {"Name": "Person", "Instances": 5}}]}, "labels")
@example(
    {"Faces": [{"Timestamp": 0, "Face": {"BoundingBox": BOX, "Emotions": [{"Type": [1], "Confidence": 1}]}}]},
    "faces",
)
@example({"Faces": [{"Timestamp": float("nan"), "Face": {"BoundingBox": BOX}}]}, "faces")
@example({"Labels": [], "VideoMetadata": {"DurationMillis": 10**18}}, "labels")
@example(
    {
        "Faces": [
            {
                "Timestamp": 0,
                "Face": {"BoundingBox": BOX, "AgeRange": {"Low": 1e308 * 10, "High": 1e308 * 10}},
            }
        ]
    },
    "faces",
)
def test_any_page_gives_metrics_or_a_page_error_never_a_crash(page, stream):
    """Whatever JSON a page holds, the engine answers with metrics or a PageError saying which
    page and what is wrong (the command line names the file from it), never another exception."""
    pages = [page]
    try:
        analyze(
            labels=pages if stream == "labels" else None,
            faces=pages if stream == "faces" else None,
            settings=EngineSettings(),
        )
    except StreamPageError as exc:
        assert exc.page_number == 1 and exc.reason


def test_documented_person_instances_are_read_as_given():
    boxes = list(person_boxes(load("docs-get-label-detection-previous.json")))
    assert [b.timestamp_ms for b in boxes] == [0, 0]
    assert boxes[0].box == (0.8881205320358276, 0.08098889887332916, 0.11109819263219833, 0.9073750972747803)
    (only,) = person_boxes(load("docs-get-label-detection-person.json"))
    assert only.box.left == pytest.approx(0.00018205095) and only.box.height == pytest.approx(0.1549897)


@pytest.mark.parametrize(
    ("labels", "faces", "person_boxes_read", "faces_read", "passes"),
    [
        ("docs-get-label-detection-previous.json", None, 2, 0, 0),
        ("docs-get-label-detection-person.json", None, 1, 0, 0),
        ("docs-get-label-detection-timestamps.json", None, 0, 0, 0),
        (None, "docs-get-face-detection.json", 0, 3, 0),
        # the CLI example's one face at 467 ms and 967 ms: a face-only pass of 0.5 s
        ("docs-get-label-detection-previous.json", "cli-get-face-detection.json", 2, 2, 1),
    ],
)
def test_documented_responses_run_through_the_engine(labels, faces, person_boxes_read, faces_read, passes):
    """The AWS documentation's example pages, end to end: every Person box and face is read; a
    person seen at a single instant (all the label examples show) is too short to be a pass."""
    metrics = analyze(
        labels=[load(labels)] if labels else None,
        faces=[load(faces)] if faces else None,
        settings=EngineSettings(),
    )
    assert metrics.detections.person_boxes == person_boxes_read
    assert metrics.detections.faces == faces_read
    assert metrics.summary.foot_traffic == passes
