"""Duplicates and disorder change nothing: every delivery twice, completions reversed or early."""

from __future__ import annotations

from displaysense.adapters import video_records
from displaysense.domain.video import JobKind, VideoStatus
from displaysense.domain.video_ids import client_request_token

from tests.integration.handlers.checks import assert_clean_run
from tests.integration.handlers.conftest import LambdaCrash, Pipeline, Scene
from tests.support import aws_events


def test_every_delivery_twice_starts_each_job_once_and_counts_once(pipeline: Pipeline, scene: Scene) -> None:
    upload = pipeline.upload()
    # S3 delivers the event twice, and one of the messages carries the record twice.
    pipeline.notify(upload)
    pipeline.notify(body=aws_events.s3_event(pipeline.record(upload), pipeline.record(upload)))
    jobs = pipeline.expect_starts(upload)  # once each: a second Start* would find no stubbed answer
    answers = pipeline.deliver("ingest")
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 1}
    assert pipeline.services.slots.in_use() == 2

    # Each completion arrives twice; Get* pages are stubbed once, so a second aggregation would fail.
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    for _ in range(2):
        pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
        pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    answers = pipeline.deliver("completion")
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert_clean_run(pipeline, upload, scene)
    assert pipeline.camera_counts("store-1", "cam-1") == {"SUCCEEDED": 1}

    # The same object version delivered again, and a late duplicate completion, after the
    # analysis: nothing is started, counted or even touched.
    before = pipeline.items(f"VIDEO#{upload.video_id}")
    pipeline.notify(upload)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    assert pipeline.items(f"VIDEO#{upload.video_id}") == before
    assert pipeline.camera_counts("store-1", "cam-1") == {"SUCCEEDED": 1}


def test_a_new_version_of_the_same_key_is_a_new_video(pipeline: Pipeline) -> None:
    first = pipeline.upload()
    second = pipeline.upload()  # same key, new object version
    assert first.video_id != second.video_id
    pipeline.notify(first, second)  # one message, two records
    pipeline.expect_starts(first)
    pipeline.expect_starts(second)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 2}
    assert client_request_token(first.video_id, JobKind.FACES) != client_request_token(
        second.video_id, JobKind.FACES
    )


def test_completions_reversed_and_in_the_other_api_spelling(pipeline: Pipeline, scene: Scene) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")

    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES], api_style="LABEL_DETECTION")
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert video.jobs[JobKind.FACES].status == "SUCCEEDED"
    assert video.jobs[JobKind.LABELS].status == "IN_PROGRESS"
    assert pipeline.services.slots.in_use() == 1  # the faces job's slot is free already

    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS], api_style="LABEL_DETECTION")
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    assert_clean_run(pipeline, upload, scene)


def crash_before_recording_labels(pipeline: Pipeline) -> None:
    """Ingest starts both jobs and dies before recording the second one (labels)."""
    original = pipeline.services.job_records.record_job_started

    def die(vid: str, kind: JobKind, job_id: str) -> object:
        if kind is JobKind.LABELS:
            raise LambdaCrash
        return original(vid, kind, job_id)

    pipeline.services.job_records.record_job_started = die  # type: ignore[method-assign,assignment]
    assert pipeline.deliver("ingest") == [None]
    pipeline.services.job_records.record_job_started = original  # type: ignore[method-assign]
    video = pipeline.services.videos.get(pipeline_upload_id(pipeline))
    assert video is not None and video.status is VideoStatus.QUEUED
    assert video.jobs[JobKind.LABELS].job_id == ""


def pipeline_upload_id(pipeline: Pipeline) -> str:
    return pipeline.services.listing.list_videos(
        store="store-1", camera=None, status=None, start=None, end=None, limit=1, cursor=None
    )[0][0].video_id


def test_a_retried_start_returns_the_same_job_and_takes_no_second_slot(
    pipeline: Pipeline, scene: Scene
) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    crash_before_recording_labels(pipeline)
    assert pipeline.services.slots.in_use() == 2

    # The message returns; Start* with the same token answers with the job already running.
    pipeline.expect_start(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.redeliver("ingest")
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert {k: j.job_id for k, j in video.jobs.items()} == jobs
    assert pipeline.services.slots.in_use() == 2
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 1}

    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.deliver("completion")
    assert_clean_run(pipeline, upload, scene)


def test_completions_before_the_ingest_retry(pipeline: Pipeline, scene: Scene) -> None:
    """Both completions arrive while the crashed ingest message still waits for its retry: the
    completion names the job, so the video is analysed; the retry then finds it final."""
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    crash_before_recording_labels(pipeline)

    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    answers = pipeline.deliver("completion")
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert_clean_run(pipeline, upload, scene)

    pipeline.redeliver("ingest")
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]  # no Start*: nothing stubbed
    assert_clean_run(pipeline, upload, scene)
    assert pipeline.camera_counts("store-1", "cam-1") == {"SUCCEEDED": 1}


def test_a_crash_while_registering_is_repaired_by_the_retry(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    original = video_records.transact_or_conditional

    def die(*_: object) -> bool:
        raise LambdaCrash

    video_records.transact_or_conditional = die  # type: ignore[assignment]
    assert pipeline.deliver("ingest") == [None]
    video_records.transact_or_conditional = original
    assert pipeline.services.videos.get(upload.video_id) is None

    pipeline.redeliver("ingest")
    pipeline.expect_starts(upload)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    [camera] = pipeline.services.cameras.list_cameras()
    assert camera.counts["ANALYZING"] == 1 and sum(camera.counts.values()) == 1
    assert (camera.first_recorded_at, camera.last_recorded_at) == ("2026-11-24T11:58:30Z",) * 2
