"""The AWS of local mode: a moto server on localhost holding the stack's resources.

The resources come from `displaysense.resources` (the same definitions the CDK stack builds), so
local mode and AWS cannot drift apart. moto keeps its state in memory; this module keeps it under
the data directory too — a pickle of moto's S3, SNS, SQS and DynamoDB backends, written whenever
something changed and at shutdown — so a restart brings back every video, metric, archived page
and queued message. Writing the snapshot waits for requests in flight and holds new ones back for
the moment it takes, so a snapshot is one consistent instant.
"""

from __future__ import annotations

import copyreg
import io
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
from displaysense.resources import (
    COMPLETION_QUEUE,
    FOOTAGE_SAFETY_NET_DAYS,
    INGEST_QUEUE,
    RESULTS_RETENTION_DAYS,
    TABLE,
    UPLOAD_CORS,
    UPLOADS_PREFIX,
    QueueDefinition,
    data_bucket_lifecycle,
)
from werkzeug.serving import BaseWSGIServer, make_server

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
# moto's backends, in the order they are saved: a message still queued in the snapshot is
# processed again after a restart (harmless: every consumer is idempotent), never the reverse.
_SERVICES = ("sqs", "sns", "dynamodb", "s3")
_STATE_FILE = "aws-state.pickle"

# moto's SQS queues hold a threading.Condition for long polls; a restored queue gets a fresh one.
copyreg.pickle(threading.Condition, lambda _condition: (threading.Condition, ()))


class EmulatorError(Exception):
    """The emulator cannot start; the message says why in one line."""


@dataclass(frozen=True)
class LocalResources:
    bucket: str
    table: str
    ingest_queue_url: str
    ingest_queue_arn: str
    ingest_dlq_url: str
    completion_queue_url: str
    completion_queue_arn: str
    completion_dlq_url: str
    completion_topic_arn: str
    rekognition_role_arn: str


