"""boto3 clients, built once per process (a Lambda cold start) and shared by the adapters.

Endpoints come only from the standard AWS environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3,
AWS_ENDPOINT_URL_REKOGNITION, ...), which botocore reads itself: local mode points them at the
emulator and the Rekognition stand-in without any DisplaySense-specific switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_rekognition.client import RekognitionClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

USER_AGENT = "displaysense"
# Standard retries absorb short throttling bursts of S3, SQS and DynamoDB inside one call.
DEFAULT_CONFIG = Config(user_agent_extra=USER_AGENT, retries={"mode": "standard", "max_attempts": 4})
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

    def config(self) -> Config:
        return Config(
            user_agent_extra=USER_AGENT,
            # total_max_attempts counts the first call; botocore's max_attempts would count retries only.
            retries={"mode": "standard", "total_max_attempts": self.total_attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
        )

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
REKOGNITION_CONFIG = REKOGNITION_LIMITS.config()
# One Rekognition call (Start* or Get*) at its slowest: 2 x (5 + 30) s + 1 s + 5 s = 76 s.
REKOGNITION_CALL_MS = REKOGNITION_LIMITS.worst_call_ms()


@dataclass
class AwsClients:
    """Lazily created clients: a handler pays only for the services it uses."""

    table_name: str

    @cached_property
    def _session(self) -> boto3.session.Session:
        # A session of its own, not boto3's default one: a session is not thread-safe, and local mode
        # runs the API's container in one thread while the pipeline's create their clients in
        # another (on AWS each function has its own process, so this changes nothing there).
        return boto3.session.Session()

    @cached_property
    def table(self) -> Table:
        return self._session.resource("dynamodb", config=DEFAULT_CONFIG).Table(self.table_name)

    @cached_property
    def s3(self) -> S3Client:
        return self._session.client("s3", config=DEFAULT_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        return self._session.client("sqs", config=DEFAULT_CONFIG)

    @cached_property
    def rekognition(self) -> RekognitionClient:
        return self._session.client("rekognition", config=REKOGNITION_CONFIG)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


def is_conditional_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"
