"""The job quota and throttling: a refused start waits in the ingest queue with a growing backoff;
nothing is lost, nothing starts twice, and at most max_concurrent_jobs jobs run."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from displaysense.domain.video import JobKind, VideoStatus
from displaysense.pipeline import start_deferral
from displaysense.pipeline.start_deferral import MAX_BACKOFF_S, backoff_s

from tests.integration.handlers.conftest import Pipeline


def status(pipeline: Pipeline, vid: str) -> VideoStatus:
    video = pipeline.services.videos.get(vid)
    assert video is not None
    return video.status


def test_quota_refusal_waits_with_backoff_then_starts(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    pipeline.expect_start_error(JobKind.FACES, "LimitExceededException", "Concurrent job limit exceeded")
    [answer] = pipeline.deliver("ingest")
    assert answer is not None and len(answer["batchItemFailures"]) == 1
    # First receive: the quota backoff's base (60 s) with its jitter.
    assert len(pipeline.visibility_changes) == 1
    assert 48 <= pipeline.visibility_changes[0] <= 72
    assert status(pipeline, upload.video_id) is VideoStatus.QUEUED
    assert pipeline.services.slots.in_use() == 0  # the refused job gave its slot back
    assert pipeline.camera_counts("store-1", "cam-1") == {"QUEUED": 1}

    pipeline.redeliver("ingest")
    jobs = pipeline.expect_starts(upload)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert {k: j.job_id for k, j in video.jobs.items()} == jobs
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 1}


def test_throttled_second_start_retries_only_that_job(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    faces = pipeline.expect_start(upload, JobKind.FACES)
    pipeline.expect_start_error(JobKind.LABELS, "ThrottlingException", "Slow down")
    [answer] = pipeline.deliver("ingest")
    assert answer is not None and len(answer["batchItemFailures"]) == 1
    assert 8 <= pipeline.visibility_changes[0] <= 12  # throttling: a short backoff
    assert pipeline.services.slots.in_use() == 1  # the faces job runs in its slot

    pipeline.redeliver("ingest")
    labels = pipeline.expect_start(upload, JobKind.LABELS)  # and only labels is started again
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert {k: j.job_id for k, j in video.jobs.items()} == {JobKind.FACES: faces, JobKind.LABELS: labels}
    assert pipeline.services.slots.in_use() == 2


def test_a_full_set_of_job_slots_defers_without_calling_rekognition(
    make_pipeline: Callable[..., Pipeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting for DisplaySense's own cap is no failure: the event is queued again as a new,
    delayed message (its receive count starts over, so it never drifts to the dead-letter queue),
    and it is looked at again as soon as the delay is over, not after a doubling backoff."""
    monkeypatch.setattr(start_deferral, "SLOT_WAIT_S", 2)  # production: 20 s; SQS delays are real time here
    pipeline = make_pipeline(max_concurrent_jobs=2)
    first = pipeline.upload("uploads/store-1/cam-1/20261124T100000Z.mp4")
    second = pipeline.upload("uploads/store-1/cam-2/20261124T100000Z.mp4")
    jobs = pipeline.expect_starts(first)
    pipeline.notify(first)
    pipeline.deliver("ingest")
    pipeline.notify(second)  # nothing stubbed for it: a Start* call would fail the test
    [answer] = pipeline.deliver("ingest")
    assert answer == {"batchItemFailures": []}  # done: a delayed copy waits in the queue
    assert pipeline.visibility_changes == []
    assert status(pipeline, second.video_id) is VideoStatus.QUEUED
    assert pipeline.services.slots.in_use() == 2
    queued = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.ingest_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert queued["ApproximateNumberOfMessagesDelayed"] == "1"

    # Still full when it comes back: queued again, still nothing started.
    time.sleep(2.6)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]

    # The first video's jobs end (here: both fail, so no results to page through): slots free up.
    for kind in (JobKind.FACES, JobKind.LABELS):
        pipeline.complete(first, kind, jobs[kind], "FAILED", message="Unsupported codec")
    pipeline.deliver("completion")
    assert status(pipeline, first.video_id) is VideoStatus.FAILED
    assert pipeline.services.slots.in_use() == 0

    time.sleep(2.6)
    pipeline.expect_starts(second)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    assert status(pipeline, second.video_id) is VideoStatus.ANALYZING


def test_an_expired_slot_lease_frees_the_slot(
    make_pipeline: Callable[..., Pipeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A completion that never arrives must not keep a slot forever."""
    monkeypatch.setattr(start_deferral, "SLOT_WAIT_S", 2)
    pipeline = make_pipeline(max_concurrent_jobs=2)
    first = pipeline.upload("uploads/store-1/cam-1/20261124T100000Z.mp4")
    second = pipeline.upload("uploads/store-1/cam-2/20261124T100000Z.mp4")
    pipeline.expect_starts(first)
    pipeline.notify(first, second)
    [answer] = pipeline.deliver("ingest")
    assert answer == {"batchItemFailures": []}  # the second waits as a delayed copy
    pipeline.clock.advance(pipeline.services.slots.lease_s + 1)
    time.sleep(2.6)
    pipeline.expect_starts(second)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    assert status(pipeline, second.video_id) is VideoStatus.ANALYZING


@pytest.mark.parametrize(
    ("count", "quota", "low", "high"), [(1, True, 48, 72), (2, True, 96, 144), (3, False, 32, 48)]
)
def test_backoff_doubles_with_each_receive(count: int, quota: bool, low: int, high: int) -> None:
    assert all(low <= backoff_s(count, quota=quota) <= high for _ in range(50))


def test_backoff_is_capped() -> None:
    assert max(backoff_s(50, quota=True) for _ in range(50)) <= MAX_BACKOFF_S * 1.2
