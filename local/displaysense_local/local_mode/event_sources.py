"""Lambda's SQS event source mapping, for local mode: queue batches into the same handlers.

What it reproduces: batches of up to `batch_size` messages gathered for up to the batching window;
the event exactly as Lambda builds it (`Records` with messageId, receiptHandle, body, attributes
including ApproximateReceiveCount, eventSourceARN); partial batch responses
(`batchItemFailures`): the messages named there stay in the queue and come back after their
visibility timeout, the others are deleted; a handler exception returns the whole batch. After
`maxReceiveCount` receives the queue's redrive policy moves a message to its dead-letter queue
(moto does that, as SQS does). A Lambda context tells the handler its remaining time, so the
results handler checkpoints as it would on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from displaysense.resources import FunctionDefinition, QueueDefinition

from displaysense_local.lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger("displaysense_local")


@dataclass
class Invocations:
    batches: int = 0
    messages: int = 0
    failed_items: int = 0
    errors: int = 0


class SqsEventSource:
    """Polls one queue and invokes one handler with its batches, in a thread of its own."""

    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        queue: QueueDefinition,
        function: FunctionDefinition,
        handler: Handler,
        region: str,
        invoke_lock: threading.Lock,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.queue = queue
        self.function = function
        self.handler = handler
        self.region = region
        # Shared by the pipeline's event sources: their handlers share one process's services and
        # logger here, so each invocation runs alone (see local_mode/deployment.py).
        self.invoke_lock = invoke_lock
        self.stats = Invocations()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sqs-{self.function.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.function.timeout_s + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._gather()
                if batch:
                    self._invoke(batch)
            except Exception:  # the poller outlives any single failure, as Lambda's does
                log.exception("polling %s failed; retrying", self.queue.name)
                self._stop.wait(1.0)

    def _gather(self) -> list[dict[str, Any]]:
        # By message id: a message whose visibility timeout is shorter than the batching window
        # (tests compress time) may be received again while its batch is gathered; it is in the
        # batch once, with the receipt handle of its latest receive, the only one SQS still honours.
        batch: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.queue.max_batching_window_s
        while len(batch) < self.queue.batch_size and not self._stop.is_set():
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.queue.batch_size - len(batch)),
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch.update((m["MessageId"], m) for m in answer.get("Messages", []))
            if not batch or time.monotonic() >= deadline:
                break
        return list(batch.values())

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        self.stats.batches += 1
        self.stats.messages += len(messages)
        with self.invoke_lock:
            try:
                response = self.handler(event, LambdaContext(self.function))
            except Exception:
                # The whole batch returns to the queue, visible again after its timeout.
                self.stats.errors += 1
                log.exception(
                    "%s handler failed; %d messages go back to the queue", self.function.name, len(messages)
                )
                return
        failed = set()
        if isinstance(response, dict):
            failed = {f.get("itemIdentifier") for f in response.get("batchItemFailures", [])}
        self.stats.failed_items += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
