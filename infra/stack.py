"""DisplaySenseStack: the whole service in one environment-agnostic stack.

Build order follows the data the Lambdas need at deploy time: storage and the completion channel
first (their names and ARNs go into every function's environment), then the functions.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from displaysense.resources import UPLOADS_PREFIX

from infra.constructs.api_construct import ApiConstruct
from infra.constructs.ingest_construct import IngestConstruct
from infra.constructs.lambda_package import LambdaPackage
from infra.constructs.monitoring_construct import MonitoringConstruct
from infra.constructs.results_construct import CompletionChannel, ResultsConstruct
from infra.constructs.storage_construct import StorageConstruct
from infra.settings import DeploymentSettings


class DisplaySenseStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="DisplaySense: storefront analytics with Amazon Rekognition Video",
            **kwargs,
        )
        self.settings = settings
        removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
        Tags.of(self).add("project", "displaysense")

        self.storage = StorageConstruct(self, "Storage", settings=settings)

        # One customer-managed key for both SNS topics: SNS encryption at rest needs KMS, and
        # CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed aws/sns key.
        self.topic_key = kms.Key(
            self,
            "TopicKey",
            description="DisplaySense SNS topics (Rekognition completions, alarms)",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # CloudWatch calls KMS itself when an alarm publishes to an encrypted topic. This is the statement
        # AWS documents for it (knowledge center "cloudwatch-receive-sns-for-alarm-trigger"), without
        # conditions: kms:CallerAccount is known to break it, and the key encrypts only this stack's
        # two topics, which only this account's alarms and roles may publish to.
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopics",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
            )
        )

        self.channel = CompletionChannel(self, "Completion", topic_key=self.topic_key)
        service = settings.service_settings(
            table_name=self.storage.table.table_name,
            bucket_name=self.storage.bucket.bucket_name,
            completion_topic_arn=self.channel.topic.topic_arn,
            rekognition_role_arn=self.channel.rekognition_role.role_arn,
            completion_queue_url=self.channel.queue.queue_url,
        )
        self.package = LambdaPackage(
            self,
            "LambdaPackage",
            environment=service.to_env(),
            powertools_layer_arn=settings.powertools_layer_arn,
            metrics_namespace=settings.metrics_namespace,
            log_level=settings.log_level,
            log_retention_days=settings.log_retention_days,
            removal_policy=removal,
        )
        self.ingest = IngestConstruct(
            self,
            "Ingest",
            settings=settings,
            storage=self.storage,
            channel=self.channel,
            package=self.package,
        )
        self.results = ResultsConstruct(
            self,
            "Results",
            settings=settings,
            storage=self.storage,
            channel=self.channel,
            package=self.package,
        )
        self.api = ApiConstruct(
            self, "Api", settings=settings, storage=self.storage, package=self.package, removal_policy=removal
        )
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            settings=settings,
            storage=self.storage,
            package=self.package,
            topic_key=self.topic_key,
            queues={"Ingest": self.ingest.work_queue, "Completion": self.channel.work_queue},
            functions={
                "Ingest": self.ingest.function,
                "Results": self.results.function,
                "Api": self.api.function,
            },
        )

        CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(
            self,
            "DropFolder",
            value=f"s3://{self.storage.bucket.bucket_name}/{UPLOADS_PREFIX}<store>/<camera>/<recorded-at>.mp4",
        )
        CfnOutput(self, "TableName", value=self.storage.table.table_name)
        CfnOutput(self, "ApiUrl", value=self.api.url)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.alarm_topic.topic_arn)
        self._suppress_cdk_internals()

    def _suppress_cdk_internals(self) -> None:
        """Findings on helper resources CDK itself adds (not configurable from this app)."""
        # S3 -> SQS notifications are written by a CDK custom resource (a singleton Lambda).
        notifications_handler = next(
            (c for c in self.node.children if c.node.id.startswith("BucketNotificationsHandler")), None
        )
        if notifications_handler is not None:
            NagSuppressions.add_resource_suppressions(
                notifications_handler,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM4",
                        reason=(
                            "CDK's BucketNotificationsHandler custom resource (runs only during deployment) "
                            "uses the managed policy AWSLambdaBasicExecutionRole to write its logs; its log "
                            "group name is only known once the function exists. Its only other permission "
                            "is s3:PutBucketNotification on this stack's data bucket."
                        ),
                        applies_to=[
                            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                            "AWSLambdaBasicExecutionRole"
                        ],
                    ),
                ],
                apply_to_children=True,
            )
