"""The AWS resources DisplaySense needs, as plain data.

The CDK stack (`infra/`) builds these and local mode creates the same ones in the emulator, so the
two cannot drift apart: a change here changes both, and an infrastructure test checks the
synthesized template against this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# S3 key prefixes of the one bucket.
UPLOADS_PREFIX = "uploads/"
RESULTS_PREFIX = "results/"


# --- the data bucket ----------------------------------------------------------------------------

# How long a version stays after it became noncurrent (overwritten, or expired by the rules below).
# The bucket is versioned, so "expire" first only hides an object behind a delete marker; this rule
# is what finally deletes the bytes.
NONCURRENT_VERSION_DAYS = 1
ABORT_MULTIPART_DAYS = 1
# The defaults of the CDK context keys footage_safety_net_days and results_retention_days
# (infra/settings.py takes them from here); local mode's bucket carries the rules with these.
FOOTAGE_SAFETY_NET_DAYS = 2
RESULTS_RETENTION_DAYS = 30


@dataclass(frozen=True)
class CorsRule:
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...]
    exposed_headers: tuple[str, ...]
    max_age_s: int

    def s3_rule(self, origins: tuple[str, ...] | list[str]) -> dict[str, Any]:
        """The rule as S3's PutBucketCors takes it, for these browser origins."""
        return {
            "AllowedMethods": list(self.allowed_methods),
            "AllowedOrigins": list(origins),
            "AllowedHeaders": list(self.allowed_headers),
            "ExposeHeaders": list(self.exposed_headers),
            "MaxAgeSeconds": self.max_age_s,
        }


# Browsers PUT footage straight into uploads/ with a presigned URL from the API; they may read the
# stored object's ETag and version from the answer.
UPLOAD_CORS = CorsRule(
    allowed_methods=("PUT",),
    allowed_headers=("*",),
    exposed_headers=("ETag", "x-amz-version-id"),
    max_age_s=3000,
)


@dataclass(frozen=True)
class LifecycleRule:
    id: str
    prefix: str | None = None
    expiration_days: int | None = None
    noncurrent_version_expiration_days: int | None = None
    abort_incomplete_multipart_upload_days: int | None = None
    expired_object_delete_marker: bool = False

    def s3_rule(self) -> dict[str, Any]:
        """The rule as S3's PutBucketLifecycleConfiguration takes it."""
        rule: dict[str, Any] = {
            "ID": self.id,
            "Status": "Enabled",
            "Filter": {"Prefix": self.prefix or ""},
        }
        if self.expiration_days is not None:
            rule["Expiration"] = {"Days": self.expiration_days}
        elif self.expired_object_delete_marker:
            rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
        if self.noncurrent_version_expiration_days is not None:
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": self.noncurrent_version_expiration_days}
        if self.abort_incomplete_multipart_upload_days is not None:
            rule["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": self.abort_incomplete_multipart_upload_days
            }
        return rule


def data_bucket_lifecycle(*, footage_days: int, results_days: int) -> tuple[LifecycleRule, ...]:
    """What the data bucket deletes by itself. `footage_days`: footage_retention_days, or with
    retention 0 (the results Lambda deletes analysed footage) the safety net for footage that is
    never analysed (rejected, failed, stuck behind the job quota)."""
    return (
        LifecycleRule(
            id="expire-footage",
            prefix=UPLOADS_PREFIX,
            expiration_days=footage_days,
            noncurrent_version_expiration_days=NONCURRENT_VERSION_DAYS,
        ),
        LifecycleRule(
            id="expire-result-pages",
            prefix=RESULTS_PREFIX,
            expiration_days=results_days,
            noncurrent_version_expiration_days=NONCURRENT_VERSION_DAYS,
        ),
        # Bucket-wide housekeeping: parts of abandoned multipart uploads are billed but invisible, and
        # delete markers left alone after their versions expired only slow down listings.
        LifecycleRule(
            id="housekeeping",
            abort_incomplete_multipart_upload_days=ABORT_MULTIPART_DAYS,
            expired_object_delete_marker=True,
        ),
    )


@dataclass(frozen=True)
class IndexDefinition:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableDefinition:
    partition_key: str
    sort_key: str
    indexes: tuple[IndexDefinition, ...]

    def create_table_request(self, name: str) -> dict[str, Any]:
        """The DynamoDB CreateTable parameters of this table (on demand, every index projecting
        all attributes), for the emulator of local mode and for tests: the same table the stack
        builds."""
        keys = {self.partition_key, self.sort_key}
        for index in self.indexes:
            keys |= {index.partition_key, index.sort_key}
        return {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in sorted(keys)],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ],
        }


