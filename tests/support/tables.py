"""The table adapters over one DynamoDB table, as the handlers' wiring builds them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from displaysense.adapters.aggregation_claims import AggregationClaims
from displaysense.adapters.camera_registry import CameraRegistry
from displaysense.adapters.job_records import JobRecords
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.adapters.video_listing import VideoListing
from displaysense.adapters.video_records import VideoRecords


@dataclass
class TableAdapters:
    table: Any
    clock: Callable[[], float] = time.time
    cameras: CameraRegistry = field(init=False)
    videos: VideoRecords = field(init=False)
    jobs: JobRecords = field(init=False)
    claims: AggregationClaims = field(init=False)
    listing: VideoListing = field(init=False)
    metrics: MetricsStore = field(init=False)

    def __post_init__(self) -> None:
        self.cameras = CameraRegistry(self.table)
        self.videos = VideoRecords(self.table, self.cameras, clock=self.clock)
        self.jobs = JobRecords(self.table, clock=self.clock)
        self.claims = AggregationClaims(self.table, self.videos, clock=self.clock)
        self.listing = VideoListing(self.table)
        self.metrics = MetricsStore(self.table)
