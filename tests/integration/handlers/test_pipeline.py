"""Both handlers end to end: upload -> ingest -> Rekognition (stubbed) -> completions -> metrics."""

from __future__ import annotations

import json
from collections.abc import Callable

from displaysense.domain.video import JobKind, VideoStatus

from tests.integration.handlers.checks import assert_clean_run
from tests.integration.handlers.conftest import Pipeline, Scene


def test_happy_path_end_to_end(pipeline: Pipeline, scene: Scene) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)

    [answer] = pipeline.deliver("ingest")
    assert answer == {"batchItemFailures": []}
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None
    assert video.status is VideoStatus.ANALYZING
    assert (video.store, video.camera, video.recorded_at) == ("store-1", "cam-1", "2026-11-24T11:58:30Z")
    assert {k: j.job_id for k, j in video.jobs.items()} == jobs
    assert pipeline.services.slots.in_use() == 2
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 1}

    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    answers = pipeline.deliver("completion")
    assert all(a == {"batchItemFailures": []} for a in answers)

    assert_clean_run(pipeline, upload, scene)
    assert pipeline.camera_counts("store-1", "cam-1") == {"SUCCEEDED": 1}
    [camera] = pipeline.services.cameras.list_cameras()
    assert (camera.first_recorded_at, camera.last_recorded_at) == ("2026-11-24T11:58:30Z",) * 2
    # Retention is 7 days by default: the footage stays.
    versions = pipeline.s3.list_object_versions(Bucket="displaysense-data", Prefix="uploads/")
    assert [v["VersionId"] for v in versions["Versions"]] == [upload.version_id]
    # The archived pages are the raw Get* answers.
    first = pipeline.services.archive.get_page(upload.video_id, JobKind.LABELS, 0)
    assert first["Labels"] == scene.labels[0]["Labels"]
    assert json.loads(json.dumps(first["VideoMetadata"])) == scene.labels[0]["VideoMetadata"]


def test_faces_only_mode_starts_and_pages_one_job(
    make_pipeline: Callable[..., Pipeline], scene: Scene
) -> None:
    pipeline = make_pipeline(faces_only=True)
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload, kinds=(JobKind.FACES,))
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and list(video.jobs) == [JobKind.FACES]
    assert pipeline.services.slots.in_use() == 1

    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    assert_clean_run(pipeline, upload, scene, faces_only=True)


def test_retention_zero_deletes_the_analysed_version(
    make_pipeline: Callable[..., Pipeline], scene: Scene
) -> None:
    pipeline = make_pipeline(footage_retention_days=0)
    upload = pipeline.upload()
    newer = pipeline.upload()  # a later version of the same key is another video: it stays
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.deliver("completion")
    assert_clean_run(pipeline, upload, scene)
    versions = pipeline.s3.list_object_versions(Bucket="displaysense-data", Prefix="uploads/")
    assert [v["VersionId"] for v in versions["Versions"]] == [newer.version_id]
