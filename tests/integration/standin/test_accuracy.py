"""How well the stand-in sees the sample clip, against the hand annotation in tests/data.

Person count: at each annotated second, the Person instances at the nearest sampled timestamp;
the error is the distance to the annotated range [persons, persons + partial] (people of whom
only a sliver is in view may or may not be reported). Facing: a second counts as facing when a
face within 250 ms of it is a looking sample by the product's definition (|Yaw| and |Pitch| at
most 30 degrees); seconds the annotator could not decide are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Analysed, all_pages

pytestmark = pytest.mark.slow

ANNOTATION = Path(__file__).resolve().parents[2] / "data/storefront-walkby.annotation.json"
LOOKING_DEG = 30.0
WINDOW_MS = 250


def _annotation() -> dict[str, Any]:
    return json.loads(ANNOTATION.read_text(encoding="utf-8"))


def person_count_errors(labels: list[dict[str, Any]], seconds: list[dict[str, Any]]) -> list[int]:
    counts = {d["Timestamp"]: len(d["Label"]["Instances"]) for d in labels}
    errors = []
    for second in seconds:
        t = second["t"] * 1000
        nearest = min(counts, key=lambda ts: abs(ts - t), default=None)
        # A timestamp without a Person label is a sample where nobody was seen.
        seen = counts[nearest] if nearest is not None and abs(nearest - t) <= WINDOW_MS else 0
        low, high = second["persons"], second["persons"] + second["partial"]
        errors.append(0 if low <= seen <= high else min(abs(seen - low), abs(seen - high)))
    return errors


def facing_scores(faces: list[dict[str, Any]], seconds: list[dict[str, Any]]) -> tuple[float, float]:
    looking = [
        d["Timestamp"]
        for d in faces
        if abs(d["Face"]["Pose"]["Yaw"]) <= LOOKING_DEG and abs(d["Face"]["Pose"]["Pitch"]) <= LOOKING_DEG
    ]
    tp = fp = fn = 0
    for second in seconds:
        predicted = any(abs(ts - second["t"] * 1000) <= WINDOW_MS for ts in looking)
        if second["facing"] is True:
            tp += predicted
            fn += not predicted
        elif second["facing"] is False:
            fp += predicted
    return tp / (tp + fn), tp / max(1, tp + fp)


@pytest.fixture(scope="module")
def detections(analysed: Analysed) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    labels = all_pages(analysed.rekognition.get_label_detection, "Labels", JobId=analysed.label_job)
    faces = all_pages(analysed.rekognition.get_face_detection, "Faces", JobId=analysed.face_job)
    return labels, faces


def test_person_count_per_second(detections: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    errors = person_count_errors(detections[0], _annotation()["seconds"])
    mean_error = sum(errors) / len(errors)
    exact = sum(e == 0 for e in errors) / len(errors)
    assert mean_error <= 0.4, f"mean absolute person-count error {mean_error:.2f} per second"
    assert exact >= 0.7, f"only {exact:.0%} of the seconds have the right count"
    assert max(errors) <= 2


def test_facing_the_camera(detections: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    recall, precision = facing_scores(detections[1], _annotation()["seconds"])
    assert recall >= 0.75, f"facing recall {recall:.2f}"
    assert precision >= 0.85, f"facing precision {precision:.2f}"


def test_engine_counts_close_to_hand_count(
    analysed: Analysed, detections: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    engine = pytest.importorskip("displaysense.domain.engine")
    settings = pytest.importorskip("displaysense.domain.settings")
    get = analysed.rekognition.get_label_detection
    labels = [get(JobId=analysed.label_job)]
    faces = [analysed.rekognition.get_face_detection(JobId=analysed.face_job)]
    metrics = engine.analyze(labels=labels, faces=faces, settings=settings.EngineSettings())
    hand = _annotation()
    passes, impressions = hand["passes"], hand["impressions"]
    # Within two of the hand count's range: the stand-in's detector is no Rekognition.
    assert passes["min"] - 2 <= metrics.summary.foot_traffic <= passes["max"] + 2
    assert impressions["min"] - 2 <= metrics.summary.impressions <= impressions["max"] + 2
