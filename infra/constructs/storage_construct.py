"""The data bucket (drop folder and result archive), its access-log bucket, and the single table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from displaysense.resources import (
    ABORT_MULTIPART_DAYS,
    RESULTS_PREFIX,
    TABLE,
    UPLOAD_CORS,
    UPLOADS_PREFIX,
    LifecycleRule,
    data_bucket_lifecycle,
)

from infra.settings import DeploymentSettings

# Table access, explicitly instead of CDK's grant_read_write_data: no Scan (every access pattern is a
# key or index Query, see docs/architecture.md) and no stream actions (the table has no stream).
TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)


class StorageConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
        # A dev stack (retain_data=false) empties its buckets on destroy, or CloudFormation could not
        # delete them; a production stack never does.
        auto_delete = not settings.retain_data

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            # Server access log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(settings.access_log_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(ABORT_MULTIPART_DAYS),
                )
            ],
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )
        NagSuppressions.add_resource_suppressions(
            self.access_log_bucket,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason=(
                        "This is the server-access-log target of the data bucket; logging it to itself "
                        "would log every log delivery, and a further bucket would only move the question."
                    ),
                )
            ],
        )

        # Local mode's bucket gets the same rule (resources.UPLOAD_CORS).
        cors = (
            [
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods(m) for m in UPLOAD_CORS.allowed_methods],
                    allowed_origins=list(settings.cors_origins),
                    allowed_headers=list(UPLOAD_CORS.allowed_headers),
                    exposed_headers=list(UPLOAD_CORS.exposed_headers),
                    max_age=UPLOAD_CORS.max_age_s,
                )
            ]
            if settings.cors_origins
            else None
        )
        self.bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # Video ids derive from bucket, key and object version: versioning makes a re-upload under
            # the same key a new video instead of silently replacing the one being analysed.
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=_lifecycle_rules(settings),
            cors=cors,
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=TABLE.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=TABLE.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=settings.retain_data,
            removal_policy=removal,
        )
        for index in TABLE.indexes:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(
                    name=index.partition_key, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )

    def grant_table_read(self, grantee: iam.IGrantable) -> None:
        """Key and index reads of the table (and its GSIs)."""
        self.table.grant(grantee, *TABLE_READ_ACTIONS)

    def grant_table_read_write(self, grantee: iam.IGrantable) -> None:
        """Reads plus item writes (conditional and transactional writes use the same actions)."""
        self.table.grant(grantee, *TABLE_READ_ACTIONS, *TABLE_WRITE_ACTIONS)

    @property
    def uploads_arn(self) -> str:
        """ARN pattern of every object under uploads/."""
        return self.bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")

    @property
    def results_arn(self) -> str:
        """ARN pattern of every object under results/."""
        return self.bucket.arn_for_objects(f"{RESULTS_PREFIX}*")


def _lifecycle_rules(settings: DeploymentSettings) -> list[s3.LifecycleRule]:
    # The rules are resources.data_bucket_lifecycle's, which local mode's bucket carries too.
    footage_days = settings.footage_retention_days or settings.footage_safety_net_days
    rules = data_bucket_lifecycle(footage_days=footage_days, results_days=settings.results_retention_days)
    return [_cdk_rule(rule) for rule in rules]


def _cdk_rule(rule: LifecycleRule) -> s3.LifecycleRule:
    def days(value: int | None) -> Duration | None:
        return None if value is None else Duration.days(value)

    return s3.LifecycleRule(
        id=rule.id,
        prefix=rule.prefix,
        expiration=days(rule.expiration_days),
        noncurrent_version_expiration=days(rule.noncurrent_version_expiration_days),
        abort_incomplete_multipart_upload_after=days(rule.abort_incomplete_multipart_upload_days),
        expired_object_delete_marker=rule.expired_object_delete_marker or None,
    )
