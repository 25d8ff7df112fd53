"""Crashes, time running low and expired page tokens: the retry or the continuation finishes the
video with exactly the numbers of a clean run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from displaysense.domain.video import JobKind, VideoStatus
from displaysense.pipeline import aggregation, result_paging
from displaysense.resources import COMPLETION_QUEUE

from tests.integration.handlers.checks import assert_clean_run
from tests.integration.handlers.conftest import Context, LambdaCrash, Pipeline, Scene, Upload


def analyzing(pipeline: Pipeline) -> tuple[Upload, dict[JobKind, str]]:
    upload = pipeline.upload()
    pipeline.notify(upload)
    jobs = pipeline.expect_starts(upload)
    pipeline.deliver("ingest")
    return upload, jobs


def complete_both(pipeline: Pipeline, upload: Upload, jobs: dict[JobKind, str]) -> None:
    pipeline.complete(upload, JobKind.LABELS, jobs[JobKind.LABELS])
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])


def visibility_timeout_passes(pipeline: Pipeline) -> None:
    """The crashed invocation's message returns after the queue's visibility timeout."""
    pipeline.clock.advance(COMPLETION_QUEUE.visibility_timeout_s)
    assert pipeline.redeliver("completion") >= 1


def test_crash_while_paging_resumes_from_the_checkpoint(pipeline: Pipeline, scene: Scene) -> None:
    upload, jobs = analyzing(pipeline)
    # The first attempt gets three face pages and dies archiving the third.
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces[:3])
    archive = pipeline.services.archive
    original = archive.put_page
    puts = 0

    def crash_on_third(*args: Any) -> str:
        nonlocal puts
        puts += 1
        if puts == 3:
            raise LambdaCrash
        return original(*args)

    archive.put_page = crash_on_third  # type: ignore[method-assign]
    complete_both(pipeline, upload, jobs)
    assert None in pipeline.deliver("completion")
    archive.put_page = original  # type: ignore[method-assign]
    assert pipeline.archived(upload.video_id, JobKind.FACES) == [0, 1]
    claim = pipeline.services.claims.get(upload.video_id)
    assert claim is not None and claim.owner  # the dead invocation's claim is still there
    assert claim.checkpoint.stream(JobKind.FACES).pages == 2

    # A duplicate delivered while the lease runs does not aggregate (and is not retried).
    pipeline.complete(upload, JobKind.FACES, jobs[JobKind.FACES])
    assert pipeline.deliver("completion") == [{"batchItemFailures": []}]

    # Later the crashed message returns: the lease is over, paging resumes at page 2.
    visibility_timeout_passes(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces, first=2)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    answers = pipeline.deliver("completion")
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert_clean_run(pipeline, upload, scene)
    assert pipeline.camera_counts("store-1", "cam-1") == {"SUCCEEDED": 1}


def test_crash_while_writing_metrics_then_retry_gives_the_same_numbers(
    pipeline: Pipeline, scene: Scene
) -> None:
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    store = pipeline.services.metrics_store
    original = store.write_video

    def write_wrong_then_die(video: Any, metrics: Any, passes: list[Any]) -> Any:
        # Half-done writes that differ from the truth: three extra passes, doubled counters.
        original(video, metrics, passes + passes[:3])
        raise LambdaCrash

    store.write_video = write_wrong_then_die  # type: ignore[method-assign]
    complete_both(pipeline, upload, jobs)
    assert None in pipeline.deliver("completion")
    store.write_video = original  # type: ignore[method-assign]
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING

    # Every page is archived: the retry reads the archive and calls no Get* (nothing is stubbed).
    visibility_timeout_passes(pipeline)
    answers = pipeline.deliver("completion")
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert_clean_run(pipeline, upload, scene)


def test_an_error_mid_aggregation_releases_the_claim_for_the_retry(pipeline: Pipeline, scene: Scene) -> None:
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces[:3])
    archive = pipeline.services.archive
    original = archive.put_page
    puts = 0

    def refuse_third(*args: Any) -> str:
        nonlocal puts
        puts += 1
        if puts == 3:
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "PutObject"
            )
        return original(*args)

    archive.put_page = refuse_third  # type: ignore[method-assign]
    complete_both(pipeline, upload, jobs)
    answers = pipeline.deliver("completion")
    archive.put_page = original  # type: ignore[method-assign]
    assert any(a and a["batchItemFailures"] for a in answers)
    claim = pipeline.services.claims.get(upload.video_id)
    assert claim is not None and claim.owner == ""  # released: the retry need not wait for the lease

    pipeline.redeliver("completion")  # no lease to wait for
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces, first=2)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    pipeline.deliver("completion")
    assert_clean_run(pipeline, upload, scene)


def budget(pipeline: Pipeline, per_get_ms: int, start_ms: int = 300_000) -> Callable[[], Context]:
    """Contexts whose remaining time drops by `per_get_ms` with each Get* call made under them."""
    calls = {"n": 0}

    def count(**_: Any) -> None:
        calls["n"] += 1

    for operation in ("GetLabelDetection", "GetFaceDetection"):
        pipeline.rekognition.meta.events.register(f"provide-client-params.rekognition.{operation}", count)

    def make() -> Context:
        base = calls["n"]
        return Context(remaining=lambda: start_ms - per_get_ms * (calls["n"] - base))

    return make


def test_time_running_low_continues_in_fresh_invocations(pipeline: Pipeline, scene: Scene) -> None:
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    complete_both(pipeline, upload, jobs)
    # 90 s per page: after three pages less than PAGE_RESERVE_MS is left.
    answers = pipeline.deliver("completion", budget(pipeline, per_get_ms=90_000))
    assert all(a == {"batchItemFailures": []} for a in answers)
    pages = len(scene.faces) + len(scene.labels)
    # three pages an invocation; when the last invocation reads three, the engine needs one more
    hand_offs = pages // 3
    assert [json.loads(m)["video_id"] for m in pipeline.sent_to_completion] == [upload.video_id] * hand_offs
    claim = pipeline.services.claims.get(upload.video_id)
    assert claim is not None and claim.checkpoint.continuations == hand_offs
    assert_clean_run(pipeline, upload, scene)


def test_the_engine_gets_a_fresh_invocation_when_paging_used_up_the_time(
    pipeline: Pipeline, scene: Scene
) -> None:
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    complete_both(pipeline, upload, jobs)
    # 60 s per page, and 95 s left before the last page: more than PAGE_RESERVE_MS, so every page is
    # read; the 35 s left after it are short of the engine estimate (30 s + 1.5 s per page).
    pages = len(scene.faces) + len(scene.labels)
    assert result_paging.PAGE_RESERVE_MS <= 95_000
    start_ms = 95_000 + (pages - 1) * 60_000
    contexts = budget(pipeline, per_get_ms=60_000, start_ms=start_ms)
    gets = {"n": 0, "at_hand_off": -1}

    def count(**_: Any) -> None:
        gets["n"] += 1

    def hand_off(**_: Any) -> None:
        gets["at_hand_off"] = gets["n"]

    for operation in ("GetLabelDetection", "GetFaceDetection"):
        pipeline.rekognition.meta.events.register(f"provide-client-params.rekognition.{operation}", count)
    pipeline.sqs.meta.events.register("provide-client-params.sqs.SendMessage", hand_off)
    answers = pipeline.deliver("completion", contexts)
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert len(pipeline.sent_to_completion) == 1
    assert gets["at_hand_off"] == pages  # handed off after the last page: for the engine
    assert_clean_run(pipeline, upload, scene)


def test_an_expired_page_token_restarts_paging_from_the_first_page(pipeline: Pipeline, scene: Scene) -> None:
    upload, jobs = analyzing(pipeline)
    # First invocation: three face pages, then time runs low and it hands off.
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces[:3])
    # The continuation's NextToken is refused (they live 24 hours): paging starts over.
    pipeline.stubber.add_client_error(
        "get_face_detection",
        service_error_code="InvalidPaginationTokenException",
        service_message="Invalid Token",
        expected_params={
            "JobId": jobs[JobKind.FACES],
            "MaxResults": 1000,
            "NextToken": scene.faces[2]["NextToken"],
        },
    )
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    complete_both(pipeline, upload, jobs)
    answers = pipeline.deliver("completion", budget(pipeline, per_get_ms=90_000))
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert pipeline.sent_to_completion  # it did continue in fresh invocations
    claim = pipeline.services.claims.get(upload.video_id)
    assert claim is not None and claim.checkpoint.stream(JobKind.FACES).restarts == 1
    assert_clean_run(pipeline, upload, scene)


def test_retention_zero_deletes_the_footage_even_after_a_crash(
    make_pipeline: Callable[..., Pipeline], scene: Scene
) -> None:
    pipeline = make_pipeline(footage_retention_days=0)
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    original = aggregation.delete_footage_if_due

    def die(*_: Any) -> None:
        raise LambdaCrash

    aggregation.delete_footage_if_due = die  # type: ignore[assignment]
    try:
        complete_both(pipeline, upload, jobs)
        assert None in pipeline.deliver("completion")
    finally:
        aggregation.delete_footage_if_due = original  # type: ignore[assignment]
    assert_clean_run(pipeline, upload, scene)  # SUCCEEDED, but the footage is still there
    assert pipeline.s3.head_object(Bucket="displaysense-data", Key=upload.key, VersionId=upload.version_id)

    visibility_timeout_passes(pipeline)
    assert all(a == {"batchItemFailures": []} for a in pipeline.deliver("completion"))
    versions = pipeline.s3.list_object_versions(Bucket="displaysense-data", Prefix="uploads/")
    assert upload.version_id not in [v["VersionId"] for v in versions.get("Versions", [])]
    assert_clean_run(pipeline, upload, scene)


def test_without_a_completion_queue_it_goes_on_in_the_same_invocation(
    make_pipeline: Callable[..., Pipeline], scene: Scene
) -> None:
    pipeline = make_pipeline(completion_queue_url="")
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    complete_both(pipeline, upload, jobs)
    answers = pipeline.deliver("completion", budget(pipeline, per_get_ms=90_000))
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert pipeline.sent_to_completion == []
    assert_clean_run(pipeline, upload, scene)


def test_a_throttled_page_continues_after_a_pause(pipeline: Pipeline, scene: Scene) -> None:
    upload, jobs = analyzing(pipeline)
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces[:2])
    pipeline.stubber.add_client_error(
        "get_face_detection",
        service_error_code="ProvisionedThroughputExceededException",
        http_status_code=400,
    )
    complete_both(pipeline, upload, jobs)
    assert all(a == {"batchItemFailures": []} for a in pipeline.deliver("completion"))
    assert pipeline.delays == [result_paging.THROTTLED_DELAY_S]  # a delayed continuation, not a failure
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING

    # The delay passes (moto keeps DelaySeconds in real time: send the continuation again).
    pipeline.sqs.purge_queue(QueueUrl=pipeline.completion_url)
    pipeline.sqs.send_message(QueueUrl=pipeline.completion_url, MessageBody=pipeline.sent_to_completion[0])
    pipeline.expect_pages(JobKind.FACES, jobs[JobKind.FACES], scene.faces, first=2)
    pipeline.expect_pages(JobKind.LABELS, jobs[JobKind.LABELS], scene.labels)
    assert all(a == {"batchItemFailures": []} for a in pipeline.deliver("completion"))
    assert_clean_run(pipeline, upload, scene)