class _ReadWriteGate:
    """Many requests at once, or one snapshot alone."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False

    def enter(self) -> None:
        with self._condition:
            while self._writing:
                self._condition.wait()
            self._readers += 1

    def leave(self) -> None:
        with self._condition:
            self._readers -= 1
            self._condition.notify_all()

    def exclusive(self) -> _Exclusive:
        return _Exclusive(self)


class _Exclusive:
    def __init__(self, gate: _ReadWriteGate) -> None:
        self.gate = gate

    def __enter__(self) -> None:
        with self.gate._condition:
            while self.gate._writing:
                self.gate._condition.wait()
            self.gate._writing = True
            while self.gate._readers:
                self.gate._condition.wait()

    def __exit__(self, *exc: object) -> None:
        with self.gate._condition:
            self.gate._writing = False
            self.gate._condition.notify_all()


class AwsEmulator:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._gate = _ReadWriteGate()
        self._dynamodb = threading.Lock()
        self._changes = 0  # requests that may have changed state since the last snapshot
        self._saved_changes = 0
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        restored = self._restore()
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(
                self.host, self.port, self._gated(app), threaded=True, request_handler=MotoRequestHandler
            )
        except OSError as exc:
            raise EmulatorError(
                f"cannot listen on {self.host}:{self.port} for the AWS emulator: {exc.strerror}"
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        self.url = f"http://{self.host}:{self._server.server_address[1]}"
        if restored:
            _requeue_in_flight_messages()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self.snapshot()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    # -- state -------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.data_dir / _STATE_FILE

    def snapshot(self, force: bool = False) -> bool:
        """Write the state if anything may have changed since the last time; True when written."""
        from moto.backends import get_backend

        with self._gate.exclusive():
            if not force and self._changes == self._saved_changes:
                return False
            state = {name: dict(get_backend(name)) for name in _SERVICES}  # type: ignore[call-overload]
            data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            self._saved_changes = self._changes
        partial = self.state_file.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, self.state_file)
        return True

    def _restore(self) -> bool:
        from moto.backends import get_backend
        from moto.core.base_backend import BackendDict

        if not self.state_file.exists():
            BackendDict.reset()  # an earlier emulator in this process must not leak into this one
            return False
        try:
            state = pickle.loads(self.state_file.read_bytes())  # noqa: S301 - written by this program
        except Exception as exc:
            raise EmulatorError(
                f"{self.state_file} cannot be read ({type(exc).__name__}); move it away to start empty"
            ) from None
        for name in _SERVICES:
            backend = get_backend(name)  # type: ignore[call-overload]
            backend.clear()
            backend.update(state.get(name, {}))
            in_use: list[Any] = getattr(BackendDict, "_instances")  # noqa: B009 - moto's registry of backends in use
            if backend not in in_use:
                in_use.append(backend)
        return True

    def _gated(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
                return self._long_poll(once, environ, start_response)
            return once(environ, start_response)

        def once(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            self._gate.enter()
            body: list[bytes] = []
            try:
                # The response is produced before the gate opens again: the state it reflects
                # is inside the same consistent instant.
                if environ.get("HTTP_X_AMZ_TARGET", "").startswith(_DYNAMODB_TARGET):
                    # moto's DynamoDB takes no lock of its own: a Query walks the table's dicts in
                    # Python while a concurrent PutItem may resize them ("dictionary changed size
                    # during iteration", a 500), and a TransactWriteItems that fails restores a
                    # deep copy of the whole table, undoing writes made meanwhile. DynamoDB has
                    # neither problem, so here its requests run one at a time (the API and the
                    # pipeline's handlers call it concurrently).
                    with self._dynamodb:
                        body = list(app(environ, start_response))
                else:
                    body = list(app(environ, start_response))
                return body
            finally:
                if _may_change_state(environ, body):
                    self._changes += 1
                self._gate.leave()

        return gated

    def _long_poll(
        self,
        once: Callable[[dict[str, Any], Callable[..., Any]], list[bytes]],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> list[bytes]:
        """A long-polling ReceiveMessage as short receives, each inside the gate and none waiting in
        it: a snapshot waits for the requests in flight, and would otherwise wait out every
        event source's long poll, holding back every other request meanwhile."""
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            request = json.loads(raw)
            wait_s = float(request.get("WaitTimeSeconds") or 0)
        except (ValueError, AttributeError, TypeError):
            request, wait_s = None, 0.0
        if request is not None:
            request["WaitTimeSeconds"] = 0
            raw = json.dumps(request).encode()
        deadline = time.monotonic() + wait_s
        answer: list[Any] = []  # the status and headers of the latest receive

        def keep(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer[:] = [status, headers]
            return lambda data: None

        while True:
            attempt = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
            body = once(attempt, keep)
            received = any(b'"Messages"' in chunk for chunk in body)
            if received or not str(answer[0]).startswith("200") or time.monotonic() >= deadline:
                start_response(*answer)
                return body
            time.sleep(_LONG_POLL_STEP_S)

    # -- resources ---------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        # A session per client: boto3's default session is not thread-safe, and local mode's
        # threads (drop folder, event sources, API) make clients of their own.
        return boto3.session.Session().client(
            cast(Any, service),
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the emulator accepts any key
        )

    def provision(
        self, name: str = "displaysense-local", api_origins: Iterable[str] = ("*",)
    ) -> LocalResources:
        """Create the stack's resources, or find them again after a restart (idempotent)."""
        s3, sqs, sns, dynamodb = (self.client(s) for s in ("s3", "sqs", "sns", "dynamodb"))
        bucket = f"{name}-data"
        if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=bucket)
        # Set again at every start, so a data directory of an earlier version gets today's rules.
        # Local mode deletes analysed footage itself (retention 0), so the footage rule is the
        # stack's safety net. moto stores lifecycle rules but never applies them.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_cors(
            Bucket=bucket, CORSConfiguration={"CORSRules": [UPLOAD_CORS.s3_rule(tuple(api_origins))]}
        )
        lifecycle = data_bucket_lifecycle(
            footage_days=FOOTAGE_SAFETY_NET_DAYS, results_days=RESULTS_RETENTION_DAYS
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [rule.s3_rule() for rule in lifecycle]}
        )
        ingest_url, ingest_arn, ingest_dlq = self._queue(sqs, f"{name}-{INGEST_QUEUE.name}", INGEST_QUEUE)
        completion_url, completion_arn, completion_dlq = self._queue(
            sqs, f"{name}-{COMPLETION_QUEUE.name}", COMPLETION_QUEUE
        )
        configuration = s3.get_bucket_notification_configuration(Bucket=bucket)
        if not configuration.get("QueueConfigurations"):
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": ingest_arn,
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOADS_PREFIX}]}},
                        }
                    ]
                },
            )
        topic_arn = sns.create_topic(Name=f"AmazonRekognition-{name}-completions")["TopicArn"]
        subscribed = {
            s["Endpoint"]
            for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn).get("Subscriptions", [])
        }
        if completion_arn not in subscribed:
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=completion_arn)
        table = f"{name}-table"
        if table not in dynamodb.list_tables().get("TableNames", []):
            _create_table(dynamodb, table)
        return LocalResources(
            bucket=bucket,
            table=table,
            ingest_queue_url=ingest_url,
            ingest_queue_arn=ingest_arn,
            ingest_dlq_url=ingest_dlq,
            completion_queue_url=completion_url,
            completion_queue_arn=completion_arn,
            completion_dlq_url=completion_dlq,
            completion_topic_arn=topic_arn,
            rekognition_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{name}-rekognition",
        )

    @staticmethod
    def _queue(sqs: Any, name: str, definition: QueueDefinition) -> tuple[str, str, str]:
        retention = str(definition.retention_days * 24 * 3600)
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": retention})[
            "QueueUrl"
        ]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(definition.visibility_timeout_s),
                "MessageRetentionPeriod": retention,
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(definition.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn, dlq_url


_DYNAMODB_TARGET = "DynamoDB_20120810."
_LONG_POLL_STEP_S = 0.05  # how soon a message sent to an empty queue reaches a long poll
# Operations that only read: the pollers and the API call them all the time, and a snapshot is
# only worth writing after something changed.
_READS = frozenset(
    {
        "DynamoDB_20120810.GetItem",
        "DynamoDB_20120810.BatchGetItem",
        "DynamoDB_20120810.Query",
        "DynamoDB_20120810.Scan",
        "DynamoDB_20120810.DescribeTable",
        "DynamoDB_20120810.ListTables",
        "DynamoDB_20120810.DescribeTimeToLive",
        "AmazonSQS.GetQueueUrl",
        "AmazonSQS.GetQueueAttributes",
        "AmazonSQS.ListQueues",
    }
)


def _may_change_state(environ: dict[str, Any], body: list[bytes]) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target in _READS:
        return False
    if target == "AmazonSQS.ReceiveMessage":
        return any(b'"Messages"' in chunk for chunk in body)  # an empty receive changes nothing
    return True


def _create_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(**TABLE.create_table_request(name))


def _requeue_in_flight_messages() -> None:
    """Messages received by the previous run and not deleted had consumers that are gone now:
    make them visible at once instead of after the queue's visibility timeout."""
    from moto.backends import get_backend

    now_ms = time.time() * 1000
    for account in get_backend("sqs").values():
        for backend in account.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if message.visible_at > now_ms:
                        message.visible_at = 0.0
