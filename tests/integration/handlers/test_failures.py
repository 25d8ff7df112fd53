"""Jobs Rekognition fails, and starts it refuses: the video says why, and only a fault of the file
(or footage that is gone) is final."""

from __future__ import annotations

from typing import Any

import pytest
from displaysense.domain.video import JobKind, VideoStatus
from displaysense.pipeline import result_paging

from tests.integration.handlers.checks import assert_clean_run
from tests.integration.handlers.conftest import BUCKET, Pipeline, Scene


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
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None
    assert video.status is VideoStatus.FAILED
    assert video.reason is not None and "Unsupported codec: hevc" in video.reason
    assert video.jobs[JobKind.LABELS].status == "FAILED"
    assert video.jobs[JobKind.LABELS].message == "Unsupported codec: hevc"
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}

    # The other job still succeeds later: its slot is freed, nothing is paged, the video stays FAILED.
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
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
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and "ERROR: Internal error" in video.reason
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}


def test_a_file_too_large_for_rekognition_is_rejected(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    pipeline.expect_start_error(
        JobKind.FACES,
        "VideoTooLargeException",
        "The file size or duration of the supplied media is too large.",
    )
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.REJECTED
    assert video.reason is not None
    assert video.reason.startswith(
        "Rekognition cannot analyse this file: The file size or duration of the supplied media is too large."
    )
    assert "split the recording" in video.reason
    assert pipeline.services.slots.in_use() == 0
    assert pipeline.camera_counts("store-1", "cam-1") == {"REJECTED": 1}


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        # IAM right after a deployment: the role's new permissions are not everywhere yet.
        ("AccessDeniedException", "not authorized to perform iam:PassRole", "may not call Rekognition"),
        # Rekognition cannot read the object: a permission, KMS or region problem, not the file.
        ("InvalidS3ObjectException", "Unable to get object metadata from S3.", "s3:GetObjectVersion"),
        ("InvalidParameterException", "Request has invalid parameters", "DS_REKOGNITION_ROLE_ARN"),
        ("IdempotentParameterMismatchException", "", "client request token"),
        ("SomeFutureException", "new in 2027", "does not know"),
    ],
)
def test_a_refused_start_waits_queued_with_the_reason_then_starts(
    pipeline: Pipeline, code: str, message: str, hint: str
) -> None:
    """The footage is not at fault: nothing is final, the video says why it waits, the message
    comes back with a growing backoff (counting towards the dead-letter queue), and once the cause
    is fixed the video starts as if nothing happened."""
    upload = pipeline.upload()
    pipeline.notify(upload)
    for receive in (1, 2):
        pipeline.expect_start_error(JobKind.FACES, code, message)
        [answer] = pipeline.deliver("ingest")
        assert answer is not None and len(answer["batchItemFailures"]) == 1
        video = pipeline.services.videos.get(upload.video_id)
        assert video is not None and video.status is VideoStatus.QUEUED
        assert video.reason is not None and video.reason.startswith("Not started yet: Rekognition refused")
        assert code in video.reason and hint in video.reason
        assert pipeline.services.slots.in_use() == 0
        assert pipeline.camera_counts("store-1", "cam-1") == {"QUEUED": 1}
        # The throttling backoff (10 s doubling with the receive count, +-20 %).
        assert 8 * receive <= pipeline.visibility_changes[-1] <= 12 * receive
        pipeline.redeliver("ingest")

    jobs = pipeline.expect_starts(upload)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert video.reason is None  # the wait is over: nothing left to explain
    assert {k: j.job_id for k, j in video.jobs.items()} == jobs
    assert pipeline.camera_counts("store-1", "cam-1") == {"ANALYZING": 1}


def test_footage_deleted_before_rekognition_read_it_fails_the_video(pipeline: Pipeline) -> None:
    """The one refusal no retry can cure: the object version is gone (deleted by hand, or expired by
    the lifecycle rule while the video waited for the quota)."""
    upload = pipeline.upload()
    pipeline.notify(upload)
    pipeline.expect_start_error(JobKind.FACES, "LimitExceededException", "Concurrent job limit exceeded")
    pipeline.deliver("ingest")  # registered, waiting for the quota
    pipeline.s3.delete_object(Bucket=BUCKET, Key=upload.key, VersionId=upload.version_id)

    pipeline.redeliver("ingest")
    pipeline.expect_start_error(
        JobKind.FACES, "InvalidS3ObjectException", "Unable to get object metadata from S3."
    )
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and "deleted before Rekognition could read it" in video.reason
    assert pipeline.services.slots.in_use() == 0
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}


def analyzing_with_both_completions(pipeline: Pipeline) -> tuple[Any, dict[JobKind, str]]:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    return upload, jobs


def test_a_refused_get_is_retried_not_final(pipeline: Pipeline, scene: Scene) -> None:
    """AccessDenied on Get* (an IAM change not applied yet): the completion fails its item and comes
    back; the video stays ANALYZING, and the retry finishes it with a clean run's numbers."""
    upload, jobs = analyzing_with_both_completions(pipeline)
    pipeline.stubber.add_client_error(
        "get_face_detection",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform rekognition:GetFaceDetection",
    )
    [answer] = pipeline.deliver("completion")
    assert answer is not None and len(answer["batchItemFailures"]) == 1
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    claim = pipeline.services.claims.get(upload.video_id)
    assert claim is not None and claim.owner == ""  # released: the retry need not wait for the lease

    pipeline.redeliver("completion")
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    assert all(a == {"batchItemFailures": []} for a in pipeline.deliver("completion"))
    assert_clean_run(pipeline, upload, scene)


def test_page_tokens_refused_after_every_restart_fail_the_video(pipeline: Pipeline) -> None:
    upload, _ = analyzing_with_both_completions(pipeline)
    for _ in range(result_paging.MAX_PAGING_RESTARTS + 1):
        pipeline.stubber.add_client_error(
            "get_face_detection",
            service_error_code="InvalidPaginationTokenException",
            service_message="Invalid Token",
        )
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason == (
        "Rekognition kept refusing the page token of the faces job (InvalidPaginationTokenException: "
        f"Invalid Token) after {result_paging.MAX_PAGING_RESTARTS} restarts from its first page: "
        "upload the recording again"
    )
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}
