"""Invariants of the counters and the engine (property-based)."""

import random

from displaysense.domain.engine import PassList, analyze
from displaysense.domain.metrics import (
    ACCESSORIES,
    AGE_BUCKETS,
    ESTIMATED,
    GENDERS,
    MOODS,
    Counters,
    merge_all,
    summarize,
)
from displaysense.domain.settings import EngineSettings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import scenario as sc

SETTINGS = EngineSettings()
counts = st.integers(min_value=0, max_value=10**6)


@st.composite
def counters(draw):
    return Counters(
        foot_traffic=draw(counts),
        dwellers=draw(counts),
        impressions=draw(counts),
        dwell_ms=draw(counts),
        attention_ms=draw(counts),
        faces=draw(counts),
        person_ms=draw(counts),
        observed_ms=draw(counts),
        occupancy_peak=draw(st.integers(0, 50)),
        gender={k: draw(counts) for k in GENDERS},
        age={k: draw(counts) for k in AGE_BUCKETS},
        mood={k: draw(counts) for k in MOODS},
        accessories={k: draw(counts) for k in ACCESSORIES},
        estimated={k: draw(counts) for k in ESTIMATED},
    )


@given(counters(), counters(), counters())
def test_merge_is_associative_and_commutative(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(b) == b.merge(a)
    assert a.merge(Counters()) == a


@given(counters())
def test_stored_form_round_trips(c):
    assert Counters.from_dict(c.to_dict()) == c


@given(st.lists(counters(), min_size=1, max_size=6))
def test_averages_are_rederived_from_sums_never_averaged(parts):
    total = merge_all(parts)
    summary = summarize(total)
    if total.foot_traffic:
        expected = round(sum(p.dwell_ms for p in parts) / 1000 / sum(p.foot_traffic for p in parts), 3)
        assert summary["dwell_s_avg"] == expected
    else:
        assert summary["dwell_s_avg"] is None


scenes = st.builds(
    lambda seed, per_minute, interval: (seed, per_minute, interval),
    st.integers(0, 10_000),
    st.sampled_from([1.0, 4.0, 10.0]),
    st.sampled_from([200, 500]),
)


def rendered(seed, per_minute, interval, duration_s=120.0):
    scene = sc.make_scene(seed, duration_s=duration_s, per_minute=per_minute, label_interval_ms=interval)
    return scene, sc.render(scene, sc.Noise(), seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes)
def test_engine_invariants(params):
    """The summary's counts against the pass records they come from, so that a summary key
    derived wrongly (passers-by, dwellers, impressions...) fails here."""
    scene, r = rendered(*params)
    sink = PassList()
    metrics = analyze(
        labels=sc.label_pages(scene, r), faces=sc.face_pages(scene, r), settings=SETTINGS, pass_sink=sink
    )
    s = summarize(metrics.summary)
    records = sink.records
    assert s["foot_traffic"] == len(records) == metrics.passes
    assert s["dwellers"] == sum(r.dwell_ms >= SETTINGS.dwell_s * 1000 for r in records)
    assert s["passers_by"] == sum(r.dwell_ms < SETTINGS.dwell_s * 1000 for r in records)
    assert s["impressions"] == sum(r.attention_ms >= SETTINGS.min_attention_s * 1000 for r in records)
    assert s["faces"] == sum(r.face_samples > 0 for r in records)
    assert s["dwell_s_total"] == round(sum(r.dwell_ms for r in records) / 1000, 3)
    assert s["attention_s_total"] == round(sum(r.attention_ms for r in records) / 1000, 3)
    for gender in ("female", "male"):
        assert s["gender"][gender] == sum(r.gender == gender for r in records)
    assert 0 <= s["impressions"] <= s["foot_traffic"]
    assert s["occupancy_mean"] is None or s["occupancy_mean"] <= s["occupancy_peak"]
    assert metrics.summary == merge_all(metrics.series.values())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes, st.integers(1, 400), st.integers(1, 400), st.randoms(use_true_random=False))
def test_page_size_order_and_repeats_do_not_change_the_result(params, label_size, face_size, rnd):
    scene, r = rendered(*params)
    reference_sink, sink = PassList(), PassList()
    reference = analyze(
        labels=sc.label_pages(scene, r),
        faces=sc.face_pages(scene, r),
        settings=SETTINGS,
        pass_sink=reference_sink,
    )
    labels = sc.label_pages(scene, r, page_size=label_size)
    faces = sc.face_pages(scene, r, page_size=face_size)
    # a page delivered twice, and the pages in any order
    labels.append(labels[rnd.randrange(len(labels))])
    faces.insert(0, faces[rnd.randrange(len(faces))])
    rnd.shuffle(labels)
    rnd.shuffle(faces)
    metrics = analyze(labels=labels, faces=faces, settings=SETTINGS, pass_sink=sink)
    assert metrics.summary == reference.summary
    assert metrics.series == reference.series
    assert sorted(sink.records, key=repr) == sorted(reference_sink.records, key=repr)


def test_pages_in_order_are_read_once_as_a_stream():
    scene, r = rendered(3, 6.0, 200, duration_s=300.0)
    metrics = analyze(
        labels=sc.label_pages(scene, r, 50), faces=sc.face_pages(scene, r, 50), settings=SETTINGS
    )
    assert not metrics.sorted_on_disk


def test_a_one_shot_stream_out_of_order_is_refused_with_a_reason():
    scene, r = rendered(4, 6.0, 200)
    pages = sc.label_pages(scene, r, 20)
    random.Random(1).shuffle(pages)
    try:
        analyze(labels=iter(pages), faces=None, settings=SETTINGS)
    except ValueError as exc:
        assert "out of time order" in str(exc)
    else:
        raise AssertionError("a shuffled one-shot stream was accepted")
