"""A moto-backed table filled the way the pipeline fills it: videos registered, moved through their
states and completed by the table adapters, metrics computed by the engine from synthetic Rekognition
pages and written by the MetricsStore. Shared by the API integration tests and the browser test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.domain.drop_folder import upload_key
from displaysense.domain.engine import PassList, analyze
from displaysense.domain.settings import EngineSettings
from displaysense.domain.timeutil import iso_s, parse_iso
from displaysense.domain.video import JobKind, Video, VideoStatus
from displaysense.domain.video_ids import video_id
from displaysense.resources import TABLE

from tests.support import scenario as sc
from tests.support.tables import TableAdapters

BUCKET = "displaysense-test"
JOBS = (JobKind.LABELS, JobKind.FACES)
# What the Rekognition stand-in of local mode does not estimate.
LOCAL_MODE_MISSING = ("AgeRange", "Gender", "Eyeglasses", "Sunglasses", "Beard", "Mustache")


def create_table(name: str) -> Any:
    """The table of resources.TABLE in the current (moto) DynamoDB."""
    return boto3.resource("dynamodb").create_table(**TABLE.create_table_request(name))


@dataclass
class Seeder:
    tables: TableAdapters
    metrics: MetricsStore
    settings: EngineSettings = field(default_factory=EngineSettings)

    def _video(
        self, store: str, camera: str, recorded_at: str, status: VideoStatus, reason: str | None
    ) -> Video:
        key = upload_key(store, camera, recorded_at, "mp4")
        return Video(
            video_id=video_id(BUCKET, key, f"version:{recorded_at}"),
            store=store,
            camera=camera,
            bucket=BUCKET,
            key=key,
            version_id=recorded_at,
            size=50_000_000,
            recorded_at=iso_s(int(parse_iso(recorded_at).timestamp())),
            status=status,
            created_at=recorded_at,
            updated_at=recorded_at,
            reason=reason,
        )

    def analysed(
        self,
        store: str,
        camera: str,
        recorded_at: str,
        *,
        seed: int,
        duration_s: float = 300.0,
        without: tuple[str, ...] = (),
        **scene: Any,
    ) -> Video:
        """A video analysed end to end: Rekognition-shaped pages of a synthetic scene, the engine,
        the registry's state machine and the metrics store. `without` names face attributes the
        faces do not carry (local mode's stand-in: LOCAL_MODE_MISSING)."""
        video = self._video(store, camera, recorded_at, VideoStatus.QUEUED, None)
        self.tables.videos.register(video, expected_jobs=JOBS)
        self.tables.videos.transition(
            video.video_id, VideoStatus.ANALYZING, allowed_from=[VideoStatus.QUEUED]
        )
        for kind in JOBS:
            self.tables.jobs.record_job_started(video.video_id, kind, f"job-{kind.value}-{seed}")
            self.tables.jobs.record_job_end(
                video.video_id, kind, job_id=f"job-{kind.value}-{seed}", status="SUCCEEDED", message=None
            )
        plan = sc.make_scene(seed, duration_s=duration_s, **scene)
        rendered = sc.render(plan, sc.Noise(), seed)
        passes = PassList()
        faces = sc.face_pages(plan, rendered)
        for page in faces:
            for entry in page["Faces"]:
                for name in without:
                    entry["Face"].pop(name, None)
        result = analyze(
            labels=sc.label_pages(plan, rendered),
            faces=faces,
            settings=self.settings,
            recorded_at_ms=int(parse_iso(recorded_at).timestamp()) * 1000,
            pass_sink=passes,
        )
        claim = self.tables.claims.claim(video.video_id, "seeder", 300)
        assert claim is not None
        self.metrics.write_video(video, result, passes.records)
        done = self.tables.claims.complete(
            video.video_id,
            "seeder",
            summary=result.summary,
            duration_ms=int(duration_s * 1000),
            passes=len(passes.records),
        )
        return done.video

    def rejected(
        self, store: str, camera: str, recorded_at: str, reason: str, *, time_known: bool = True
    ) -> Video:
        """A rejected upload; with time_known=False `recorded_at` is its upload time, as ingest lists
        an upload whose recording time it cannot read (the camera's range is left alone)."""
        video = self._video(store, camera, recorded_at, VideoStatus.REJECTED, reason)
        stored, _ = self.tables.videos.register(video, expected_jobs=(), time_known=time_known)
        return stored
