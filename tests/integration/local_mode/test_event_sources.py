"""Local mode's SQS event source mapping against the emulator's real queues: what happens to the
messages of a batch when the handler fails some of them, fails as a whole, or never gets one
through.

The queues are the stack's (resources.py's redrive policy and receive counts); only the visibility
timeout is shortened, to 2 s, so that a message given back is seen again within the test (it must
stay longer than the event source's 1 s batching window, or a batch would receive it twice).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from displaysense.resources import COMPLETION_QUEUE, RESULTS_FUNCTION, QueueDefinition
from displaysense_local.local_mode.emulator import REGION, AwsEmulator
from displaysense_local.local_mode.event_sources import SqsEventSource
from moto.core.base_backend import BackendDict

TIMEOUT_S = 60.0


@dataclasses.dataclass
class Queue:
    url: str
    arn: str
    dlq_url: str
    definition: QueueDefinition


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[AwsEmulator]:
    running = AwsEmulator(tmp_path / "aws")
    running.data_dir.mkdir()
    running.start()
    yield running
    running.stop()
    BackendDict.reset()


@pytest.fixture
def queue(emulator: AwsEmulator) -> Queue:
    definition = dataclasses.replace(COMPLETION_QUEUE, visibility_timeout_s=2)
    sqs = emulator.client("sqs")
    url, arn, dlq_url = emulator._queue(sqs, "test-completion", definition)
    return Queue(url, arn, dlq_url, definition)


class Recorder:
    """A handler: every record it was given, and what `decide` makes of each batch."""

    def __init__(self, decide: Callable[[list[dict[str, Any]], int], dict[str, Any]]) -> None:
        self.decide = decide
        self.batches: list[list[dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event["Records"]
        with self.lock:
            self.batches.append(records)
            number = len(self.batches)
        return self.decide(records, number)

    def deliveries(self) -> Counter[str]:
        with self.lock:
            return Counter(r["body"] for batch in self.batches for r in batch)


def failing(bodies: set[str], times: int | None = None) -> Callable[[list[dict[str, Any]], int], Any]:
    """Fail the records with these bodies (only their first `times` deliveries, or always)."""
    seen: Counter[str] = Counter()

    def decide(records: list[dict[str, Any]], number: int) -> dict[str, Any]:
        failed = []
        for record in records:
            if record["body"] in bodies:
                seen[record["body"]] += 1
                if times is None or seen[record["body"]] <= times:
                    failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    return decide


def run_source(emulator: AwsEmulator, queue: Queue, handler: Recorder) -> SqsEventSource:
    source = SqsEventSource(
        emulator.client("sqs"),
        queue_url=queue.url,
        queue_arn=queue.arn,
        queue=queue.definition,
        function=RESULTS_FUNCTION,
        handler=handler,
        region=REGION,
        invoke_lock=threading.Lock(),
    )
    source.start()
    return source


def send(emulator: AwsEmulator, queue: Queue, *bodies: str) -> None:
    sqs = emulator.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)


def depth(emulator: AwsEmulator, url: str) -> int:
    attributes = emulator.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(n) for n in attributes.values())


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {TIMEOUT_S:.0f} s: {what}")


def test_a_failed_item_comes_back_and_the_others_are_deleted(emulator: AwsEmulator, queue: Queue) -> None:
    handler = Recorder(failing({"bad"}, times=1))
    send(emulator, queue, "good-1", "bad", "good-2")
    source = run_source(emulator, queue, handler)
    try:
        wait_until(lambda: handler.deliveries()["bad"] == 2, "the failed item delivered again")
        wait_until(lambda: depth(emulator, queue.url) == 0, "the queue emptied")
    finally:
        source.stop()
    assert handler.deliveries() == {"good-1": 1, "bad": 2, "good-2": 1}
    again = [r for batch in handler.batches for r in batch if r["body"] == "bad"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in again] == ["1", "2"]
    first = handler.batches[0][0]
    assert first["eventSource"] == "aws:sqs" and first["eventSourceARN"] == queue.arn
    assert source.stats.failed_items == 1 and source.stats.errors == 0
    assert depth(emulator, queue.dlq_url) == 0


def test_an_exception_gives_the_whole_batch_back(emulator: AwsEmulator, queue: Queue) -> None:
    def decide(records: list[dict[str, Any]], number: int) -> dict[str, Any]:
        if number == 1:
            raise RuntimeError("the handler crashed")
        return {"batchItemFailures": []}

    handler = Recorder(decide)
    send(emulator, queue, "a", "b", "c")
    # All three in the first batch: the crash must give back every one of them.
    wait_until(lambda: depth(emulator, queue.url) == 3, "three messages queued")
    source = run_source(emulator, queue, handler)
    try:
        wait_until(lambda: sum(handler.deliveries().values()) >= 6, "every message delivered again")
        wait_until(lambda: depth(emulator, queue.url) == 0, "the queue emptied")
    finally:
        source.stop()
    assert len(handler.batches[0]) == 3
    assert handler.deliveries() == {"a": 2, "b": 2, "c": 2}
    assert source.stats.errors == 1
    assert depth(emulator, queue.dlq_url) == 0


def test_a_poison_message_reaches_the_dead_letter_queue_after_max_receive_count(
    emulator: AwsEmulator, queue: Queue
) -> None:
    handler = Recorder(failing({"poison"}))
    send(emulator, queue, "poison", "fine")
    source = run_source(emulator, queue, handler)
    try:
        wait_until(lambda: depth(emulator, queue.dlq_url) == 1, "the poison message dead-lettered")
        wait_until(lambda: depth(emulator, queue.url) == 0, "the queue emptied")
    finally:
        source.stop()
    assert handler.deliveries() == {"poison": COMPLETION_QUEUE.max_receive_count, "fine": 1}
    dead = emulator.client("sqs").receive_message(QueueUrl=queue.dlq_url)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
