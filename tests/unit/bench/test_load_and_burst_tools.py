"""The measuring parts of the load and burst benchmark: they decide what docs/reliability.md and
tests/e2e/test_load_and_burst.py report, so they are checked on known inputs."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.bench_burst import burst_files, busy_time, max_overlap
from bench.load_api import LoadTestError, Targets, check_loopback, next_request, percentile
from tests.support.mp4_clips import sync_samples

SAMPLE = Path(__file__).parents[3] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"


def test_max_overlap_counts_jobs_running_at_one_instant() -> None:
    assert max_overlap([]) == 0
    assert max_overlap([(0, 10), (1, 2), (3, 4), (3.5, 5)]) == 3
    # One job ending as the next starts (a slot handed on) is not two at once.
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1


def test_busy_time_within_the_window() -> None:
    busy, job_seconds = busy_time([(0, 4), (2, 6), (8, 9), (20, 30)], 1, 10)
    assert busy == 6  # 1..6 and 8..9
    assert job_seconds == 3 + 4 + 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1/", "http://localhost/v1/", "http://[::1]:9/v1/"])
def test_loopback_urls_are_load_tested(url: str) -> None:
    check_loopback(url)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/v1/", "https://abc.execute-api.eu-west-1.amazonaws.com/v1/"]
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(LoadTestError, match="loopback"):
        check_loopback(url)


def test_the_request_mix_covers_every_dashboard_route() -> None:
    targets = Targets(
        stores=["s-1", "s-2"],
        cameras={"s-1": ["a", "b"], "s-2": ["c"]},
        video_ids=["0" * 32],
        first=datetime(2026, 11, 23, 8, tzinfo=UTC),
        last=datetime(2026, 11, 24, 8, tzinfo=UTC),
    )
    rng = random.Random(1)
    routes = {next_request(targets, rng)[0].split("?")[0] for _ in range(500)}
    assert routes == {"/stores", "/stores/{store}/metrics", "/videos", "/videos/{id}", "/compare"}


def test_a_burst_is_distinct_videos_with_a_few_bad_files() -> None:
    sample = SAMPLE.read_bytes()
    files = burst_files(60, sample)
    assert len(files) == 60
    assert len({f.relative for f in files}) == 60  # distinct keys: distinct videos
    good = [f for f in files if f.expected == "SUCCEEDED"]
    assert len({f.content for f in good}) == len(good)  # and distinct footage
    assert {f.expected for f in files} == {"SUCCEEDED", "REJECTED", "FAILED"}
    assert len(sync_samples(sample)) == 10
