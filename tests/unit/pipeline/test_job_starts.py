"""Starting a video's jobs on plain fakes of the ports: what waits, what is released, what ends."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from displaysense.domain.job_errors import BadInputError, ConfigurationError, RetryLaterError
from displaysense.domain.video import Footage, Job, JobKind, Transition, Video, VideoStatus
from displaysense.pipeline.job_starts import StartDeferredError, start_jobs
from displaysense.pipeline.ports import IngestPorts, ObjectHead
from displaysense.pipeline.start_deferral import SLOT_WAIT_S, defer


def video() -> Video:
    return Video(
        video_id="a" * 32,
        store="store-1",
        camera="cam-1",
        bucket="b",
        key="uploads/store-1/cam-1/20261124T140000Z.mp4",
        version_id="v1",
        size=10,
        recorded_at="2026-11-24T14:00:00Z",
        status=VideoStatus.QUEUED,
        created_at="2026-11-24T14:00:01.000Z",
        updated_at="2026-11-24T14:00:01.000Z",
        jobs={kind: Job(kind, "", "PENDING") for kind in (JobKind.FACES, JobKind.LABELS)},
    )


@dataclass
class Videos:
    current: Video = field(default_factory=video)

    def get(self, video_id: str) -> Video | None:
        return self.current

    def register(self, *_: Any, **__: Any) -> tuple[Video, bool]:
        raise AssertionError("not used")

    def transition(
        self,
        video_id: str,
        to: VideoStatus,
        *,
        allowed_from: Collection[VideoStatus],
        reason: str | None = None,
        owner: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Transition:
        if self.current.status not in allowed_from:
            return Transition(self.current, False)
        self.current.status, self.current.reason = to, reason
        return Transition(self.current, True)

    def footage(self, video_id: str) -> Footage | None:
        return None

    def mark_footage_deleted(self, video_id: str) -> None:
        raise AssertionError("not used")


@dataclass
class Jobs:
    started: dict[JobKind, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)

    def note_waiting(self, video_id: str, reason: str) -> bool:
        self.waiting.append(reason)
        return True

    def record_job_started(self, video_id: str, kind: JobKind, job_id: str) -> Video | None:
        self.started[kind] = job_id
        return video()

    def record_job_end(self, *_: Any, **__: Any) -> Video | None:
        raise AssertionError("not used")


@dataclass
class Slots:
    capacity: int = 2
    held: set[str] = field(default_factory=set)

    def acquire(self, holder: str) -> int | None:
        if holder not in self.held and len(self.held) >= self.capacity:
            return None
        self.held.add(holder)
        return len(self.held) - 1

    def release(self, holder: str) -> bool:
        found = holder in self.held
        self.held.discard(holder)
        return found


@dataclass
class Rekognition:
    refusals: dict[JobKind, Exception] = field(default_factory=dict)

    def start(self, kind: JobKind, **_: Any) -> str:
        if kind in self.refusals:
            raise self.refusals[kind]
        return f"job-{kind.value}"

    def get_page(self, *_: Any) -> dict[str, Any]:
        raise AssertionError("not used")

    def failure_message(self, *_: Any) -> str | None:
        raise AssertionError("not used")


@dataclass
class FootageStorage:
    exists: bool = True

    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectHead | None:
        return ObjectHead(size=10, version_id=version_id, etag="e") if self.exists else None

    def first_bytes(self, *_: Any) -> bytes:
        raise AssertionError("not used")

    def delete(self, footage: Footage) -> None:
        raise AssertionError("not used")


class Plenty:
    def remaining_ms(self) -> int:
        return 900_000

    def used_ms(self) -> int:
        return 0

    def allows(self, reserve_ms: int) -> bool:
        return True


def ports(**parts: Any) -> IngestPorts:
    defaults: dict[str, Any] = {
        "videos": Videos(),
        "jobs": Jobs(),
        "slots": Slots(),
        "rekognition": Rekognition(),
        "footage": FootageStorage(),
        "clock": lambda: 0.0,
    }
    return IngestPorts(**{**defaults, **parts})


def test_both_jobs_start_in_slots_then_the_video_is_analyzing() -> None:
    p = ports()
    start_jobs(video(), p, Plenty())
    assert p.jobs.started == {JobKind.FACES: "job-faces", JobKind.LABELS: "job-labels"}  # type: ignore[attr-defined]
    assert p.videos.get("x").status is VideoStatus.ANALYZING  # type: ignore[union-attr]
    assert len(p.slots.held) == 2  # type: ignore[attr-defined]


def test_all_slots_taken_defers_without_a_refusal() -> None:
    p = ports(slots=Slots(capacity=0))
    with pytest.raises(StartDeferredError) as deferred:
        start_jobs(video(), p, Plenty())
    assert deferred.value.slots_full and deferred.value.quota


def test_a_throttled_start_gives_its_slot_back() -> None:
    slots = Slots()
    p = ports(
        slots=slots, rekognition=Rekognition({JobKind.FACES: RetryLaterError("LimitExceededException", "")})
    )
    with pytest.raises(StartDeferredError) as deferred:
        start_jobs(video(), p, Plenty())
    assert deferred.value.quota and not deferred.value.slots_full
    assert slots.held == set()


def test_a_file_too_large_is_rejected_and_frees_its_slot() -> None:
    slots, videos = Slots(), Videos()
    refusal = BadInputError("VideoTooLargeException", "too big")
    start_jobs(
        video(),
        ports(slots=slots, videos=videos, rekognition=Rekognition({JobKind.FACES: refusal})),
        Plenty(),
    )
    assert videos.current.status is VideoStatus.REJECTED and "split the recording" in str(
        videos.current.reason
    )
    assert slots.held == set()


def test_a_configuration_refusal_waits_and_says_why() -> None:
    jobs = Jobs()
    refusal = ConfigurationError("AccessDeniedException", "no")
    with pytest.raises(StartDeferredError):
        start_jobs(video(), ports(jobs=jobs, rekognition=Rekognition({JobKind.FACES: refusal})), Plenty())
    assert jobs.waiting and jobs.waiting[0].startswith("Not started yet")


def test_footage_deleted_before_its_start_fails_the_video() -> None:
    videos = Videos()
    refusal = ConfigurationError("InvalidS3ObjectException", "gone")
    p = ports(
        videos=videos, footage=FootageStorage(exists=False), rekognition=Rekognition({JobKind.FACES: refusal})
    )
    start_jobs(video(), p, Plenty())
    assert videos.current.status is VideoStatus.FAILED


@dataclass
class Message:
    receive_count: int = 1
    resend_works: bool = True
    sent: list[int] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)

    def send_again(self, delay_s: int) -> bool:
        self.sent.append(delay_s)
        return self.resend_works

    def delay(self, delay_s: int) -> None:
        self.delays.append(delay_s)


def test_waiting_for_a_slot_is_a_new_delayed_message_not_a_failure() -> None:
    message = Message()
    defer(message, [StartDeferredError("full", quota=True, slots_full=True)])
    assert len(message.sent) == 1 and 0.75 * SLOT_WAIT_S <= message.sent[0] <= 1.25 * SLOT_WAIT_S
    assert message.delays == []


def test_a_refused_start_makes_the_message_come_back_later() -> None:
    message = Message(receive_count=3)
    waiting: Sequence[StartDeferredError] = [StartDeferredError("quota", quota=True)]
    with pytest.raises(StartDeferredError):
        defer(message, waiting)
    assert message.sent == [] and 0.8 * 240 <= message.delays[0] <= 1.2 * 240
