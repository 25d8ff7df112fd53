"""Poison messages (unreadable, wrong shape, or valid JSON of the wrong kind) fail their own item,
so SQS moves them to the dead-letter queue after maxReceiveCount receives; the other messages of the
batch go on. (They used to be logged and deleted: gone, with no alarm.)"""

from __future__ import annotations

import json
from typing import Any

from displaysense.domain.video import JobKind, VideoStatus

from tests.integration.handlers.conftest import Pipeline
from tests.support import aws_events

ELSEWHERE = "uploads/store-1/cam-9/20261124T115830Z.mp4"
INGEST_POISON = (
    "not json",
    "[]",
    json.dumps({"Records": ELSEWHERE}),
    json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}}]}),
    json.dumps({"Records": ["ObjectCreated:Put"]}),
    aws_events.sns_envelope(
        aws_events.rekognition_completion(
            job_id="0" * 64,
            status="SUCCEEDED",
            api="StartLabelDetection",
            job_tag="a" * 32,
            bucket="b",
            key=ELSEWHERE,
        ),
        "arn:aws:sns:us-east-1:123456789012:completion",
    ),
)
COMPLETION_POISON = (
    '{"JobId": "trunc',
    "42",
    json.dumps({"Type": "Notification", "Message": "not json"}),
    json.dumps({"type": "displaysense.results.continue"}),
    aws_events.s3_event(aws_events.s3_record(bucket="b", key=ELSEWHERE, size=1, version_id=None, etag="e")),
)


def failed_bodies(pipeline: Pipeline, queue: str, answers: list[dict[str, Any] | None]) -> list[str]:
    failed = {f["itemIdentifier"] for a in answers if a for f in a["batchItemFailures"]}
    url = pipeline.ingest_url if queue == "ingest" else pipeline.completion_url
    pipeline.redeliver(queue)
    bodies = [
        m["Body"]
        for m in pipeline.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if m["MessageId"] in failed
    ]
    return sorted(bodies)


def test_unreadable_ingest_messages_fail_and_the_good_one_goes_on(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.expect_starts(upload)
    for body in INGEST_POISON[:3]:
        pipeline.notify(body=body)
    pipeline.notify(upload)
    for body in INGEST_POISON[3:]:
        pipeline.notify(body=body)
    answers = pipeline.deliver("ingest")
    assert failed_bodies(pipeline, "ingest", answers) == sorted(INGEST_POISON)
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING


def test_a_good_record_beside_a_malformed_one_is_ingested_and_the_message_still_fails(
    pipeline: Pipeline,
) -> None:
    upload = pipeline.upload()
    pipeline.expect_starts(upload)
    body = json.dumps(
        {"Records": [json.loads(aws_events.s3_event(pipeline.record(upload)))["Records"][0], 7]}
    )
    pipeline.notify(body=body)
    assert failed_bodies(pipeline, "ingest", pipeline.deliver("ingest")) == [body]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING


def test_unreadable_completion_messages_fail_and_the_good_one_goes_on(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    for body in COMPLETION_POISON:
        pipeline.sqs.send_message(QueueUrl=pipeline.completion_url, MessageBody=body)
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS], "FAILED", message="Unsupported codec")
    answers = pipeline.deliver("completion")
    assert failed_bodies(pipeline, "completion", answers) == sorted(COMPLETION_POISON)
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
