"""A moto server (S3, SNS, SQS) and a Rekognition stand-in that has analysed the sample clip once.

The sample is analysed once per test session: every test that needs finished jobs reads the jobs
started here (the label and the face job share one analysis of the footage).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from displaysense_local.rekognition import RekognitionStandIn
from moto.server import ThreadedMotoServer

SAMPLE = Path(__file__).resolve().parents[3] / "local/displaysense_local/samples/storefront-walkby.mp4"
BUCKET = "footage"
SAMPLE_KEY = "uploads/store-1/cam-1/20261124T140000Z.mp4"
ROLE_ARN = "arn:aws:iam::123456789012:role/rekognition-sns"
JOB_TAG = "video-0001"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, **CREDENTIALS)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Aws:
    endpoint: str
    s3: Any
    sns: Any
    sqs: Any
    topic_arn: str
    queue_url: str

    def completion_messages(self, wait_s: float = 0.0) -> list[dict[str, Any]]:
        """Drain the queue subscribed to the completion topic; the Rekognition messages inside."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            batch = answer.get("Messages", [])
            for message in batch:
                found.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not batch and time.monotonic() >= deadline:
                return found
            if not batch:
                time.sleep(0.2)


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> Aws:
    s3, sns, sqs = (client(name, moto_endpoint) for name in ("s3", "sns", "sqs"))
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(SAMPLE), BUCKET, SAMPLE_KEY)
    topic_arn = sns.create_topic(Name="rekognition-completion")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="rekognition-completion")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Aws(moto_endpoint, s3, sns, sqs, topic_arn, queue_url)


def wait_for(get: Any, job_id: str, timeout_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        answer: dict[str, Any] = get(JobId=job_id, MaxResults=1)
        if answer["JobStatus"] != "IN_PROGRESS":
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still IN_PROGRESS after {timeout_s} s")
        time.sleep(0.25)


@dataclass
class Analysed:
    rekognition: Any
    url: str
    label_job: str
    face_job: str
    standin: RekognitionStandIn
    messages: list[dict[str, Any]]


@pytest.fixture(scope="session")
def analysed(aws: Aws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analysed]:
    standin = RekognitionStandIn(tmp_path_factory.mktemp("standin"), aws.endpoint, aws.endpoint)
    url = standin.start()
    rekognition = client("rekognition", url)
    video = {"S3Object": {"Bucket": BUCKET, "Name": SAMPLE_KEY}}
    channel = {"SNSTopicArn": aws.topic_arn, "RoleArn": ROLE_ARN}
    label_job = rekognition.start_label_detection(
        Video=video, ClientRequestToken="labels-1", NotificationChannel=channel, JobTag=JOB_TAG
    )["JobId"]
    face_job = rekognition.start_face_detection(
        Video=video,
        ClientRequestToken="faces-1",
        NotificationChannel=channel,
        JobTag=JOB_TAG,
        FaceAttributes="ALL",
    )["JobId"]
    wait_for(rekognition.get_label_detection, label_job)
    wait_for(rekognition.get_face_detection, face_job)
    messages = aws.completion_messages(wait_s=5.0)
    yield Analysed(rekognition, url, label_job, face_job, standin, messages)
    standin.stop()


def all_pages(get: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        answer = get(**kwargs, **({"NextToken": token} if token else {}))
        items.extend(answer[key])
        token = answer.get("NextToken")
        if not token:
            return items
