"""Rekognition completions: SNS topic, the role Rekognition publishes with, completion queue, results Lambda.

Two constructs because the Lambda environment needs the topic, role and queue before any function
exists: `CompletionChannel` is built first, `ResultsConstruct` once the Lambda package is ready.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from displaysense.resources import COMPLETION_QUEUE, RESULTS_FUNCTION, RESULTS_PREFIX, UPLOADS_PREFIX

from infra.constructs.lambda_package import (
    ANY_RESOURCE,
    TABLE_INDEXES,
    TABLE_INDEXES_REASON,
    LambdaPackage,
    bucket_prefix,
)
from infra.constructs.queues import WorkQueue
from infra.constructs.storage_construct import StorageConstruct
from infra.settings import DeploymentSettings


class CompletionChannel(Construct):
    """Where Rekognition announces finished jobs (the NotificationChannel of every Start* call)."""

    def __init__(self, scope: Construct, construct_id: str, *, topic_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "CompletionTopic",
            display_name="DisplaySense Rekognition job completions",
            master_key=topic_key,
            enforce_ssl=True,
        )
        self.rekognition_role = iam.Role(
            self,
            "RekognitionRole",
            description="Assumed by Rekognition Video to publish DisplaySense job completions",
            # Only Rekognition acting for this account may assume it (confused-deputy protection).
            assumed_by=iam.ServicePrincipal(
                "rekognition.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        # sns:Publish on this one topic, plus the KMS data-key use that publishing to an encrypted
        # topic requires; nothing else.
        self.topic.grant_publish(self.rekognition_role)
        NagSuppressions.add_resource_suppressions(
            self.rekognition_role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "kms:GenerateDataKey* (GenerateDataKey, GenerateDataKeyWithoutPlaintext) on the "
                        "one topic key only: SNS needs a data key to store a message published to an "
                        "SSE-KMS topic. This is CDK's standard grant for Topic.grant_publish."
                    ),
                    applies_to=["Action::kms:GenerateDataKey*"],
                )
            ],
            apply_to_children=True,
        )

        self.work_queue = WorkQueue(self, "Completion", definition=COMPLETION_QUEUE)
        self.queue = self.work_queue.queue
        # Raw delivery stays off: the results handler reads the SNS envelope, which tells a
        # Rekognition completion (Type=Notification) from its own continuation messages (plain JSON
        # sent straight to the queue after a checkpoint).
        self.topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=False))


class ResultsConstruct(Construct):
    """The results Lambda: pages through Get* results, archives them, writes metrics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        storage: StorageConstruct,
        channel: CompletionChannel,
        package: LambdaPackage,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = package.function(
            self,
            "Function",
            RESULTS_FUNCTION,
            description="DisplaySense results: Rekognition completions -> archived pages -> metrics",
            wildcards=[
                (
                    ANY_RESOURCE,
                    "rekognition:GetLabelDetection and GetFaceDetection list no resource types in the "
                    "Service Authorization Reference for Amazon Rekognition, so they can only be granted "
                    "on '*'; they only return jobs started in this account and region.",
                ),
                (
                    bucket_prefix(RESULTS_PREFIX),
                    "s3:PutObject/GetObject on results/ of the one data bucket: the archive of raw result "
                    "pages, keyed by video id at run time.",
                ),
                (
                    bucket_prefix(UPLOADS_PREFIX),
                    "s3:DeleteObject/DeleteObjectVersion on uploads/ of the one data bucket: with "
                    "footage_retention_days=0 the analysed footage version is deleted right after success.",
                ),
                (TABLE_INDEXES, TABLE_INDEXES_REASON),
            ],
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                channel.queue,
                batch_size=COMPLETION_QUEUE.batch_size,
                max_batching_window=Duration.seconds(COMPLETION_QUEUE.max_batching_window_s),
                report_batch_item_failures=True,
                # Bounds parallel Get* paging (Rekognition throttles Get* per account).
                max_concurrency=settings.results_max_concurrency,
            )
        )
        storage.grant_table_read_write(self.function)
        # Continuation after a checkpoint: the handler re-queues the rest of its work.
        channel.queue.grant_send_messages(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadRekognitionResults",
                actions=["rekognition:GetLabelDetection", "rekognition:GetFaceDetection"],
                # Rekognition's Get*/Start* video actions support no resource-level permissions.
                resources=["*"],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ArchiveResultPages",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[storage.results_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListArchivedPages",
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{RESULTS_PREFIX}*"]}},
            )
        )
        # footage_retention_days = 0: the analysed object version is deleted right after success.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="DeleteAnalysedFootage",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[storage.uploads_arn],
            )
        )
