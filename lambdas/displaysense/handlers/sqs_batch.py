"""How the queue-driven handlers process an SQS batch: each message on its own, failures reported
item by item (Powertools' BatchProcessor), with the invocation's services and time budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from displaysense.handlers import wiring
from displaysense.handlers.budget import Budget
from displaysense.observability import count

MessageStep = Callable[[SQSRecord, wiring.Services, Budget], None]


def process_batch(event: dict[str, Any], context: LambdaContext, step: MessageStep) -> dict[str, Any]:
    services = wiring.services()
    count("MessagesReceived", len(event.get("Records", [])))
    budget = Budget(context)

    def record_handler(record: SQSRecord) -> None:
        step(record, services, budget)

    # A processor per invocation: local mode may run handlers in threads of one process. With
    # raise_on_entire_batch_failure off, a batch whose every message waits (the job quota) is
    # reported item by item instead of failing the invocation (a Lambda error, and an alarm).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
