"""The objects a handler works with, built once per process (the Lambda cold start) and shared.

Built lazily on the first invocation rather than at import, so tests and local mode can set the
environment (or install their own clients) first:

    wiring.install(Services(settings, AwsClients(table_name)))   # tests: moto clients, a Stubber
    wiring.install(None)                                          # back to the environment

Local mode runs every function in one process; `with wiring.container(own):` gives the code run
inside it (in that thread) its own services, as each Lambda function has its own process on AWS.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property

from displaysense.adapters.aws import AwsClients
from displaysense.adapters.job_slots import JobSlots
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.adapters.rekognition_jobs import RekognitionJobs
from displaysense.adapters.results_archive import ResultsArchive
from displaysense.adapters.video_registry import VideoRegistry
from displaysense.config import ServiceSettings

# Powertools reads these itself; defaults for local mode and tests, where nobody sets them.
SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "displaysense")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DisplaySense")


@dataclass
class Services:
    settings: ServiceSettings
    clients: AwsClients
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def from_environment(cls) -> Services:
        settings = ServiceSettings.from_env()
        return cls(settings=settings, clients=AwsClients(settings.table_name))

    @cached_property
    def registry(self) -> VideoRegistry:
        return VideoRegistry(self.clients.table, clock=self.clock)

    @cached_property
    def slots(self) -> JobSlots:
        return JobSlots(self.clients.table, capacity=self.settings.max_concurrent_jobs, clock=self.clock)

    @cached_property
    def jobs(self) -> RekognitionJobs:
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


_lock = threading.Lock()
_services: Services | None = None
_container: ContextVar[Services | None] = ContextVar("displaysense_container", default=None)


def services() -> Services:
    global _services  # noqa: PLW0603 - the one per-process instance, by design
    own = _container.get()
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
def container(own: Services) -> Iterator[Services]:
    """`services()` is `own` inside the block, in this thread (or task) only."""
    token = _container.set(own)
    try:
        yield own
    finally:
        _container.reset(token)
