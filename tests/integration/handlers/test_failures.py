"""Jobs Rekognition fails, and starts it refuses for good: the video says why."""

from __future__ import annotations

from displaysense.domain.video import JobKind, VideoStatus

from tests.integration.handlers.conftest import Pipeline


def test_a_failed_job_fails_the_video_with_rekognitions_message(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")

    # The completion message carries no reason; one Get* call after the end fetches it.
    pipeline.stubber.add_response(
        "get_label_detection",
        {"JobStatus": "FAILED", "StatusMessage": "Unsupported codec: hevc", "Labels": []},
        {"JobId": jobs[JobKind.LABELS], "MaxResults": 1},
    )
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS], "FAILED")
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.registry.get(upload.video_id)
    assert video is not None
    assert video.status is VideoStatus.FAILED
    assert video.reason is not None and "Unsupported codec: hevc" in video.reason
    assert video.jobs[JobKind.LABELS].status == "FAILED"
    assert video.jobs[JobKind.LABELS].message == "Unsupported codec: hevc"
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}

    # The other job still succeeds later: its slot is freed, nothing is paged, the video stays FAILED.
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.registry.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert pipeline.services.slots.in_use() == 0
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}
    assert pipeline.archived(upload.video_id, JobKind.FACES) == []


def test_an_error_status_with_a_message_needs_no_get_call(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES], "ERROR", message="Internal error")
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES], "ERROR", message="Internal error")
    pipeline.deliver("completion")
    video = pipeline.services.registry.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and "ERROR: Internal error" in video.reason
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}


def test_rekognition_refusing_the_file_rejects_it(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    pipeline.expect_start_error(
        JobKind.FACES, "InvalidS3ObjectException", "Unable to get object metadata from S3."
    )
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.registry.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.REJECTED
    assert video.reason == "Rekognition cannot analyse this file: Unable to get object metadata from S3."
    assert pipeline.services.slots.in_use() == 0
    assert pipeline.camera_counts("store-1", "cam-1") == {"REJECTED": 1}


def test_a_permanent_start_error_fails_the_video(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    pipeline.expect_start_error(
        JobKind.FACES, "AccessDeniedException", "not authorized to perform iam:PassRole"
    )
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.registry.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and "AccessDeniedException" in video.reason
    assert pipeline.services.slots.in_use() == 0
