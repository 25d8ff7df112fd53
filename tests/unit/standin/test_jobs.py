"""The job store's rules, with stand-ins for S3 and SNS (no network, no footage)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from displaysense_local.rekognition.analysis import (
    FrameObservation,
    PersonObservation,
    RatioBox,
    VideoAnalysis,
)
from displaysense_local.rekognition.errors import (
    IdempotentParameterMismatchError,
    InvalidParameterError,
    InvalidS3ObjectError,
    LimitExceededError,
    ResourceNotFoundError,
    VideoTooLargeError,
)
from displaysense_local.rekognition.jobs import FACES, LABELS, TOKEN_TTL_S, JobStore, StandInSettings
from displaysense_local.rekognition.video import VideoMetadata

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


OBJECTS = {"uploads/s/c/clip.mp4": 1000, "uploads/s/c/other.mp4": 2000, "uploads/s/c/huge.mp4": 11 * 1024**3}


def _store(tmp_path: Path, analyse: Any = None, **settings: Any) -> tuple[JobStore, FakeSns, Clock]:
    sns, clock = FakeSns(), Clock()
    store = JobStore(tmp_path, StandInSettings(**settings), FakeS3(OBJECTS), sns, clock, analyse)
    return store, sns, clock


def _video(name: str) -> dict[str, Any]:
    return {"Video": {"S3Object": {"Bucket": "b", "Name": name}}}


class GatedAnalysis:
    """A stand-in for the frame analysis: runs until released, and records how many run at once."""

    def __init__(self, released: bool = False) -> None:
        self.release = threading.Event()
        if released:
            self.release.set()
        self.calls: list[str] = []
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(
        self, footage: Path, check_stop: Callable[[float], None]
    ) -> tuple[VideoAnalysis, VideoMetadata]:
        with self._lock:
            self.calls.append(footage.name)
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            while not self.release.wait(0.01):
                check_stop(0.0)  # raises when the store stops, as the real analysis does per frame
        finally:
            with self._lock:
                self.running -= 1
        person = PersonObservation(RatioBox(0.2, 0.6, 0.1, 0.3), 90.0)
        analysis = VideoAnalysis(5.0, 640, 360, [FrameObservation(0, [person], [])], 30, 0.1)
        return analysis, VideoMetadata("h264", "QuickTime / MOV", 1000, 30.0, 640, 360)

    def wait_running(self, count: int, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.running >= count:
                    return True
            time.sleep(0.01)
        return False


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


def test_two_videos_are_analysed_at_once_on_two_workers(tmp_path: Path) -> None:
    analysis = GatedAnalysis()
    store, sns, _ = _store(tmp_path, analysis, workers=2)
    channel = {"NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE}}
    # As ingest starts them: the label job of a video, then its face job, then the next video.
    jobs = [
        (store.start(api, {**_video(name), **channel}), api)
        for name in ("uploads/s/c/clip.mp4", "uploads/s/c/other.mp4")
        for api in (LABELS, FACES)
    ]
    both_running = analysis.wait_running(2)
    analysis.release.set()
    for job_id, api in jobs:
        _wait_done(store, job_id, api)
    store.shutdown()
    # The face job of a video waits for its label job's analysis without holding a worker.
    assert both_running and analysis.peak == 2
    assert len(analysis.calls) == 2  # one analysis per video, shared by its two jobs
    assert all(store.get(job_id, api).status == "SUCCEEDED" for job_id, api in jobs)
    assert sorted(m["JobId"] for m in sns.messages) == sorted(job_id for job_id, _ in jobs)
    label_results = store.detections(store.get(jobs[0][0], LABELS))
    assert [d["Timestamp"] for d in label_results] == [0]


def test_a_stop_leaves_both_jobs_of_a_video_to_resume_on_one_analysis(tmp_path: Path) -> None:
    analysis = GatedAnalysis()
    store, _, _ = _store(tmp_path, analysis, workers=2)
    label = store.start(LABELS, VIDEO)
    face = store.start(FACES, VIDEO)
    assert analysis.wait_running(1)
    store.shutdown()  # interrupts the analysis: both jobs stay unfinished on disk
    for job_id in (label, face):
        assert json.loads((tmp_path / "jobs" / f"{job_id}.json").read_text())["status"] == "IN_PROGRESS"
    assert not list((tmp_path / "analyses").iterdir()) and not list((tmp_path / "results").iterdir())

    resumed = GatedAnalysis(released=True)
    again, _, _ = _store(tmp_path, resumed, workers=2)
    _wait_done(again, label, LABELS)
    _wait_done(again, face, FACES)
    again.shutdown()
    assert again.get(label, LABELS).status == again.get(face, FACES).status == "SUCCEEDED"
    assert len(resumed.calls) == 1


def _job_file(tmp_path: Path, job: dict[str, Any], job_id: str, created_at: float) -> None:
    job = {**job, "job_id": job_id, "created_at": created_at, "completed_at": created_at + 60}
    (tmp_path / "jobs" / f"{job_id}.json").write_text(json.dumps(job))


@pytest.mark.parametrize("newer_first", [True, False])
def test_after_a_restart_a_reused_token_names_its_newest_job(tmp_path: Path, newer_first: bool) -> None:
    # A token reused after its 7 days names two jobs on disk; which file is read last must not matter.
    channel = {"SNSTopicArn": TOPIC, "RoleArn": ROLE}
    request = {**VIDEO, "ClientRequestToken": "t-1", "NotificationChannel": channel}
    first, _, clock = _store(tmp_path / "first", GatedAnalysis(released=True))
    template_id = first.start(LABELS, request)
    _wait_done(first, template_id, LABELS)
    first.shutdown()
    template = json.loads((tmp_path / "first" / "jobs" / f"{template_id}.json").read_text())
    newer, older = ("0" * 64, "f" * 64) if newer_first else ("f" * 64, "0" * 64)
    (tmp_path / "jobs").mkdir()
    _job_file(tmp_path, template, older, clock.now - TOKEN_TTL_S - 3600)
    _job_file(tmp_path, template, newer, clock.now - 3600)
    store, sns, _ = _store(tmp_path)
    assert store.start(LABELS, request) == newer  # no third job
    store.shutdown()
    assert sorted(p.stem for p in (tmp_path / "jobs").glob("*.json")) == sorted([older, newer])
    assert sns.messages == []  # and no second completion message


class SlowHeadS3(FakeS3):
    """HEAD of the first two requests returns only once both are being asked at the same time."""

    def __init__(self, sizes: dict[str, int]) -> None:
        super().__init__(sizes)
        self.together = threading.Barrier(2, timeout=10)
        self.heads = 0
        self._lock = threading.Lock()

    def head_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.heads += 1
            first_two = self.heads <= 2
        if first_two:
            self.together.wait()
        return super().head_object(Bucket, Key, **kwargs)


def test_s3_is_asked_outside_the_lock_and_one_token_still_makes_one_job(tmp_path: Path) -> None:
    s3 = SlowHeadS3(OBJECTS)
    store = JobStore(tmp_path, StandInSettings(), s3, FakeSns(), Clock(), GatedAnalysis(released=True))
    request = {**VIDEO, "ClientRequestToken": "same"}
    answers: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            answers.append(store.start(LABELS, request))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    store.shutdown()
    # Both HEADs ran at once (the barrier let them through), and the token still named one job.
    assert errors == [] and len(answers) == 2 and answers[0] == answers[1]
    assert len(list((tmp_path / "jobs").glob("*.json"))) == 1
