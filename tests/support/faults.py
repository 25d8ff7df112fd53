"""Fault injection over the local pipeline: the real moto server, the real handlers, the real
Rekognition stand-in, and faults injected at their boundaries.

    with LocalPipeline(workdir, Faults(duplicate_and_reverse=True, throttle_rate=0.5)) as run:
        run.upload("uploads/store-a/cam-1/20261124T140000Z.mp4", SAMPLE.read_bytes(), analysis=analysis)
        run.send_poison("ingest", "not json")
        run.start_consumers()
        run.settle(timeout_s=300)  # every video final, queues empty, poison in the dead-letter queues
        snapshot = run.snapshot()  # compared with a clean run's

What is real: `AwsEmulator` (moto over HTTP) with the stack's resources from `resources.py`; the
ingest and results handlers, unchanged, with their production boto3 clients and retry settings,
invoked with Lambda's SQS event by a variant of local mode's `SqsEventSource`; the Rekognition
stand-in, which publishes its completions on the emulator's SNS, delivered into the completion queue
in their SNS envelope by moto.

Faults, each where it happens in production:
- `ThrottlingProxy`: an HTTP proxy in front of the stand-in answers a share of Start* and Get* calls
  with Rekognition's throttling errors (its JSON error shape and status codes), decided by a seeded
  hash of the request, so the same logical request is throttled the same way in every run;
- `ChaosEventSource`: every message is delivered twice (a copy is sent into the queue, as S3 and SNS
  do at least once) and every batch is handed to the handler in reverse order; an invocation that
  dies (`LambdaCrash`) returns its whole batch to the queue;
- `ResultsTracer`: the results handler dies (or gets an error) at a chosen request of its work on a
  chosen video, counted from that video's first completion: every AWS request the handler makes is a
  step, seen through botocore's event hooks on the handler's own clients;
- poison messages are sent straight into the queues (`send_poison`).

Time is compressed: one real second stands for `1 / TIME_SCALE` = 360 seconds. Queue visibility
timeouts, the backoffs the ingest handler sets and the delays the results handler asks for are
scaled by `TIME_SCALE` (whole seconds, at least one, as SQS takes them). Everything else (leases,
`maxReceiveCount`, batch sizes, the handlers' own constants) is production's. The clock the handlers
read (`ShiftedClock`) is where compressed time is made explicit: whenever a message is made to wait
(its invocation died, or its item failed), the clock jumps by the production wait (the visibility
timeout, or the backoff the handler set) before anything else runs, so a dead invocation's claim
lease (6 minutes) has ended when its message returns (30 minutes), as on AWS. Without the jump the
retry would find the lease still running and leave the video to a holder that no longer exists.

The stand-in analyses footage for real (about 15 s for the 41 s sample on a laptop). A run can
instead give it the analysis it made of the same bytes before (`upload(..., analysis=...)`): its own
cache, keyed by the object version, is filled before the job starts, so the detections, the result
pages and everything after them are the stand-in's, without decoding the frames again. Identical
detections are also what makes "identical metrics to a clean run" a well-posed comparison.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from displaysense.adapters.aws_clients import AwsClients
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.domain.rollup import STORED_GRAINS
from displaysense.domain.video import Video
from displaysense.handlers import ingest, results, wiring
from displaysense.pipeline.messages import Completion, Continuation, parse_body
from displaysense.resources import (
    COMPLETION_QUEUE,
    INGEST_FUNCTION,
    INGEST_QUEUE,
    RESULTS_FUNCTION,
    FunctionDefinition,
    QueueDefinition,
)
from displaysense_local.lambda_context import LambdaContext
from displaysense_local.local_mode.deployment import local_environment, local_settings
from displaysense_local.local_mode.emulator import REGION, AwsEmulator, LocalResources
from displaysense_local.local_mode.event_sources import Handler, SqsEventSource
from displaysense_local.rekognition import RekognitionStandIn

from tests.support.tables import TableAdapters

log = logging.getLogger("displaysense.faults")

SAMPLE = Path(__file__).resolve().parents[2] / "local/displaysense_local/samples/storefront-walkby.mp4"
# Local mode's analysis rate (LocalOptions.sample_fps): the analysis reused across runs is made at it.
SAMPLE_FPS = 5.0
TIME_SCALE = 1 / 360
QueueName = Literal["ingest", "completion"]
_COPY_ATTRIBUTE = "fault-injection"


def scaled_s(production_s: int) -> int:
    """A production wait in compressed time: whole seconds (SQS takes no fractions), at least one."""
    if production_s <= 0:
        return 0
    return max(1, math.ceil(production_s * TIME_SCALE))


class ShiftedClock:
    """Real time plus the waits compressed time skipped: the clock the handlers' adapters read."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    @property
    def skipped_s(self) -> float:
        return self._offset


