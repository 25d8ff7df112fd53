"""SQS as the pipeline uses it beyond the event source mapping: a message made to wait longer
(its visibility), and a message sent again or anew (a delayed retry, a continuation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from displaysense.adapters.aws_clients import error_code
from displaysense.observability import logger
from displaysense.pipeline.messages import continuation_body

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class MessageQueue:
    def __init__(self, sqs: SQSClient) -> None:
        self._sqs = sqs

    def delay(self, queue_url: str, receipt_handle: str, delay_s: int) -> None:
        """The message becomes visible again after `delay_s` (0: at once). Best effort: otherwise
        it returns after the queue's visibility timeout, later but not lost."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_s
            )
        except ClientError as exc:
            logger.warning("could not change the message's visibility", extra={"error": error_code(exc)})

    def send(self, queue_url: str, body: str, delay_s: int = 0) -> None:
        """Sends `body` as a new message visible after `delay_s`; raises when SQS refuses it."""
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay_s)

    def try_send(self, queue_url: str, body: str, delay_s: int = 0) -> bool:
        """`send`, but False instead of an error when SQS refused it (the caller has a fallback)."""
        try:
            self.send(queue_url, body, delay_s)
        except ClientError as exc:
            logger.warning("could not send the message", extra={"error": error_code(exc)})
            return False
        return True


class ContinuationQueue:
    """Where the results function sends itself the rest of a video's aggregation."""

    def __init__(self, queue: MessageQueue, queue_url: str) -> None:
        self._queue = queue
        self._url = queue_url

    def send(self, video_id: str, delay_s: int) -> None:
        self._queue.send(self._url, continuation_body(video_id), delay_s)
