"""Nothing already stored changes while the whole corpus runs.

Allowed, and nothing else: one new video item per REJECTED or FAILED upload; the camera registry
counters (`n_<status>`) of the cameras those videos are listed under, by exactly their number; new
camera registry items for cameras that did not exist; new object versions at the corpus keys (the
uploads themselves: rejected, never dropped). Every item and object version stored before is
byte-identical afterwards, including the analysed baseline (video, metric buckets, passes, archived
Rekognition pages), and no job slot is left taken.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.bad_input.conftest import CorpusRun, value
from tests.support.bad_inputs import UPLOADS, Outcome

pytestmark = [pytest.mark.slow]

STATUSES = ("QUEUED", "ANALYZING", "SUCCEEDED", "FAILED", "REJECTED")


def _expected_counts() -> Counter[tuple[str, str, str]]:
    return Counter(
        (case.store, case.camera, case.outcome.value)
        for case in UPLOADS
        if case.outcome is not Outcome.IGNORED
    )


def test_items_stored_before_are_unchanged_but_for_their_camera_counters(corpus: CorpusRun) -> None:
    expected = _expected_counts()
    assert corpus.before.items, "the baseline stored nothing"
    for key, before in corpus.before.items.items():
        after = corpus.after.items.get(key)
        assert after is not None, f"{key} disappeared"
        if key[0] != "STORES":
            assert after == before, key
            continue
        store, camera = before["store"]["S"], before["camera"]["S"]
        counters = {f"n_{s}" for s in STATUSES}
        # Everything but the counters is identical (the recorded range included).
        assert {k: v for k, v in after.items() if k not in counters} == {
            k: v for k, v in before.items() if k not in counters
        }, key
        for status in STATUSES:
            grown = value(after.get(f"n_{status}", {"N": "0"})) - value(before.get(f"n_{status}", {"N": "0"}))
            assert grown == expected[(store, camera, status)], (key, status, grown)


def test_the_only_new_items_are_the_corpus_videos_and_their_cameras(corpus: CorpusRun) -> None:
    expected = _expected_counts()
    new = {key: item for key, item in corpus.after.items.items() if key not in corpus.before.items}
    videos = [item for (pk, _), item in new.items() if pk.startswith("VIDEO#")]
    cameras = {
        (item["store"]["S"], item["camera"]["S"]): item for (pk, _), item in new.items() if pk == "STORES"
    }
    others = [key for key in new if not key[0].startswith("VIDEO#") and key[0] != "STORES"]
    assert others == [], others  # no metric buckets, passes or job slots from bad input
    assert len(videos) == sum(expected.values())
    assert sorted(str(v["key"]["S"]) for v in videos) == sorted(
        c.key for c in UPLOADS if c.outcome is not Outcome.IGNORED
    )
    existing = {
        (i["store"]["S"], i["camera"]["S"]) for k, i in corpus.before.items.items() if k[0] == "STORES"
    }
    assert set(cameras) == {(s, c) for s, c, _ in expected} - existing
    for (store, camera), item in cameras.items():
        for status in STATUSES:
            assert value(item.get(f"n_{status}", {"N": "0"})) == expected[(store, camera, status)]


def test_object_versions_stored_before_are_unchanged_and_new_ones_are_the_uploads(corpus: CorpusRun) -> None:
    before, after = corpus.before.versions, corpus.after.versions
    assert any(key.startswith("results/") for key, _ in before), "the baseline archived no results"
    for version, described in before.items():
        assert after.get(version) == described, version
    new_keys = Counter(key for key, _ in set(after) - set(before))
    assert new_keys == Counter(case.key for case in UPLOADS)


def test_no_handler_failed_and_nothing_reached_a_dead_letter_queue(corpus: CorpusRun) -> None:
    # A handler crash on some input would retry the message until it lands there, unregistered.
    assert corpus.handler_failures == {}
    assert corpus.dead_letters and not any(corpus.dead_letters.values()), corpus.dead_letters
