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

from displaysense.resources import REKOGNITION_LIMITS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_rekognition.client import RekognitionClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

USER_AGENT = "displaysense"
# Standard retries absorb short throttling bursts of S3, SQS and DynamoDB inside one call.
DEFAULT_CONFIG = Config(user_agent_extra=USER_AGENT, retries={"mode": "standard", "max_attempts": 4})


# Rekognition's attempts and timeouts (resources.REKOGNITION_LIMITS): one retry only, and the time a
# handler keeps in hand before a call follows from them.
REKOGNITION_CONFIG = Config(
    user_agent_extra=USER_AGENT,
    # total_max_attempts counts the first call; botocore's max_attempts would count retries only.
    retries={"mode": "standard", "total_max_attempts": REKOGNITION_LIMITS.total_attempts},
    connect_timeout=REKOGNITION_LIMITS.connect_timeout_s,
    read_timeout=REKOGNITION_LIMITS.read_timeout_s,
)


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
