"""The one place that builds adapters: per process (the Lambda cold start), from the settings the
environment holds, and hands them to the handlers as the use cases' ports.

Built lazily on the first invocation rather than at import, so tests and local mode can set the
environment (or install their own clients) first:

    wiring.install(Services(settings, AwsClients(table_name)))   # tests: moto clients, a Stubber
    wiring.install(None)                                          # back to the environment

Local mode runs every function in one process; `with wiring.scoped(own):` gives the code run inside
it (in that thread) its own services, as each Lambda function has its own process on AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property

from displaysense.adapters.aggregation_claims import AggregationClaims
from displaysense.adapters.aws_clients import AwsClients
from displaysense.adapters.camera_registry import CameraRegistry
from displaysense.adapters.footage_objects import FootageObjects
from displaysense.adapters.job_records import JobRecords
from displaysense.adapters.job_slots import JobSlots
from displaysense.adapters.message_queue import ContinuationQueue, MessageQueue
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.adapters.rekognition_jobs import RekognitionJobs
from displaysense.adapters.results_archive import ResultsArchive
from displaysense.adapters.upload_presigner import S3Presigner
from displaysense.adapters.video_listing import VideoListing
from displaysense.adapters.video_records import VideoRecords
from displaysense.api.service import ApiService
from displaysense.config import ServiceSettings
from displaysense.pipeline.ports import IngestPorts, ResultsPorts


@dataclass
class Services:
    settings: ServiceSettings
    clients: AwsClients
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def from_environment(cls) -> Services:
        settings = ServiceSettings.from_env()
        return cls(settings=settings, clients=AwsClients(settings.table_name))

    # ---- adapters ---------------------------------------------------------------------------

    @cached_property
    def cameras(self) -> CameraRegistry:
        return CameraRegistry(self.clients.table)

    @cached_property
    def videos(self) -> VideoRecords:
        return VideoRecords(self.clients.table, self.cameras, clock=self.clock)

    @cached_property
    def job_records(self) -> JobRecords:
        return JobRecords(self.clients.table, clock=self.clock)

    @cached_property
    def claims(self) -> AggregationClaims:
        return AggregationClaims(self.clients.table, self.videos, clock=self.clock)

    @cached_property
    def listing(self) -> VideoListing:
        return VideoListing(self.clients.table)

    @cached_property
    def slots(self) -> JobSlots:
        return JobSlots(self.clients.table, capacity=self.settings.max_concurrent_jobs, clock=self.clock)

    @cached_property
    def rekognition(self) -> RekognitionJobs:
        return RekognitionJobs(
            self.clients.rekognition,
            topic_arn=self.settings.completion_topic_arn,
            role_arn=self.settings.rekognition_role_arn,
        )

    @cached_property
    def archive(self) -> ResultsArchive:
        return ResultsArchive(self.clients.s3, self.settings.bucket_name)

    @cached_property
    def metrics_store(self) -> MetricsStore:
        return MetricsStore(self.clients.table)

    @cached_property
    def footage(self) -> FootageObjects:
        return FootageObjects(self.clients.s3)

    @cached_property
    def queue(self) -> MessageQueue:
        return MessageQueue(self.clients.sqs)

    # ---- what each function gets ------------------------------------------------------------

    def ingest_ports(self) -> IngestPorts:
        return IngestPorts(
            videos=self.videos,
            jobs=self.job_records,
            slots=self.slots,
            rekognition=self.rekognition,
            footage=self.footage,
            clock=self.clock,
        )

    def results_ports(self) -> ResultsPorts:
        url = self.settings.completion_queue_url
        return ResultsPorts(
            videos=self.videos,
            jobs=self.job_records,
            claims=self.claims,
            slots=self.slots,
            rekognition=self.rekognition,
            archive=self.archive,
            metrics=self.metrics_store,
            footage=self.footage,
            continuations=ContinuationQueue(self.queue, url) if url else None,
        )

    def api_service(self) -> ApiService:
        return ApiService(
            videos=self.videos,
            listing=self.listing,
            cameras=self.cameras,
            buckets=self.metrics_store,
            presigner=S3Presigner(self.clients.s3, self.settings.bucket_name),
            max_video_bytes=self.settings.max_video_bytes,
            upload_url_ttl_s=self.settings.upload_url_ttl_s,
        )


_lock = threading.Lock()
_services: Services | None = None
_scoped: ContextVar[Services | None] = ContextVar("displaysense_services", default=None)


def services() -> Services:
    global _services  # noqa: PLW0603 - the one per-process instance, by design
    own = _scoped.get()
    if own is not None:
        return own
    with _lock:
        if _services is None:
            _services = Services.from_environment()
        return _services


def install(replacement: Services | None) -> None:
    """Use `replacement` from now on (None: build from the environment at the next invocation)."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = replacement


@contextmanager
def scoped(own: Services) -> Iterator[Services]:
    """`services()` is `own` inside the block, in this thread (or task) only."""
    token = _scoped.set(own)
    try:
        yield own
    finally:
        _scoped.reset(token)
