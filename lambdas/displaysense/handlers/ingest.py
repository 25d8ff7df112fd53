"""Ingest Lambda: S3 ObjectCreated events from the ingest queue -> registered videos, started jobs.

A message may carry several S3 records (S3's s3:TestEvent carries none); each is ingested on its
own (`pipeline.uploads`). Records whose starts must wait make the message wait
(`pipeline.start_deferral`); a message this handler cannot read fails and ends in the dead-letter
queue; a message that the invocation has no time left for goes back to the queue at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from displaysense.adapters.message_queue import MessageQueue
from displaysense.handlers import wiring
from displaysense.handlers.budget import Budget
from displaysense.handlers.sqs_batch import process_batch
from displaysense.observability import count, logger, telemetry, tracer
from displaysense.pipeline.job_starts import STEP_RESERVE_MS, OutOfTimeError, StartDeferredError
from displaysense.pipeline.messages import UnreadableRecordError, uploaded_object
from displaysense.pipeline.start_deferral import defer
from displaysense.pipeline.uploads import ingest_object


class UnreadableMessageError(ValueError):
    """The message is not an S3 event this handler can read. Failing it (rather than dropping it)
    keeps it: after the queue's maxReceiveCount it is in the dead-letter queue, which alarms."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@telemetry.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_batch(event, context, process_message)


@dataclass(frozen=True)
class _IngestMessage:
    """The message being processed, as `start_deferral` makes it wait."""

    record: SQSRecord
    queue: MessageQueue

    @property
    def receive_count(self) -> int:
        return int(self.record.attributes.approximate_receive_count or 1)

    def send_again(self, delay_s: int) -> bool:
        return self.queue.try_send(self.record.queue_url, self.record.body, delay_s)

    def delay(self, delay_s: int) -> None:
        self.queue.delay(self.record.queue_url, self.record.receipt_handle, delay_s)


def process_message(record: SQSRecord, services: wiring.Services, budget: Budget) -> None:
    message = _IngestMessage(record, services.queue)
    if not budget.allows(STEP_RESERVE_MS):
        _hand_back(message, budget)
    try:
        body = json.loads(record.body)
    except ValueError:
        _unreadable(record, "ingest message is not JSON")
    if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
        # S3 sends this once when the notification is configured; it names no object.
        logger.info("s3:TestEvent ignored", extra={"bucket": body.get("Bucket")})
        return
    records = body.get("Records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        _unreadable(record, "ingest message is not an S3 event")
    ports, settings = services.ingest_ports(), services.settings.ingest()
    waiting: list[StartDeferredError] = []
    unreadable = 0
    for entry in records:
        try:
            obj = uploaded_object(entry)
        except UnreadableRecordError:
            unreadable += 1  # the other records of the message go on
            continue
        if obj is None:
            logger.info("S3 event ignored", extra={"event_name": entry.get("eventName")})
            continue
        try:
            if not budget.allows(STEP_RESERVE_MS):
                raise OutOfTimeError
            ingest_object(obj, ports, settings, budget)
        except StartDeferredError as exc:
            waiting.append(exc)  # the other records of the message go on; the retry finds them done
        except OutOfTimeError:
            _hand_back(message, budget)
    if unreadable and not waiting:
        _unreadable(record, f"{unreadable} unreadable S3 record(s) (not an object, or no bucket or key)")
    defer(message, waiting)


def _hand_back(message: _IngestMessage, budget: Budget) -> NoReturn:
    message.delay(0)
    count("MessagesHandedBack")
    logger.info(
        "too little time left for the next step; the message is handed back",
        extra={"message_id": message.record.message_id, "remaining_ms": budget.remaining_ms()},
    )
    raise OutOfTimeError(f"less than {STEP_RESERVE_MS} ms left")


def _unreadable(record: SQSRecord, what: str) -> NoReturn:
    logger.error(f"{what}; left for the dead-letter queue", extra={"message_id": record.message_id})
    count("UnreadableMessages")
    raise UnreadableMessageError(what)
