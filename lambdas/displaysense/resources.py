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
    ttl_attribute: str

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
    ttl_attribute="expires_at",
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


INGEST_FUNCTION = FunctionDefinition(
    name="ingest", handler="displaysense.handlers.ingest.handler", timeout_s=60, memory_mb=512
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
