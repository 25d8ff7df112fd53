"""The pipeline in one process: moto (S3, SQS, SNS, DynamoDB) in-process, Rekognition through
botocore's Stubber with real response shapes, and the real handlers.

`Pipeline` plays the parts AWS plays in production:
- S3 puts an event into the ingest queue (`upload` + `notify`, or moto's own notification);
- the SQS event source mapping receives messages, invokes the handler with the Lambda SQS event,
  deletes what succeeded and leaves the reported failures (`deliver`);
- Rekognition publishes a completion message to the SNS topic, which moto delivers into the
  completion queue in its SNS envelope (`complete`).
Time passing (a backoff, a visibility timeout, a lease) is explicit: `clock.advance` and
`redeliver`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from displaysense.adapters.aws_clients import AwsClients
from displaysense.config import ServiceSettings
from displaysense.domain.drop_folder import parse_key
from displaysense.domain.engine import PassList, VideoMetrics, analyze
from displaysense.domain.metrics import PassRecord
from displaysense.domain.settings import EngineSettings
from displaysense.domain.timeutil import parse_iso
from displaysense.domain.video import JobKind
from displaysense.domain.video_ids import client_request_token, object_version, video_id
from displaysense.handlers import ingest, results, wiring
from displaysense.resources import COMPLETION_QUEUE, INGEST_QUEUE, TABLE
from moto import mock_aws

from tests.support import aws_events
from tests.support.scenario import Noise, face_pages, label_pages, make_scene, render

os.environ.setdefault("AWS_DEFAULT_REGION", aws_events.REGION)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

BUCKET = "displaysense-data"
TABLE_NAME = "displaysense"
ROLE_ARN = f"arn:aws:iam::{aws_events.ACCOUNT}:role/DisplaySense-RekognitionRole"
START = 1795960800.0  # 2026-11-24T12:00:00Z: the tests' "now"
# An MP4 head: ftyp box (brand isom) then the start of a free box; enough for the sniffer.
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41\x00\x00\x00\x08free"
RECORDED_KEY = "uploads/store-1/cam-1/20261124T115830Z.mp4"  # crosses 12:00: hour and 15 min edges


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Context:
    """The parts of the Lambda context the handlers and Powertools read."""

    remaining: Callable[[], int] = lambda: 300_000
    function_name: str = "displaysense-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{aws_events.ACCOUNT}:function:displaysense-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining()


class LambdaCrash(BaseException):
    """The invocation dies where this is raised (timeout, out of memory, a killed container):
    nothing after it runs, no `except Exception` sees it, no batch response is returned."""


@dataclass
class Upload:
    key: str
    version_id: str
    etag: str
    size: int

    @property
    def video_id(self) -> str:
        return video_id(BUCKET, self.key, object_version(self.version_id, self.etag))


@dataclass
class Scene:
    """Rekognition result pages of a synthetic storefront, and what a clean run makes of them."""

    labels: list[dict[str, Any]]
    faces: list[dict[str, Any]]

    def reference(
        self, recorded_at: str, *, faces_only: bool = False
    ) -> tuple[VideoMetrics, list[PassRecord]]:
        sink = PassList()
        metrics = analyze(
            labels=None if faces_only else self.labels,
            faces=self.faces,
            settings=EngineSettings(),
            recorded_at_ms=int(parse_iso(recorded_at).timestamp()) * 1000,
            pass_sink=sink,
        )
        return metrics, sink.records


def make_pages(seed: int = 7) -> Scene:
    scene = make_scene(seed, duration_s=150, per_minute=10)
    rendered = render(scene, Noise(), seed)
    # Small pages: several per job, so paging, checkpoints and restarts have something to do.
    return Scene(label_pages(scene, rendered, page_size=60), face_pages(scene, rendered, page_size=120))


@dataclass
class Pipeline:
    s3: Any
    sqs: Any
    sns: Any
    table: Any
    rekognition: Any
    stubber: Stubber
    clock: Clock
    settings: ServiceSettings
    services: wiring.Services
    ingest_url: str
    completion_url: str
    topic_arn: str
    visibility_changes: list[int] = field(default_factory=list)
    sent_to_completion: list[str] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)
    _failed: dict[str, list[str]] = field(default_factory=dict)
    _job_counter: int = 0

    # ---- S3 -----------------------------------------------------------------------------------

    def upload(
        self,
        key: str = RECORDED_KEY,
        body: bytes = MP4_HEAD + bytes(2000),
        metadata: dict[str, str] | None = None,
    ) -> Upload:
        answer = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata or {})
        return Upload(key, answer["VersionId"], answer["ETag"].strip('"'), len(body))

    def record(self, upload: Upload, **options: Any) -> dict[str, Any]:
        return aws_events.s3_record(
            bucket=BUCKET,
            key=upload.key,
            size=upload.size,
            version_id=upload.version_id,
            etag=upload.etag,
            **options,
        )

    def notify(self, *uploads: Upload, body: str | None = None) -> None:
        """S3 sends one event (with one record per upload) to the ingest queue."""
        message = body if body is not None else aws_events.s3_event(*(self.record(u) for u in uploads))
        self.sqs.send_message(QueueUrl=self.ingest_url, MessageBody=message)

    # ---- Rekognition ----------------------------------------------------------------------

    def job_id(self, kind: JobKind) -> str:
        self._job_counter += 1
        return f"{kind.value}{self._job_counter:04d}" + "0" * 48

    def expect_start(
        self, upload: Upload, kind: JobKind, job_id: str | None = None, *, vid: str | None = None
    ) -> str:
        job = job_id or self.job_id(kind)
        vid = vid or upload.video_id
        params: dict[str, Any] = {
            "Video": {"S3Object": {"Bucket": BUCKET, "Name": upload.key, "Version": upload.version_id}},
            "ClientRequestToken": client_request_token(vid, kind),
            "JobTag": vid,
            "NotificationChannel": {"SNSTopicArn": self.topic_arn, "RoleArn": ROLE_ARN},
        }
        if kind is JobKind.LABELS:
            params["Features"] = ["GENERAL_LABELS"]
            params["Settings"] = {"GeneralLabels": {"LabelInclusionFilters": ["Person"]}}
            self.stubber.add_response("start_label_detection", {"JobId": job}, params)
        else:
            params["FaceAttributes"] = "ALL"
            self.stubber.add_response("start_face_detection", {"JobId": job}, params)
        return job

    def expect_start_error(self, kind: JobKind, code: str, message: str = "", status: int = 400) -> None:
        operation = "start_label_detection" if kind is JobKind.LABELS else "start_face_detection"
        self.stubber.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def expect_starts(
        self,
        upload: Upload,
        kinds: tuple[JobKind, ...] = (JobKind.FACES, JobKind.LABELS),
        vid: str | None = None,
    ) -> dict[JobKind, str]:
        """Both starts in the order ingest sends them (jobs sorted by kind: faces, then labels)."""
        return {kind: self.expect_start(upload, kind, vid=vid) for kind in kinds}

    def expect_pages(self, kind: JobKind, job_id: str, pages: list[dict[str, Any]], first: int = 0) -> None:
        operation = "get_label_detection" if kind is JobKind.LABELS else "get_face_detection"
        for index in range(first, len(pages)):
            params: dict[str, Any] = {"JobId": job_id, "MaxResults": 1000}
            if kind is JobKind.LABELS:
                params.update(SortBy="TIMESTAMP", AggregateBy="TIMESTAMPS")
            if index:
                params["NextToken"] = pages[index - 1]["NextToken"]
            self.stubber.add_response(operation, {**pages[index], "JobId": job_id}, params)

    def complete(
        self,
        upload: Upload,
        kind: JobKind,
        job_id: str,
        status: str = "SUCCEEDED",
        *,
        api_style: str = "Start",
        message: str | None = None,
    ) -> None:
        """Rekognition publishes the job's completion to the topic (moto delivers it to the queue)."""
        if api_style == "Start":
            api = "StartLabelDetection" if kind is JobKind.LABELS else "StartFaceDetection"
        else:
            api = "LABEL_DETECTION" if kind is JobKind.LABELS else "FACE_DETECTION"
        completion = aws_events.rekognition_completion(
            job_id=job_id,
            status=status,
            api=api,
            job_tag=upload.video_id,
            bucket=BUCKET,
            key=upload.key,
            message=message,
        )
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(completion))

    # ---- the event source mapping ---------------------------------------------------------

    def deliver(self, queue: str, context: Callable[[], Context] = Context) -> list[dict[str, Any] | None]:
        """Receives every visible message of a queue in batches, invokes its handler (with a fresh
        `context()` each time), deletes the messages that succeeded and keeps the failed ones
        (invisible until `redeliver`). A crashed invocation answers None: all its messages stay."""
        url, handler, batch_size = (
            (self.ingest_url, ingest.handler, INGEST_QUEUE.batch_size)
            if queue == "ingest"
            else (self.completion_url, results.handler, COMPLETION_QUEUE.batch_size)
        )
        answers: list[dict[str, Any] | None] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return answers
            try:
                answer = handler(aws_events.from_received(messages, queue), context())
            except LambdaCrash:
                self._failed.setdefault(queue, []).extend(m["ReceiptHandle"] for m in messages)
                answers.append(None)
                continue
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] in failed:
                    self._failed.setdefault(queue, []).append(message["ReceiptHandle"])
                else:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            answers.append(answer)

    def redeliver(self, queue: str) -> int:
        """Time passes until the failed messages are visible again (their backoff is over)."""
        url = self.ingest_url if queue == "ingest" else self.completion_url
        handles = self._failed.pop(queue, [])
        for handle in handles:
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        return len(handles)

    def failed(self, queue: str) -> int:
        return len(self._failed.get(queue, []))

    # ---- reading the outcome ---------------------------------------------------------------

    def items(self, pk: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": pk},
        }
        while True:
            answer = self.table.query(**request)
            found.extend(answer["Items"])
            if "LastEvaluatedKey" not in answer:
                return found
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def camera_counts(self, store: str, camera: str) -> dict[str, int]:
        for entry in self.services.cameras.list_cameras():
            if (entry.store, entry.camera) == (store, camera):
                return {k: v for k, v in entry.counts.items() if v}
        return {}

    def archived(self, vid: str, kind: JobKind) -> list[int]:
        return self.services.archive.list_pages(vid, kind)


