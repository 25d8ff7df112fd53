"""Steps that might not finish before the Lambda timeout are not begun: the ingest handler hands its
messages back, and a results engine step that does not fit even a whole invocation fails the video
with a reason instead of timing out until its message reaches the dead-letter queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from displaysense.domain.video import JobKind, VideoStatus
from displaysense.pipeline import aggregation, job_starts

from tests.integration.handlers.conftest import Context, Pipeline, Scene


def timed(pipeline: Pipeline, start_ms: int, costs: dict[tuple[str, str], int]) -> Callable[[], Context]:
    """Contexts whose remaining time drops by `costs[(service, operation)]` for every such call made
    under them (`("s3", "GetObject")`, `("rekognition", "StartFaceDetection")`, ...)."""
    calls = {"spent": 0}
    clients = {"s3": pipeline.s3, "rekognition": pipeline.rekognition}
    for (service, operation), cost in costs.items():

        def spend(cost: int = cost, **_: Any) -> None:
            calls["spent"] += cost

        clients[service].meta.events.register(f"provide-client-params.{service}.{operation}", spend)

    def make() -> Context:
        base = calls["spent"]
        return Context(remaining=lambda: start_ms - (calls["spent"] - base))

    return make


# --- ingest ---------------------------------------------------------------------------------------


def test_ingest_hands_back_what_it_has_no_time_for(pipeline: Pipeline) -> None:
    first = pipeline.upload("uploads/store-1/cam-1/20261124T100000Z.mp4")
    second = pipeline.upload("uploads/store-1/cam-2/20261124T100000Z.mp4")
    pipeline.notify(first, second)  # one S3 event with two records
    pipeline.expect_starts(first)
    pipeline.expect_starts(second)
    # The first record's two starts take 50 s: what is left no longer covers the second's reserve.
    start_ms = job_starts.STEP_RESERVE_MS + 45_000
    contexts = timed(
        pipeline,
        start_ms,
        {("rekognition", "StartFaceDetection"): 25_000, ("rekognition", "StartLabelDetection"): 25_000},
    )
    handed_back, retried = pipeline.deliver("ingest", contexts)
    assert handed_back is not None and len(handed_back["batchItemFailures"]) == 1
    assert pipeline.visibility_changes == [0]  # visible again at once: the next poll takes it
    # A fresh invocation finds the first record done and does the second.
    assert retried == {"batchItemFailures": []}
    for upload in (first, second):
        video = pipeline.services.videos.get(upload.video_id)
        assert video is not None and video.status is VideoStatus.ANALYZING
    assert pipeline.services.slots.in_use() == 4


def test_ingest_does_not_begin_a_start_it_may_not_finish(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.notify(upload)
    faces = pipeline.expect_start(upload, JobKind.FACES)
    labels = pipeline.expect_start(upload, JobKind.LABELS)
    # Enough for the record and its first start; the 40 s that start takes leave too little for the
    # second, which the next invocation does (and only it: the faces job is not started twice).
    starts: list[str] = []
    for operation in ("StartFaceDetection", "StartLabelDetection"):
        pipeline.rekognition.meta.events.register(
            f"provide-client-params.rekognition.{operation}",
            lambda operation=operation, **_: starts.append(operation),
        )
    contexts = timed(
        pipeline, job_starts.STEP_RESERVE_MS + 30_000, {("rekognition", "StartFaceDetection"): 40_000}
    )
    handed_back, retried = pipeline.deliver("ingest", contexts)
    assert handed_back is not None and len(handed_back["batchItemFailures"]) == 1
    assert retried == {"batchItemFailures": []}
    assert starts == ["StartFaceDetection", "StartLabelDetection"]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert {k: j.job_id for k, j in video.jobs.items()} == {JobKind.FACES: faces, JobKind.LABELS: labels}
    assert pipeline.services.slots.in_use() == 2


# --- results: the engine step -----------------------------------------------------------------------


def analyzing(pipeline: Pipeline, scene: Scene) -> tuple[Any, dict[JobKind, str]]:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    return upload, jobs


def test_an_engine_step_longer_than_a_whole_invocation_fails_the_video(
    pipeline: Pipeline, scene: Scene
) -> None:
    upload, _ = analyzing(pipeline, scene)
    # Paging is quick; reading the archived pages back takes 100 s each: a fresh invocation (300 s)
    # is out of time after three of the eight.
    contexts = timed(pipeline, 300_000, {("s3", "GetObject"): 100_000})
    assert pipeline.deliver("completion", contexts) == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    pages = len(scene.faces) + len(scene.labels)
    assert video.reason == aggregation.too_long_reason(pages)
    assert "too long to aggregate within the results Lambda's timeout of 300 s" in video.reason
    assert "upload the recording in shorter parts" in video.reason
    assert pipeline.sent_to_completion == []  # nothing left to continue
    assert pipeline.camera_counts("store-1", "cam-1") == {"FAILED": 1}


def test_an_engine_step_cut_short_after_paging_gets_a_fresh_invocation_first(
    pipeline: Pipeline, scene: Scene
) -> None:
    upload, _ = analyzing(pipeline, scene)
    # Paging takes 20 s a page (160 s), which leaves the engine too little; the fresh invocation
    # that continues has all 300 s, and runs out too.
    contexts = timed(
        pipeline,
        300_000,
        {
            ("rekognition", "GetFaceDetection"): 20_000,
            ("rekognition", "GetLabelDetection"): 20_000,
            ("s3", "GetObject"): 100_000,
        },
    )
    answers = pipeline.deliver("completion", contexts)
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert len(pipeline.sent_to_completion) == 1  # one continuation, then the verdict
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.reason == aggregation.too_long_reason(len(scene.faces) + len(scene.labels))
