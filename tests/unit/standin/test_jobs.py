"""The job store's rules, with stand-ins for S3 and SNS (no network, no footage)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from displaysense_local.rekognition.errors import (
    IdempotentParameterMismatchError,
    InvalidParameterError,
    InvalidS3ObjectError,
    LimitExceededError,
    ResourceNotFoundError,
    VideoTooLargeError,
)
from displaysense_local.rekognition.jobs import FACES, LABELS, TOKEN_TTL_S, JobStore, StandInSettings

VIDEO = {"Video": {"S3Object": {"Bucket": "b", "Name": "uploads/s/c/clip.mp4"}}}
TOPIC = "arn:aws:sns:us-east-1:123456789012:done"
ROLE = "arn:aws:iam::123456789012:role/publish"


class FakeS3:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        if Key not in self.sizes:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"ContentLength": self.sizes[Key], "ETag": '"abc"'}

    def download_file(self, bucket: str, key: str, target: str, ExtraArgs: Any = None) -> None:
        Path(target).write_bytes(b"this is not a video")


class FakeSns:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, TopicArn: str, Message: str) -> dict[str, str]:
        self.messages.append({"topic": TopicArn, **json.loads(Message)})
        return {"MessageId": "1"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _store(tmp_path: Path, **settings: Any) -> tuple[JobStore, FakeSns, Clock]:
    sns, clock = FakeSns(), Clock()
    s3 = FakeS3({"uploads/s/c/clip.mp4": 1000, "uploads/s/c/huge.mp4": 11 * 1024**3})
    return JobStore(tmp_path, StandInSettings(**settings), s3, sns, clock), sns, clock


def _wait_done(store: JobStore, job_id: str, api: str) -> None:
    deadline = time.monotonic() + 10
    while store.get(job_id, api).status == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"Video": {"S3Object": {"Bucket": "b"}}},
        {**VIDEO, "ClientRequestToken": "has space"},
        {**VIDEO, "ClientRequestToken": "x" * 65},
        {**VIDEO, "JobTag": "tag with spaces"},
        {**VIDEO, "NotificationChannel": {"SNSTopicArn": "not-an-arn", "RoleArn": ROLE}},
        {**VIDEO, "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": "role"}},
        {**VIDEO, "MinConfidence": 101},
        {**VIDEO, "MinConfidence": "high"},
        {**VIDEO, "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"]},
    ],
)
def test_bad_label_requests(tmp_path: Path, request_: dict[str, Any]) -> None:
    store, _, _ = _store(tmp_path)
    with pytest.raises(InvalidParameterError):
        store.start(LABELS, request_)
    store.shutdown()


def test_a_valid_request_is_accepted(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path)
    request = {**VIDEO, "MinConfidence": 70, "JobTag": "video:1/a=b", "Features": ["GENERAL_LABELS"]}
    job_id = store.start(LABELS, {**request, "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE}})
    assert store.get(job_id, LABELS).min_confidence == 70
    store.shutdown()


def test_bad_face_attributes(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path)
    with pytest.raises(InvalidParameterError):
        store.start(FACES, {**VIDEO, "FaceAttributes": "SOME"})
    store.shutdown()


def test_missing_and_oversized_objects(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path)
    with pytest.raises(InvalidS3ObjectError):
        store.start(LABELS, {"Video": {"S3Object": {"Bucket": "b", "Name": "nope.mp4"}}})
    with pytest.raises(VideoTooLargeError):
        store.start(LABELS, {"Video": {"S3Object": {"Bucket": "b", "Name": "uploads/s/c/huge.mp4"}}})
    store.shutdown()


def test_unknown_jobs(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path)
    with pytest.raises(ResourceNotFoundError):
        store.get("a" * 64, LABELS)
    with pytest.raises(InvalidParameterError):
        store.get("not valid!", LABELS)
    store.shutdown()


def test_tokens_and_their_lifetime(tmp_path: Path) -> None:
    store, sns, clock = _store(tmp_path)
    request = {
        **VIDEO,
        "ClientRequestToken": "t-1",
        "JobTag": "v1",
        "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
    }
    first = store.start(LABELS, request)
    assert store.start(LABELS, request) == first
    # The same token names a different job per operation, as in Rekognition.
    assert store.start(FACES, request) != first
    with pytest.raises(IdempotentParameterMismatchError):
        store.start(LABELS, {**request, "JobTag": "v2"})
    _wait_done(store, first, LABELS)
    clock.now += TOKEN_TTL_S + 1
    assert store.start(LABELS, request) != first  # an expired token starts a new job
    store.shutdown()
    # Not a video: the job failed with Rekognition's message, announced once.
    assert store.get(first, LABELS).status_message == "Unsupported codec/format."
    assert [m["Status"] for m in sns.messages if m["JobId"] == first] == ["FAILED"]
    assert next(m for m in sns.messages if m["JobId"] == first)["API"] == "StartLabelDetection"


def test_concurrent_job_limit(tmp_path: Path) -> None:
    store, _, _ = _store(tmp_path, max_concurrent_jobs=0)
    with pytest.raises(LimitExceededError):
        store.start(LABELS, VIDEO)
    store.shutdown()