def recorded_at_of(key: str) -> str:
    moment = parse_key(key).key_time
    assert moment is not None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def create_table(client: Any) -> None:
    client.create_table(**TABLE.create_table_request(TABLE_NAME))


def build_pipeline(**overrides: Any) -> Pipeline:
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    sns = boto3.client("sns")
    ddb = boto3.client("dynamodb")
    create_table(ddb)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ingest_url = sqs.create_queue(
        QueueName="ingest", Attributes={"VisibilityTimeout": str(INGEST_QUEUE.visibility_timeout_s)}
    )["QueueUrl"]
    completion_url = sqs.create_queue(
        QueueName="completion", Attributes={"VisibilityTimeout": str(COMPLETION_QUEUE.visibility_timeout_s)}
    )["QueueUrl"]
    topic_arn = sns.create_topic(Name="completion")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=aws_events.queue_arn("completion"))
    options: dict[str, Any] = {
        "completion_topic_arn": topic_arn,
        "rekognition_role_arn": ROLE_ARN,
        "completion_queue_url": completion_url,
        **overrides,
    }
    settings = ServiceSettings(table_name=TABLE_NAME, bucket_name=BUCKET, **options)
    rekognition = boto3.client("rekognition")
    stubber = Stubber(rekognition)
    stubber.activate()
    clock = Clock()
    clients = AwsClients(TABLE_NAME)
    clients.s3 = s3
    clients.sqs = sqs
    clients.rekognition = rekognition
    services = wiring.Services(settings=settings, clients=clients, clock=clock)
    pipeline = Pipeline(
        s3=s3,
        sqs=sqs,
        sns=sns,
        table=clients.table,
        rekognition=rekognition,
        stubber=stubber,
        clock=clock,
        settings=settings,
        services=services,
        ingest_url=ingest_url,
        completion_url=completion_url,
        topic_arn=topic_arn,
    )

    def spy_visibility(params: dict[str, Any], **_: Any) -> None:
        pipeline.visibility_changes.append(int(params["VisibilityTimeout"]))

    def spy_send(params: dict[str, Any], **_: Any) -> None:
        if params.get("QueueUrl") == completion_url:
            pipeline.sent_to_completion.append(params["MessageBody"])
            pipeline.delays.append(int(params.get("DelaySeconds", 0)))

    sqs.meta.events.register("provide-client-params.sqs.ChangeMessageVisibility", spy_visibility)
    sqs.meta.events.register("provide-client-params.sqs.SendMessage", spy_send)
    return pipeline


@pytest.fixture
def make_pipeline() -> Iterator[Callable[..., Pipeline]]:
    """A fresh, empty AWS per test; `make_pipeline(faces_only=True, ...)` overrides settings."""
    with mock_aws():
        built: list[Pipeline] = []

        def factory(**overrides: Any) -> Pipeline:
            pipeline = build_pipeline(**overrides)
            wiring.install(pipeline.services)
            built.append(pipeline)
            return pipeline

        yield factory
        wiring.install(None)
        for pipeline in built:
            # Every stubbed Rekognition answer was asked for: no call the test expected is missing.
            pipeline.stubber.assert_no_pending_responses()


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    return make_pipeline()


@pytest.fixture(scope="session")
def scene() -> Scene:
    return make_pages()
