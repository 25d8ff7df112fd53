"""A failed job's message read while Rekognition throttles: the completion is retried until the
message can be read, and only its last receive gives up on it. (The video used to become FAILED with
"no message given" for good whenever that one Get* call was throttled.)"""

from __future__ import annotations

import pytest
from displaysense.domain.video import JobKind, VideoStatus
from displaysense.resources import COMPLETION_QUEUE

from tests.integration.handlers.conftest import Pipeline, Upload


def failed_labels_job(pipeline: Pipeline) -> tuple[Upload, str]:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS], "FAILED")
    return upload, jobs[JobKind.LABELS]


def throttle_message_read(pipeline: Pipeline, code: str = "ThrottlingException", status: int = 500) -> None:
    # Botocore's retry is behind the Stubber: one stubbed error is a call that failed after it.
    pipeline.stubber.add_client_error("get_label_detection", service_error_code=code, http_status_code=status)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 500),
        # Refused right after a deployment (IAM not applied yet): the message exists all the same.
        ("AccessDeniedException", 400),
    ],
)
def test_a_throttled_message_read_retries_the_completion(pipeline: Pipeline, code: str, status: int) -> None:
    upload, job_id = failed_labels_job(pipeline)
    throttle_message_read(pipeline, code, status)
    [answer] = pipeline.deliver("completion")
    assert answer is not None and len(answer["batchItemFailures"]) == 1
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert video.jobs[JobKind.LABELS].status != "FAILED"  # nothing recorded without the message

    pipeline.redeliver("completion")
    pipeline.stubber.add_response(
        "get_label_detection",
        {"JobStatus": "FAILED", "StatusMessage": "Unsupported codec/format.", "Labels": []},
        {"JobId": job_id, "MaxResults": 1},
    )
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and video.reason.endswith("ended FAILED: Unsupported codec/format.")
    assert video.jobs[JobKind.LABELS].message == "Unsupported codec/format."
    assert pipeline.services.slots.in_use() == 1  # the faces job still runs


def test_the_last_receive_fails_the_video_without_the_message(pipeline: Pipeline) -> None:
    upload, _ = failed_labels_job(pipeline)
    for _ in range(COMPLETION_QUEUE.max_receive_count - 1):
        throttle_message_read(pipeline)
        [answer] = pipeline.deliver("completion")
        assert answer is not None and len(answer["batchItemFailures"]) == 1
        pipeline.redeliver("completion")
    throttle_message_read(pipeline)
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason is not None and video.reason.endswith("ended FAILED: no message given")
