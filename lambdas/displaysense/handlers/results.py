"""Results Lambda: Rekognition completions (SNS envelopes in the completion queue) -> metrics.

Each message is a completion (`pipeline.completions`) or the function's own continuation of a
video's aggregation that ran low on time (`pipeline.aggregation`). A message that is neither fails
and ends in the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from displaysense.handlers import wiring
from displaysense.handlers.budget import Budget
from displaysense.handlers.sqs_batch import process_batch
from displaysense.observability import count, logger, telemetry, tracer
from displaysense.pipeline.aggregation import aggregate
from displaysense.pipeline.completions import handle_completion
from displaysense.pipeline.messages import Completion, Continuation, parse_body
from displaysense.resources import COMPLETION_QUEUE


class UnreadableMessageError(ValueError):
    """Neither a completion nor a continuation. Failing it (rather than dropping it) keeps it: after
    the queue's maxReceiveCount it is in the dead-letter queue, which alarms."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@telemetry.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_batch(event, context, process_message)


def process_message(record: SQSRecord, services: wiring.Services, budget: Budget) -> None:
    parsed = parse_body(record.body)
    ports, settings = services.results_ports(), services.settings.results()
    if isinstance(parsed, Continuation):
        logger.info("continuation", extra={"video_id": parsed.video_id})
        aggregate(parsed.video_id, ports, settings, budget, continuation=True)
    elif isinstance(parsed, Completion):
        receives = int(record.attributes.approximate_receive_count or 1)
        last_receive = receives >= COMPLETION_QUEUE.max_receive_count
        handle_completion(parsed, ports, settings, budget, last_receive=last_receive)
    else:
        logger.error(
            "completion message not understood; left for the dead-letter queue",
            extra={"message_id": record.message_id},
        )
        count("UnreadableMessages")
        raise UnreadableMessageError("not a Rekognition completion or a continuation")
