"""An encrypted, TLS-only SQS work queue with its dead-letter queue, sized from `resources.py`."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from displaysense.resources import QueueDefinition


class WorkQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, definition: QueueDefinition) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        # SQS-managed encryption: S3 event notifications and SNS deliver to it without the key-policy
        # grants a customer-managed KMS key would need, and it costs nothing.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(definition.visibility_timeout_s),
            retention_period=Duration.days(definition.retention_days),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=definition.max_receive_count
            ),
        )