class LambdaCrash(BaseException):
    """The invocation dies where this is raised (timeout, out of memory, a killed container): no
    `except Exception` sees it, nothing after it runs, no batch response is returned."""


# ---- Rekognition: throttling at the HTTP boundary --------------------------------------------------

# Rekognition's throttling errors. ThrottlingException is a server fault in the service model
# (botocore's rekognition service-2.json: "fault": true), so a 5xx; the other two are client errors
# (the API reference gives LimitExceededException HTTP 400). Get* never answers LimitExceeded.
_START_ERRORS: tuple[tuple[str, int, str], ...] = (
    ("ThrottlingException", 500, "Amazon Rekognition is temporarily unable to process the request."),
    ("ProvisionedThroughputExceededException", 400, "The number of requests exceeded your throughput limit."),
    ("LimitExceededException", 400, "An Amazon Rekognition service limit was exceeded."),
)
_GET_ERRORS = _START_ERRORS[:2]


@dataclass
class ProxyStats:
    calls: Counter[str] = field(default_factory=Counter)  # by operation
    throttled: Counter[str] = field(default_factory=Counter)  # by operation
    codes: Counter[str] = field(default_factory=Counter)  # by error code


class ThrottlingProxy:
    """Rekognition's endpoint for the handlers: forwards to the stand-in, except for the Start* and
    Get* calls it throttles.

    Whether a call is throttled is a seeded hash of what the call asks for (operation, object or job,
    page, and how many times that same request came before), not of its arrival order, so thread
    timing does not change which logical requests are refused. `max_results` caps a Get* page below
    the 1000 the handler asks for (Rekognition may return fewer; the stand-in returns what is asked),
    so short footage still has several pages to page, archive and checkpoint. The stand-in checks no
    signature, so rewriting the body is harmless.
    """

    def __init__(self, upstream: str, *, rate: float, seed: int, max_results: int | None) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.seed = seed
        self.max_results = max_results
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._job_objects: dict[str, str] = {}  # JobId -> S3 object name, learnt from Start* answers
        self._tokens: dict[str, dict[str, int]] = {}  # JobId -> NextToken -> page ordinal
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                status, content_type, answer = proxy.handle(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("x-amzn-RequestId", "fault-proxy")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per call would drown the test log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="throttling-proxy", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        operation = headers.get("X-Amz-Target", headers.get("x-amz-target", "")).rpartition(".")[2]
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if isinstance(request, dict) and operation.startswith(("Start", "Get")):
            with self._lock:
                self.stats.calls[operation] += 1
                error = self._throttle(operation, request)
                if error is not None:
                    code, status, message = error
                    self.stats.throttled[operation] += 1
                    self.stats.codes[code] += 1
                    return status, _JSON, json.dumps({"__type": code, "message": message}).encode()
            if operation.startswith("Get") and self.max_results:
                asked = request.get("MaxResults")
                if isinstance(asked, int) and asked > self.max_results:
                    request["MaxResults"] = self.max_results
                    body = json.dumps(request).encode()
        status, content_type, answer = self._forward(path, headers, body)
        if status == 200 and operation.startswith("Start") and isinstance(request, dict):
            job_id = json.loads(answer).get("JobId")
            video = request.get("Video") or {}
            with self._lock:
                self._job_objects[str(job_id)] = str((video.get("S3Object") or {}).get("Name"))
        return status, content_type, answer

    def _throttle(self, operation: str, request: dict[str, Any]) -> tuple[str, int, str] | None:
        if self.rate <= 0:
            return None
        if operation.startswith("Start"):
            what = str(((request.get("Video") or {}).get("S3Object") or {}).get("Name"))
            errors = _START_ERRORS
        else:
            job = str(request.get("JobId"))
            pages = self._tokens.setdefault(job, {})
            token = request.get("NextToken")
            page = pages.setdefault(str(token), len(pages)) if token else 0
            what = f"{self._job_objects.get(job, job)}|page {page}|max {request.get('MaxResults')}"
            errors = _GET_ERRORS
        name = f"{operation}|{what}"
        attempt = self._seen[name]
        self._seen[name] += 1
        digest = hashlib.sha256(f"{self.seed}|{name}|{attempt}".encode()).digest()
        rng = random.Random(digest)  # fault injection, not security
        if rng.random() >= self.rate:
            return None
        return rng.choice(errors)

    def _forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            connection.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", _JSON), response.read()
        finally:
            connection.close()


_JSON = "application/x-amz-json-1.1"
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding"})


# ---- the results handler killed at a step ---------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    """Where the results handler dies while working on one video.

    `request` counts the AWS requests the handler made for that video (1 is the first request of its
    first completion). `before`: the request never leaves. `after`: it took effect, the handler never
    sees the answer. `hard`: the invocation dies (LambdaCrash; its claim stays until the lease ends,
    its whole batch returns after the visibility timeout). `soft`: the call fails with a network
    error after botocore's retries (EndpointConnectionError before, ReadTimeoutError after): the
    handler's own error handling runs.
    """

    request: int
    phase: Literal["before", "after"] = "before"
    mode: Literal["hard", "soft"] = "hard"

    def __str__(self) -> str:
        return f"{self.mode} kill {self.phase} request {self.request}"


@dataclass(frozen=True)
class Kill:
    video_id: str
    point: KillPoint
    step: str  # the request's label (`step_label`)


# How the table adapters' updates read (adapters/job_records.py, aggregation_claims.py, video_records.py,
# job_slots.py); only labels.
_UPDATES = (
    ("ended_at", "record job end"),
    ("#cp = :cp", "save checkpoint"),
    ("SET #owner", "claim"),
    ("REMOVE #owner", "release claim"),
    ("footage_deleted_at", "mark footage deleted"),
    ("jobs.#k.job_id = if_not_exists", "record job start"),
)


def step_label(service: str, operation: str, params: Mapping[str, Any]) -> str:
    """A readable name for one request of the handler: what it does, not its arguments."""
    if service == "dynamodb":
        return _table_step(operation, params)
    if service == "s3":
        parts = str(params.get("Key") or params.get("Prefix") or "").split("/")
        if parts[0] == "results" and len(parts) >= 4:
            return f"{operation} results {parts[2]} {parts[3].split('.')[0]}"
        return f"{operation} {parts[0]}/"
    if service == "rekognition":
        return f"{operation} {'next page' if params.get('NextToken') else 'first page'}"
    return operation


def _table_step(operation: str, params: Mapping[str, Any]) -> str:
    if operation == "BatchWriteItem":
        writes: Counter[str] = Counter()
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key"
                )
                writes[_partition((item or {}).get("pk")).lower()] += 1
        return "BatchWriteItem " + " + ".join(f"{n} {kind}" for kind, n in sorted(writes.items()))
    if operation == "Query":
        partition = _partition((params.get("ExpressionAttributeValues") or {}).get(":pk"))
    else:
        partition = _partition((params.get("Key") or {}).get("pk"))
    expression = str(params.get("UpdateExpression", ""))
    for needle, name in _UPDATES:
        if needle in expression:
            return f"{operation} {partition} ({name})"
    return f"{operation} {partition}".rstrip()


def _partition(value: Any) -> str:
    """The item kind of a partition key (VIDEO, SLOTS, METRICS, PASSES), typed ({"S": ...}) or not."""
    if isinstance(value, Mapping):
        value = value.get("S", "")
    return str(value or "").split("#", 1)[0]


class ResultsTracer:
    """Numbers the results handler's AWS requests per video, and kills it where a plan says.

    Attached to the handler's own clients through botocore's event hooks: `before-parameter-build`
    (once per call, before botocore's retries) and `after-call` (the answer is in). Requests are
    attributed to the video whose message the handler is processing (`working_on`, set around
    `results.process_message`); the ingest handler's requests are not counted. After a hard kill,
    every further request of the same invocation raises LambdaCrash too: the process is dead, and
    code in `finally` blocks (boto3's batch writer flushes on exit) must not reach AWS.
    """

    _STEP = "displaysense_fault_step"

    def __init__(self, plan: Mapping[str, KillPoint] | None = None) -> None:
        self.plan: dict[str, KillPoint] = dict(plan or {})
        self.traces: dict[str, list[str]] = {}
        self.kills: list[Kill] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, clients: AwsClients) -> None:
        for client in (clients.table.meta.client, clients.s3, clients.sqs, clients.rekognition):
            client.meta.events.register("before-parameter-build", self._before)
            client.meta.events.register("after-call", self._after)

    @contextlib.contextmanager
    def working_on(self, video_id: str | None) -> Iterator[None]:
        self._local.video = video_id
        try:
            yield
        finally:
            self._local.video = None

    def begin_invocation(self) -> None:
        """A fresh invocation (a fresh process, as far as the dead flag goes)."""
        self._local.dead = False

    def _before(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        video = getattr(self._local, "video", None)
        if video is None:
            return
        if getattr(self._local, "dead", False):
            raise LambdaCrash("the invocation is dead")
        label = step_label(model.service_model.service_name, model.name, params)
        with self._lock:
            trace = self.traces.setdefault(video, [])
            trace.append(label)
            number = len(trace)
        context[self._STEP] = (video, number, label)
        self._fire(video, number, "before", label)

    def _after(self, context: Mapping[str, Any], **_: Any) -> None:
        step = context.get(self._STEP)
        if step is not None:
            video, number, label = step
            self._fire(video, number, "after", label)

    def _fire(self, video: str, number: int, phase: str, label: str) -> None:
        point = self.plan.get(video)
        if point is None or (point.request, point.phase) != (number, phase):
            return
        with self._lock:
            if any(k.video_id == video for k in self.kills):
                return  # once per video: the retry must be able to proceed
            self.kills.append(Kill(video, point, label))
        if point.mode == "hard":
            self._local.dead = True
            raise LambdaCrash(f"{point} ({label})")
        if phase == "before":
            raise EndpointConnectionError(endpoint_url="fault-injection")
        raise ReadTimeoutError(endpoint_url="fault-injection")


# ---- Lambda's SQS event source, with duplicates, reversed batches and crashes ---------------------


@dataclass
class DeliveryStats:
    invocations: int = 0
    records: int = 0
    redelivered: int = 0  # records received before (ApproximateReceiveCount > 1)
    duplicates_sent: int = 0
    reversed_batches: int = 0  # batches of two or more records handed over in reverse order
    crashes: int = 0
    failed_items: int = 0
    errors: int = 0
    bodies: Counter[str] = field(default_factory=Counter)  # deliveries of each message body


class ChaosEventSource(SqsEventSource):
    """Local mode's event source mapping, plus the faults of at-least-once delivery.

    With `duplicate_and_reverse`: each message received for the first time is sent into the queue
    once more (S3 and SNS deliver at least once; the copy is marked so it is not copied again), and
    each batch reaches the handler in reverse order of arrival. A `LambdaCrash` out of the handler
    returns the whole batch (it is deleted only after a response) and the handlers' clock jumps by
    the production visibility timeout, which is what passes before SQS shows those messages again.
    """

    def __init__(
        self,
        sqs: Any,
        *,
        duplicate_and_reverse: bool,
        one_video_per_invocation: bool,
        clock: ShiftedClock,
        tracer: ResultsTracer,
        queue_url: str,
        queue_arn: str,
        queue: QueueDefinition,
        function: FunctionDefinition,
        handler: Handler,
        invoke_lock: threading.Lock,
    ) -> None:
        super().__init__(
            sqs,
            queue_url=queue_url,
            queue_arn=queue_arn,
            queue=queue,
            function=function,
            handler=handler,
            region=REGION,
            invoke_lock=invoke_lock,
        )
        self.duplicate_and_reverse = duplicate_and_reverse
        self.one_video_per_invocation = one_video_per_invocation
        self.clock = clock
        # Visibility timeouts the handler set on received messages (production seconds), by receipt.
        self.waits: dict[str, int] = {}
        self.tracer = tracer
        self.delivery = DeliveryStats()

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.delivery.bodies[message["Body"]] += 1
        if self.duplicate_and_reverse:
            for message in messages:
                first = message.get("Attributes", {}).get("ApproximateReceiveCount", "1") == "1"
                if first and _COPY_ATTRIBUTE not in message.get("MessageAttributes", {}):
                    self.sqs.send_message(
                        QueueUrl=self.queue_url,
                        MessageBody=message["Body"],
                        MessageAttributes={
                            _COPY_ATTRIBUTE: {"DataType": "String", "StringValue": "duplicate"}
                        },
                    )
                    self.delivery.duplicates_sent += 1
            if len(messages) > 1:
                messages = messages[::-1]
                self.delivery.reversed_batches += 1
        if not self.one_video_per_invocation:
            self._deliver(messages)
            return
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for message in messages:
            groups.setdefault(_video_of(message["Body"]), []).append(message)
        for group in groups.values():
            self._deliver(group)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        """One invocation with `messages` as its batch; deletes what succeeded (Lambda's job)."""
        self.delivery.invocations += 1
        self.delivery.records += len(messages)
        self.delivery.redelivered += sum(
            1 for m in messages if m.get("Attributes", {}).get("ApproximateReceiveCount", "1") != "1"
        )
        event = {"Records": [self._record(m) for m in messages]}
        with self.invoke_lock:
            self.tracer.begin_invocation()
            try:
                response = self.handler(event, LambdaContext(self.function))
            except LambdaCrash:
                self.delivery.crashes += 1
                self.clock.advance(self.queue.visibility_timeout_s)
                return
            except Exception:
                self.delivery.errors += 1
                log.exception("%s handler failed", self.function.name)
                return
            failed = {f.get("itemIdentifier") for f in (response or {}).get("batchItemFailures", [])}
            if failed:
                # A failed message returns after the queue's visibility timeout, or after the backoff
                # the handler set on it: that much production time passes before it is seen again.
                self.clock.advance(
                    max(
                        self.waits.pop(m["ReceiptHandle"], self.queue.visibility_timeout_s)
                        for m in messages
                        if m["MessageId"] in failed
                    )
                )
        self.delivery.failed_items += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )


def _video_of(body: str) -> str | None:
    """The video a completion-queue message is about (None: not one the handler understands)."""
    parsed = parse_body(body)
    if isinstance(parsed, Continuation):
        return parsed.video_id
    if isinstance(parsed, Completion):
        return parsed.job_tag
    return None


# ---- one run of the pipeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    duplicate_and_reverse: bool = False
    throttle_rate: float = 0.0
    seed: int = 20261124
    kills: Mapping[str, KillPoint] = field(default_factory=dict)  # by S3 key


@dataclass(frozen=True)
class Upload:
    key: str
    version_id: str
    etag: str


@dataclass
class _Observer:
    """Reads the outcome through clients of its own (no hooks, no faults)."""

    registry: TableAdapters
    metrics: MetricsStore
    table: Any
    sqs: Any


class LocalPipeline:
    """One run: a fresh emulator, stand-in and proxy in `workdir`, the handlers wired to them."""

    def __init__(
        self,
        workdir: Path,
        faults: Faults = Faults(),
        *,
        page_size: int | None = None,
        max_concurrent_jobs: int = 20,
        one_video_per_invocation: bool = False,
    ) -> None:
        self.workdir = workdir
        # Completions of different videos in separate invocations: a kill aimed at one video's step
        # then never replays another video's messages (a crash returns the whole batch), which
        # would shift that video's request count away from the step it is aimed at.
        self.one_video_per_invocation = one_video_per_invocation
        self.faults = faults
        self.page_size = page_size
        self.max_concurrent_jobs = max_concurrent_jobs
        self.clock = ShiftedClock()
        self.tracer = ResultsTracer()
        self.uploads: list[Upload] = []
        self.poison: dict[QueueName, list[str]] = {"ingest": [], "completion": []}
        self.scaled_waits: Counter[str] = Counter()  # "<operation> <production seconds> s": how often
        self.started_at = 0.0
        self.sources: dict[QueueName, ChaosEventSource] = {}
        self._env: dict[str, str | None] = {}
        self._emulator: AwsEmulator | None = None
        self._standin: RekognitionStandIn | None = None
        self.proxy: ThrottlingProxy | None = None
        self._resources: LocalResources | None = None
        self._observer: _Observer | None = None
        self._original_process_message: Callable[..., None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> LocalPipeline:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        (self.workdir / "aws").mkdir(parents=True, exist_ok=True)
        self._emulator = AwsEmulator(self.workdir / "aws")
        aws_url = self._emulator.start()
        resources = self._resources = self._emulator.provision(name="displaysense-faults")
        sqs = self._emulator.client("sqs")
        # The stack's queues (resources.py: redrive policy, maxReceiveCount), their visibility
        # timeouts compressed like every other wait.
        for url, definition in (
            (resources.ingest_queue_url, INGEST_QUEUE),
            (resources.completion_queue_url, COMPLETION_QUEUE),
        ):
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"VisibilityTimeout": str(scaled_s(definition.visibility_timeout_s))}
            )
        self._standin = RekognitionStandIn(
            self.workdir / "rekognition",
            s3_endpoint_url=aws_url,
            sns_endpoint_url=aws_url,
            max_concurrent_jobs=self.max_concurrent_jobs,
            sample_fps=SAMPLE_FPS,
            region=REGION,
        )
        standin_url = self._standin.start()
        self.proxy = ThrottlingProxy(
            standin_url, rate=self.faults.throttle_rate, seed=self.faults.seed, max_results=self.page_size
        )
        proxy_url = self.proxy.start()
        self._set_env(local_environment(aws_url, proxy_url))
        # Local mode's settings: retention 0, so the footage delete is a step too.
        settings = local_settings(resources, max_concurrent_jobs=self.max_concurrent_jobs)
        # The production clients (AwsClients: endpoints from the environment, production retries).
        clients = AwsClients(resources.table)
        services = wiring.Services(settings=settings, clients=clients, clock=self.clock)
        self.tracer.attach(clients)
        clients.sqs.meta.events.register(
            "provide-client-params.sqs.ChangeMessageVisibility", self._scale_visibility
        )
        clients.sqs.meta.events.register("provide-client-params.sqs.SendMessage", self._scale_delay)
        wiring.install(services)
        self._wrap_process_message()
        observer_table = boto3.resource(
            "dynamodb",
            endpoint_url=aws_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).Table(resources.table)
        self._observer = _Observer(
            registry=TableAdapters(observer_table, clock=self.clock),
            metrics=MetricsStore(observer_table),
            table=observer_table,
            sqs=sqs,
        )

    def stop(self) -> None:
        for source in self.sources.values():
            source.stop()
        self.sources.clear()
        if self._original_process_message is not None:
            results.process_message = self._original_process_message
            self._original_process_message = None
        wiring.install(None)
        self._restore_env()
        for part in (self.proxy, self._standin, self._emulator):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        self.proxy = self._standin = self._emulator = None

    # -- input -------------------------------------------------------------------------------------

    @property
    def resources(self) -> LocalResources:
        assert self._resources is not None, "the pipeline is not running"
        return self._resources

    def upload(self, key: str, body: bytes, *, analysis: bytes | None = None) -> Upload:
        """Puts an object under uploads/ (moto sends its S3 event to the ingest queue). With
        `analysis`, the stand-in's analysis of these same bytes, made before: it is given to the
        stand-in's cache for this object version, before any consumer runs."""
        assert self._emulator is not None and self._standin is not None and self._standin.store is not None
        answer = self._emulator.client("s3").put_object(Bucket=self.resources.bucket, Key=key, Body=body)
        upload = Upload(key, answer["VersionId"], answer["ETag"].strip('"'))
        self.uploads.append(upload)
        if analysis is not None:
            # JobStore keys its analyses by bucket, key, version, ETag and analysis settings
            # (JobStore._analysis_key); a Job stand-in with those fields is all it reads.
            job = SimpleNamespace(bucket=self.resources.bucket, name=key, version=upload.version_id)
            name = cast(Any, self._standin.store)._analysis_key(job)
            (self._standin.data_dir / "analyses" / f"{name}.json").write_bytes(analysis)
        return upload

    def send_poison(self, queue: QueueName, body: str) -> None:
        url = self.resources.ingest_queue_url if queue == "ingest" else self.resources.completion_queue_url
        self._sqs.send_message(QueueUrl=url, MessageBody=body)
        self.poison[queue].append(body)

    def start_consumers(self) -> None:
        """Lambda's event source mappings start polling (both handlers run one at a time, as in
        local mode)."""
        lock = threading.Lock()
        resources = self.resources
        for name, url, arn, queue, function, handler in (
            (
                "ingest",
                resources.ingest_queue_url,
                resources.ingest_queue_arn,
                INGEST_QUEUE,
                INGEST_FUNCTION,
                ingest.handler,
            ),
            (
                "completion",
                resources.completion_queue_url,
                resources.completion_queue_arn,
                COMPLETION_QUEUE,
                RESULTS_FUNCTION,
                results.handler,
            ),
        ):
            source = ChaosEventSource(
                self._emulator_client("sqs"),
                duplicate_and_reverse=self.faults.duplicate_and_reverse,
                one_video_per_invocation=self.one_video_per_invocation and name == "completion",
                clock=self.clock,
                tracer=self.tracer,
                queue_url=url,
                queue_arn=arn,
                queue=queue,
                function=function,
                handler=handler,
                invoke_lock=lock,
            )
            self.sources[cast(QueueName, name)] = source
        self.started_at = time.monotonic()
        for source in self.sources.values():
            source.start()

    # -- waiting -----------------------------------------------------------------------------------

    def videos(self) -> list[Video]:
        found, cursor = [], None
        while True:
            page, cursor = self.observer.registry.listing.list_videos(
                store=None, camera=None, status=None, start=None, end=None, limit=200, cursor=cursor
            )
            found.extend(page)
            if cursor is None:
                return found

    def queue_depth(self, queue: QueueName) -> int:
        url = self.resources.ingest_queue_url if queue == "ingest" else self.resources.completion_queue_url
        return _depth(self._sqs, url)

    def dlq_depth(self, queue: QueueName) -> int:
        url = self.resources.ingest_dlq_url if queue == "ingest" else self.resources.completion_dlq_url
        return _depth(self._sqs, url)

    def settled(self) -> bool:
        """Every upload has a video and every video is final; both queues are empty; every poison
        message sent is in its dead-letter queue."""
        videos = self.videos()
        keys = {v.key for v in videos}
        return (
            all(u.key in keys for u in self.uploads)
            and all(v.status.final for v in videos)
            and all(self.queue_depth(q) == 0 for q in ("ingest", "completion"))
            and all(self.dlq_depth(q) >= len(bodies) for q, bodies in self.poison_copies().items())
        )

    def settle(self, timeout_s: float) -> dict[str, float]:
        """Waits until `settled()`. Returns when (seconds after the consumers started) every video
        was final, and when the run settled (queues empty, poison in the dead-letter queues)."""
        deadline = time.monotonic() + timeout_s
        marks: dict[str, float] = {}
        while True:
            videos = self.videos()
            keys = {v.key for v in videos}
            every = all(u.key in keys for u in self.uploads) and all(v.status.final for v in videos)
            if "videos_final_s" not in marks and every:
                marks["videos_final_s"] = time.monotonic() - self.started_at
            if "videos_final_s" in marks and self.settled():
                marks["settled_s"] = time.monotonic() - self.started_at
                return marks
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout_s} s: {self.describe()}")
            time.sleep(0.25)

    def poison_copies(self) -> dict[QueueName, list[str]]:
        """The poison bodies each dead-letter queue must end up with (duplicated, when messages are)."""
        times = 2 if self.faults.duplicate_and_reverse else 1
        return {q: sorted(b for b in bodies for _ in range(times)) for q, bodies in self.poison.items()}

    def describe(self) -> str:
        statuses = Counter(v.status.value for v in self.videos())
        depths = {q: (self.queue_depth(q), self.dlq_depth(q)) for q in ("ingest", "completion")}
        return f"videos {dict(statuses)} of {len(self.uploads)} uploads, (queue, dlq) depths {depths}"

    # -- outcome -----------------------------------------------------------------------------------

    @property
    def observer(self) -> _Observer:
        assert self._observer is not None, "the pipeline is not running"
        return self._observer

    def dead_letters(self, queue: QueueName) -> list[str]:
        """The bodies in a dead-letter queue (received and left there)."""
        url = self.resources.ingest_dlq_url if queue == "ingest" else self.resources.completion_dlq_url
        bodies: list[str] = []
        while True:
            got = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            messages = got.get("Messages", [])
            if not messages:
                return sorted(bodies)
            bodies.extend(m["Body"] for m in messages)

    def snapshot(self) -> dict[str, Any]:
        """Everything a run leaves that a clean run must equal, with run-specific ids (video ids,
        job ids, times) left out: per video by key, its status, summary, passes and jobs; every
        metric bucket item at every grain; every pass record; the camera registry; job slots held."""
        observer = self.observer
        videos = sorted(self.videos(), key=lambda v: v.key)
        keys = {v.video_id: v.key for v in videos}
        shot: dict[str, Any] = {"videos": {}, "buckets": {}, "passes": {}, "cameras": {}}
        for video in videos:
            shot["videos"][video.key] = {
                "store": video.store,
                "camera": video.camera,
                "recorded_at": video.recorded_at,
                "status": video.status.value,
                "reason": _without(video.reason, [j.job_id for j in video.jobs.values()]),
                "summary": None if video.summary is None else video.summary.to_dict(),
                "duration_ms": video.duration_ms,
                "jobs": {k.value: [j.status, j.message] for k, j in sorted(video.jobs.items())},
            }
            shot["passes"][video.key] = observer.metrics.read_passes(video.video_id)
        for camera in observer.registry.cameras.list_cameras():
            shot["cameras"][f"{camera.store}/{camera.camera}"] = {
                "counts": {k: v for k, v in sorted(camera.counts.items()) if v},
                "first_recorded_at": camera.first_recorded_at,
                "last_recorded_at": camera.last_recorded_at,
            }
            for grain in STORED_GRAINS:
                items = _query(observer.table, f"METRICS#{camera.store}#{camera.camera}#{grain}")
                if items:
                    shot["buckets"][f"{camera.store}/{camera.camera}/{grain}"] = {
                        f"{item['bucket_start']} {keys.get(str(item['video_id']), item['video_id'])}": item[
                            "counters"
                        ]
                        for item in items
                    }
        # Slot items still held, whatever their lease says: a crash skips hours of the clock, which
        # would make a leaked slot look free.
        shot["slots_held"] = sum(1 for item in _query(observer.table, "SLOTS") if item.get("holder"))
        return shot

    def figures(self) -> dict[str, Any]:
        """What the run measured, for the report."""
        assert self.proxy is not None
        return {
            "deliveries": {q: vars(s.delivery) for q, s in self.sources.items()},
            "rekognition_calls": dict(self.proxy.stats.calls),
            "rekognition_throttled": dict(self.proxy.stats.throttled),
            "throttle_codes": dict(self.proxy.stats.codes),
            "scaled_waits": dict(self.scaled_waits),
            "kills": len(self.tracer.kills),
            "clock_skipped_s": self.clock.skipped_s,
        }

    # -- internals ---------------------------------------------------------------------------------

    @property
    def _sqs(self) -> Any:
        return self.observer.sqs

    def _emulator_client(self, service: str) -> Any:
        assert self._emulator is not None
        return self._emulator.client(service)

    def _scale_visibility(self, params: dict[str, Any], **_: Any) -> None:
        production = int(params.get("VisibilityTimeout", 0))
        for source in self.sources.values():
            if source.queue_url == params.get("QueueUrl"):
                source.waits[str(params.get("ReceiptHandle"))] = production
        params["VisibilityTimeout"] = scaled_s(production)
        self.scaled_waits[f"ChangeMessageVisibility {production} s"] += 1

    def _scale_delay(self, params: dict[str, Any], **_: Any) -> None:
        production = int(params.get("DelaySeconds", 0))
        if production:
            params["DelaySeconds"] = scaled_s(production)
            self.scaled_waits[f"SendMessage DelaySeconds {production} s"] += 1

    def _wrap_process_message(self) -> None:
        """The results handler's per-record step (looked up at call time by its batch processor)
        runs under `tracer.working_on(<the message's video>)`."""
        original = results.process_message
        tracer = self.tracer
        plan = self.faults.kills

        def traced(record: Any, services: wiring.Services, budget: Any) -> None:
            video = _video_of(record.body)
            if video is not None and video not in tracer.plan and plan:
                known = self.observer.registry.videos.get(video)
                if known is not None and known.key in plan:
                    tracer.plan[video] = plan[known.key]
            with tracer.working_on(video):
                original(record, services, budget)

        self._original_process_message = original
        results.process_message = traced

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._env.clear()


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _query(table: Any, pk: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}
    while True:
        answer = table.query(**request)
        items.extend(answer["Items"])
        if "LastEvaluatedKey" not in answer:
            return items
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _without(text: str | None, ids: list[str | None]) -> str | None:
    """A reason with run-specific job ids taken out. A failed video's reason names the job whose
    failure came first, which depends on the order of the completions: the kind is taken out too."""
    if text is None:
        return None
    for job_id in ids:
        if job_id:
            text = text.replace(job_id, "<job>")
    return text.replace("labels job <job>", "<kind> job <job>").replace("faces job <job>", "<kind> job <job>")


def analyse_sample(workdir: Path, timeout_s: float = 600) -> bytes:
    """The stand-in's analysis of the sample footage, made for real once (its analyses/*.json)."""
    (workdir / "aws").mkdir(parents=True, exist_ok=True)
    emulator = AwsEmulator(workdir / "aws")
    url = emulator.start()
    try:
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket="sample")
        s3.put_object(Bucket="sample", Key="sample.mp4", Body=SAMPLE.read_bytes())
        with RekognitionStandIn(workdir / "rekognition", url, url, sample_fps=SAMPLE_FPS) as standin:
            rekognition = boto3.client(
                "rekognition",
                endpoint_url=standin.url,
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            job = rekognition.start_face_detection(
                Video={"S3Object": {"Bucket": "sample", "Name": "sample.mp4"}}
            )
            deadline = time.monotonic() + timeout_s
            while (
                rekognition.get_face_detection(JobId=job["JobId"], MaxResults=1)["JobStatus"] == "IN_PROGRESS"
            ):
                if time.monotonic() > deadline:
                    raise AssertionError(f"the stand-in did not analyse the sample in {timeout_s} s")
                time.sleep(0.5)
        [analysis] = (workdir / "rekognition" / "analyses").glob("*.json")
        return analysis.read_bytes()
    finally:
        emulator.stop()