# One table, string keys everywhere (item layouts are documented in docs/architecture.md):
#   VIDEO#<id> / VIDEO                     a video, its jobs and summary
#   METRICS#<store>#<camera>#<grain> / <bucket start>#<video id>   counters of one video in one bucket
#   PASSES#<video id> / <index>             anonymous per-pass records
#   STORES / <store>#<camera>               store and camera registry with status counts
#   SLOTS / <n>                             Rekognition job slots (concurrency cap)
TABLE = TableDefinition(
    partition_key="pk",
    sort_key="sk",
    indexes=(
        # videos of a store in time order
        IndexDefinition("by_store_time", "gsi1pk", "gsi1sk"),
        # videos of a store with one status, in time order
        IndexDefinition("by_store_status", "gsi2pk", "gsi2sk"),
        # all videos in time order (listing without a store)
        IndexDefinition("by_time", "gsi3pk", "gsi3sk"),
    ),
)


@dataclass(frozen=True)
class QueueDefinition:
    name: str
    visibility_timeout_s: int
    max_receive_count: int
    batch_size: int
    max_batching_window_s: int
    retention_days: int = 14


@dataclass(frozen=True)
class FunctionDefinition:
    name: str
    handler: str
    timeout_s: int
    memory_mb: int


# The ingest handler begins a Start* only with its slowest case in hand (handlers/ingest.py,
# STEP_RESERVE_MS, 91 s); the timeout leaves room for the records before it.
INGEST_FUNCTION = FunctionDefinition(
    name="ingest", handler="displaysense.handlers.ingest.handler", timeout_s=120, memory_mb=512
)
# Results paging checkpoints well before this timeout (see handlers/results.py).
RESULTS_FUNCTION = FunctionDefinition(
    name="results", handler="displaysense.handlers.results.handler", timeout_s=300, memory_mb=1024
)
API_FUNCTION = FunctionDefinition(
    name="api", handler="displaysense.handlers.api.handler", timeout_s=29, memory_mb=1024
)

# Visibility timeouts are six times the consumer's timeout (AWS guidance for SQS event sources).
# The ingest queue allows many receives: a start refused for the job quota waits here with
# backoff, and must not reach the dead-letter queue while the quota is merely busy.
INGEST_QUEUE = QueueDefinition(
    name="ingest",
    visibility_timeout_s=6 * INGEST_FUNCTION.timeout_s,
    max_receive_count=50,
    batch_size=10,
    max_batching_window_s=1,
)
COMPLETION_QUEUE = QueueDefinition(
    name="completion",
    visibility_timeout_s=6 * RESULTS_FUNCTION.timeout_s,
    max_receive_count=5,
    batch_size=5,
    max_batching_window_s=1,
)

# --- clients --------------------------------------------------------------------------------------

# botocore's standard retry mode sleeps before retry n (1-based) at most min(2^(n-1), 20) s, and up
# to 5 s more when the service sends x-amz-retry-after (botocore/retries/standard.py).
_MAX_BACKOFF_S = 20
_RETRY_AFTER_EXTRA_S = 5


@dataclass(frozen=True)
class CallLimits:
    """Attempts and timeouts of a client, and what they make the slowest call: one place for both."""

    total_attempts: int
    connect_timeout_s: int
    read_timeout_s: int

    def worst_call_ms(self) -> int:
        """The longest one call can take before it answers or raises: every attempt waits out its
        connect and read timeouts, with the longest sleeps in between. What a handler keeps in hand
        before a call whose slow tail must not meet the Lambda timeout."""
        sleeps = sum(
            min(1 << (n - 1), _MAX_BACKOFF_S) + _RETRY_AFTER_EXTRA_S for n in range(1, self.total_attempts)
        )
        per_attempt = self.connect_timeout_s + self.read_timeout_s
        return (self.total_attempts * per_attempt + sleeps) * 1000


# Rekognition: one retry only. A refused Start* (job quota, throttling) goes back to the ingest queue
# with a backoff of minutes; waiting inside the Lambda would only burn its time. The read timeout is
# for Get*: a page of 1000 faces with every attribute is several megabytes.
REKOGNITION_LIMITS = CallLimits(total_attempts=2, connect_timeout_s=5, read_timeout_s=30)
# One Rekognition call (Start* or Get*) at its slowest: 2 x (5 + 30) s + 1 s + 5 s = 76 s.
REKOGNITION_CALL_MS = REKOGNITION_LIMITS.worst_call_ms()
