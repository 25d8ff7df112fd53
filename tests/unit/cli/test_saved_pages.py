"""Saved result pages decoded with only the fields the engine reads give what the whole pages give.

The command line decodes pages with msgspec types that keep the engine's fields and skip the rest
(local/displaysense_local.saved_pages.py). Compared here against the standard `json` module's
whole pages: the same metrics, or the same error, for real AWS examples, a rendered scene with
every attribute, and pages whose fields hold anything JSON can hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from displaysense.domain.detections import PageError
from displaysense.domain.engine import analyze
from displaysense.domain.settings import EngineSettings
from displaysense_local import saved_pages
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import pages as pg
from tests.support import scenario as sc

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rekognition"
ENGINE = EngineSettings()


def _outcome(labels: list[Any] | None, faces: list[Any] | None) -> object:
    try:
        return analyze(labels=labels, faces=faces, settings=ENGINE)
    except PageError as exc:
        return ("refused", str(exc))


def _as_pages(document: Any) -> list[Any]:
    return document if isinstance(document, list) else [document]


def _both_ways(data: bytes, kind: str) -> tuple[object, object]:
    typed, whole = _as_pages(saved_pages._parse(data)), _as_pages(json.loads(data))
    if kind == "labels":
        return _outcome(typed, None), _outcome(whole, None)
    return _outcome(None, typed), _outcome(None, whole)


def test_the_aws_examples_give_the_same_metrics_or_error() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 6
    for path in files:
        kind = "faces" if "face" in path.name else "labels"
        typed, whole = _both_ways(path.read_bytes(), kind)
        assert typed == whole, path.name


def test_a_scene_with_every_attribute_gives_the_same_metrics() -> None:
    scene = sc.make_scene(3, duration_s=180)
    rendered = sc.render(scene, sc.Noise(), 3)
    labels = [json.dumps(p).encode() for p in sc.label_pages(scene, rendered, page_size=200)]
    faces = [json.dumps(p).encode() for p in sc.face_pages(scene, rendered, page_size=200)]
    typed = analyze(
        labels=[saved_pages._parse(b) for b in labels],
        faces=[saved_pages._parse(b) for b in faces],
        settings=ENGINE,
    )
    whole = analyze(
        labels=[json.loads(b) for b in labels], faces=[json.loads(b) for b in faces], settings=ENGINE
    )
    assert typed == whole
    assert typed.summary.foot_traffic > 0 and typed.summary.impressions > 0
    # and the decoded pages really are smaller: what the engine does not read is not there
    first = saved_pages._parse(faces[0])["Faces"][0]["Face"]
    assert "Landmarks" not in first and "Quality" not in first and "BoundingBox" in first


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["Value", "Low", "X"]), inner)
    ),
    max_leaves=6,
)
_FACE_FIELDS = ["BoundingBox", "Pose", "Gender", "AgeRange", "Emotions", "Eyeglasses", "Beard", "Landmarks"]
_LABEL_FIELDS = ["Name", "Instances", "Confidence"]


@settings(max_examples=150, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(_FACE_FIELDS), _json, max_size=3),
    entry_change=st.one_of(st.none(), st.tuples(st.sampled_from(["Timestamp", "Face"]), _json)),
)
def test_face_pages_with_any_values_give_the_same_metrics_or_error(
    changes: dict[str, Any], entry_change: tuple[str, Any] | None
) -> None:
    entries = [
        pg.face_entry(t, 0.2 + t / 20_000, Gender={"Value": "Female", "Confidence": 90.0})
        for t in range(0, 2000, 200)
    ]
    entries[3]["Face"].update(changes)
    if entry_change is not None:
        entries[5][entry_change[0]] = entry_change[1]
    typed, whole = _both_ways(json.dumps(pg.faces_page(entries, 2000)).encode(), "faces")
    assert typed == whole


@settings(max_examples=150, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(_LABEL_FIELDS), _json, max_size=2),
    page_change=st.one_of(
        st.none(), st.tuples(st.sampled_from(["Labels", "VideoMetadata", "JobStatus"]), _json)
    ),
)
def test_label_pages_with_any_values_give_the_same_metrics_or_error(
    changes: dict[str, Any], page_change: tuple[str, Any] | None
) -> None:
    entries = pg.walker(0, 3000, 0.1, 0.1)
    entries[4]["Label"].update(changes)
    page = pg.labels_page(entries, 3000)
    if page_change is not None:
        page[page_change[0]] = page_change[1]
    typed, whole = _both_ways(json.dumps(page).encode(), "labels")
    assert typed == whole
