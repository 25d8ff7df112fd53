"""Drop folder -> ingest queue -> ingest Lambda, which validates uploads and starts Rekognition jobs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from constructs import Construct
from displaysense.resources import INGEST_FUNCTION, INGEST_QUEUE, UPLOADS_PREFIX

from infra.constructs.lambda_package import (
    ANY_RESOURCE,
    TABLE_INDEXES,
    TABLE_INDEXES_REASON,
    LambdaPackage,
    bucket_prefix,
)
from infra.constructs.queues import WorkQueue
from infra.constructs.results_construct import CompletionChannel
from infra.constructs.storage_construct import StorageConstruct
from infra.settings import DeploymentSettings


class IngestConstruct(Construct):
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
        self.work_queue = WorkQueue(self, "Ingest", definition=INGEST_QUEUE)
        self.queue = self.work_queue.queue
        # Every new object (and new version) under uploads/ becomes one ingest message. The queue
        # policy CDK writes allows s3.amazonaws.com only for this bucket (aws:SourceArn).
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3_notifications.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )

        self.function = package.function(
            self,
            "Function",
            INGEST_FUNCTION,
            description="DisplaySense ingest: validate uploads, start Rekognition Video jobs",
            wildcards=[
                (
                    ANY_RESOURCE,
                    "rekognition:StartLabelDetection and StartFaceDetection list no resource types in the "
                    "Service Authorization Reference for Amazon Rekognition, so they can only be granted "
                    "on '*'; iam:PassRole (the real privilege of a Start* call) is limited to one role.",
                ),
                (
                    bucket_prefix(UPLOADS_PREFIX),
                    "s3:GetObject/GetObjectVersion on uploads/ of the one data bucket: any upload may "
                    "arrive there, keys are only known at run time.",
                ),
                (TABLE_INDEXES, TABLE_INDEXES_REASON),
            ],
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=INGEST_QUEUE.batch_size,
                max_batching_window=Duration.seconds(INGEST_QUEUE.max_batching_window_s),
                report_batch_item_failures=True,
                # Few pollers racing for the job slots (the table's SLOTS items cap running jobs at
                # max_concurrent_jobs); more would only turn into LimitExceeded retries. Unlike
                # reserved concurrency this reserves nothing from the account's Lambda pool.
                max_concurrency=settings.ingest_max_concurrency,
            )
        )
        storage.grant_table_read_write(self.function)
        # The handler reads the head and first bytes of each upload (type sniffing) and Rekognition
        # reads the whole object version with the caller's permissions.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadUploads",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[storage.uploads_arn],
            )
        )
        # Without ListBucket, S3 answers a HEAD on a deleted upload with 403 instead of 404, and the
        # handler could not tell "gone, nothing to do" from a real denial; limited to uploads/.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="SeeMissingUploads",
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}},
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="StartRekognitionJobs",
                actions=["rekognition:StartLabelDetection", "rekognition:StartFaceDetection"],
                resources=["*"],
            )
        )
        # Rekognition needs the role to publish completions; the ingest Lambda may hand over that one
        # role, to Rekognition only.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassRekognitionRole",
                actions=["iam:PassRole"],
                resources=[channel.rekognition_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "rekognition.amazonaws.com"}},
            )
        )
        # Backoff while the job quota is busy: the handler lengthens the visibility of a refused
        # message. The event source mapping already grants this; it is stated here because the
        # handler depends on it.
        self.queue.grant(self.function, "sqs:ChangeMessageVisibility")
        # A start waiting for one of DisplaySense's own job slots is queued again as a new, delayed
        # message (handlers/ingest.py), on this queue only.
        self.queue.grant_send_messages(self.function)
