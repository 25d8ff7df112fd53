"""The engine against scenes with known truth (tests/support/scenario.py).

Each case pools three 15-minute scenes of one crowd density and one label sampling interval,
rendered with realistic noise (missed boxes, occlusion, jitter, false positives, wrong genders,
faces lost in profile), and compares with the truth of the plan measured on the same definitions.
Bounds are the issue's: foot traffic and impressions within 5 %, dwell within 10 %, gender and
age shares of the passes with a face within 10 points.
"""

import pytest
from displaysense.domain.engine import analyze
from displaysense.domain.metrics import AGE_BUCKETS, summarize
from displaysense.domain.settings import EngineSettings

from tests.support import scenario as sc

SEEDS = (101, 202, 303)


def pooled(per_minute: float, label_interval_ms: int):
    found = {"foot_traffic": 0, "impressions": 0, "dwell": 0.0, "faces": 0}
    truth = {"foot_traffic": 0, "impressions": 0, "dwell": 0.0}
    genders = {"female": [0, 0.0], "male": [0, 0.0]}  # [measured count, true count]
    ages = {bucket: [0, 0.0] for bucket in AGE_BUCKETS}
    true_passes = 0
    for seed in SEEDS:
        scene = sc.make_scene(
            seed, duration_s=900, per_minute=per_minute, label_interval_ms=label_interval_ms
        )
        rendered = sc.render(scene, sc.Noise(), seed)
        s = summarize(
            analyze(
                labels=sc.label_pages(scene, rendered),
                faces=sc.face_pages(scene, rendered),
                settings=EngineSettings(),
            ).summary
        )
        t = sc.truth(scene)
        found["foot_traffic"] += s["foot_traffic"]
        found["impressions"] += s["impressions"]
        found["dwell"] += s["dwell_s_total"]
        found["faces"] += s["faces"]
        truth["foot_traffic"] += t.foot_traffic
        truth["impressions"] += t.impressions
        truth["dwell"] += t.dwell_s_total
        true_passes += t.foot_traffic
        for g, counts in genders.items():
            counts[0] += s["gender"][g]
            counts[1] += t.gender_share.get(g, 0.0) * t.foot_traffic
        for a, counts in ages.items():
            counts[0] += s["age"][a]
            counts[1] += t.age_share.get(a, 0.0) * t.foot_traffic
    return found, truth, genders, ages, true_passes


@pytest.mark.slow
@pytest.mark.parametrize("label_interval_ms", [200, 500])
@pytest.mark.parametrize("per_minute", [2.0, 5.0, 10.0])
def test_metrics_are_within_bounds_of_the_truth(per_minute, label_interval_ms):
    found, truth, genders, ages, true_passes = pooled(per_minute, label_interval_ms)
    assert truth["foot_traffic"] >= 50, "too few people for a 5 % bound to mean anything"

    def relative(key):
        return abs(found[key] - truth[key]) / truth[key]

    assert relative("foot_traffic") <= 0.05, (found, truth)
    assert relative("impressions") <= 0.05, (found, truth)
    assert relative("dwell") <= 0.10, (found, truth)
    for name, (measured, expected) in {**genders, **ages}.items():
        if name == "unknown":
            continue
        share, true_share = measured / found["faces"], expected / true_passes
        assert abs(share - true_share) <= 0.10, (name, share, true_share)
