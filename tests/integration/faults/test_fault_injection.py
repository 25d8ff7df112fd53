"""Fault injection over the local pipeline (tests/support/faults.py): the moto server with the
stack's resources, the real ingest and results handlers driven through SQS, the Rekognition
stand-in behind a throttling proxy. Each faulted run must leave exactly what a clean run leaves.

Test queues are the stack's (resources.py: redrive policy, maxReceiveCount 50 and 5, batch sizes),
provisioned by local mode's emulator; only their visibility timeouts (360 s and 1800 s) and the
waits the handlers ask for are scaled by 1/360, so a retry comes after seconds instead of minutes.

Figures of a run are written to the JSON file named by DISPLAYSENSE_FAULTS_REPORT, when set
(docs/reliability.md, "Fault injection").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from displaysense.domain.rollup import STORED_GRAINS
from displaysense.resources import COMPLETION_QUEUE, INGEST_QUEUE, QueueDefinition

from tests.integration.faults.conftest import (
    CORRUPT_KEY,
    PAGE_SIZE,
    SAMPLE_KEYS,
    TEXT_KEY,
    CleanRun,
    upload_all,
)
from tests.support import aws_events
from tests.support.faults import SAMPLE, Faults, KillPoint, LocalPipeline, QueueName

pytestmark = pytest.mark.slow

# Whether a call is throttled is a hash of the seed and the request (ThrottlingProxy), so every run
# sees the same decisions. This seed is one where throttling also gets past botocore's one retry into
# each of the handlers' own paths: a Start* (ingest backs off), a result page (the results handler
# continues later) and the Get* that fetches a failed job's message.
SEED = 20261131
_ELSEWHERE = "uploads/store-a/cam-9/20261124T140000Z.mp4"
INGEST_POISON = (
    "this is not JSON",
    '[{"eventName": "ObjectCreated:Put"}]',  # JSON, but not an object
    json.dumps({"Records": _ELSEWHERE}),  # an S3 event's key, in the wrong shape
    json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}}]}),
    # valid JSON of the wrong kind: a Rekognition completion sent to the ingest queue
    aws_events.sns_envelope(
        aws_events.rekognition_completion(
            job_id="0" * 64,
            status="SUCCEEDED",
            api="StartLabelDetection",
            job_tag="a" * 32,
            bucket="b",
            key=_ELSEWHERE,
        ),
        "arn:aws:sns:us-east-1:123456789012:completion",
    ),
)
COMPLETION_POISON = (
    '{"JobId": "truncated',
    "42",
    json.dumps({"Type": "Notification", "Message": "not JSON"}),
    json.dumps({"type": "displaysense.results.continue"}),  # a continuation naming no video
    # valid JSON of the wrong kind: an S3 event sent to the completion queue
    aws_events.s3_event(aws_events.s3_record(bucket="b", key=_ELSEWHERE, size=10, version_id=None, etag="e")),
)


# Requests of the results handler that change nothing (step labels, tests/support/faults.py).
READS = ("Get", "Query")


def report(name: str, figures: dict[str, Any]) -> None:
    path = os.environ.get("DISPLAYSENSE_FAULTS_REPORT")
    if not path:
        return
    target = Path(path)
    found = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    found[name] = figures
    target.write_text(json.dumps(found, indent=1, sort_keys=True, default=str), encoding="utf-8")


def video_view(snapshot: dict[str, Any], key: str) -> dict[str, Any]:
    """One video's share of a snapshot, without where it was filed (store, camera, key)."""
    video = {k: v for k, v in snapshot["videos"][key].items() if k not in ("store", "camera")}
    buckets: dict[str, dict[str, Any]] = {}
    for where, items in snapshot["buckets"].items():
        for entry, counters in items.items():
            start, _, of = entry.partition(" ")
            if of == key:
                buckets.setdefault(where.rsplit("/", 1)[1], {})[start] = counters
    return {"video": video, "buckets": buckets, "passes": snapshot["passes"][key]}


def test_the_clean_run_is_a_reference_worth_comparing_with(clean: CleanRun) -> None:
    videos = clean.snapshot["videos"]
    assert {key: v["status"] for key, v in videos.items()} == {
        SAMPLE_KEYS[0]: "SUCCEEDED",
        SAMPLE_KEYS[1]: "SUCCEEDED",
        CORRUPT_KEY: "FAILED",
        TEXT_KEY: "REJECTED",
    }
    summary = videos[SAMPLE_KEYS[0]]["summary"]
    assert summary["foot_traffic"] > 5
    assert len(clean.snapshot["passes"][SAMPLE_KEYS[0]]) == summary["foot_traffic"]
    # Both sample videos are in the same buckets of camera 1 at every grain, one item each.
    view = video_view(clean.snapshot, SAMPLE_KEYS[0])
    assert set(view["buckets"]) == set(STORED_GRAINS)
    assert video_view(clean.snapshot, SAMPLE_KEYS[1])["buckets"]["1h"].keys() == view["buckets"]["1h"].keys()
    # The failed video carries the stand-in's message for a file it cannot decode.
    assert (
        videos[CORRUPT_KEY]["reason"]
        == "Rekognition <kind> job <job> ended FAILED: Unsupported codec/format."
    )
    assert videos[CORRUPT_KEY]["jobs"] == {
        "faces": ["FAILED", "Unsupported codec/format."],
        "labels": ["FAILED", "Unsupported codec/format."],
    }
    assert clean.snapshot["slots_held"] == 0
    # The results handler's work on one video: two pages per job, each archived and checkpointed.
    steps = " | ".join(clean.trace)
    for step in (
        "(claim)",
        "GetFaceDetection next page",
        "GetLabelDetection next page",
        "TransactWriteItems",
    ):
        assert step in steps
    assert sum("(save checkpoint)" in s for s in clean.trace) == 4
    assert sum(s.startswith("PutObject results") for s in clean.trace) == 4


def test_duplicates_reversed_order_throttling_a_failed_job_and_poison_change_nothing(
    clean: CleanRun, sample_analysis: bytes, tmp_path: Path
) -> None:
    faults = Faults(duplicate_and_reverse=True, throttle_rate=0.5, seed=SEED)
    with LocalPipeline(tmp_path, faults, page_size=PAGE_SIZE) as run:
        for body in INGEST_POISON:
            run.send_poison("ingest", body)
        for body in COMPLETION_POISON:
            run.send_poison("completion", body)
        upload_all(run, sample_analysis)
        run.start_consumers()
        marks = run.settle(timeout_s=300)
        snapshot = run.snapshot()
        figures = run.figures()
        dead = {q: run.dead_letters(q) for q in ("ingest", "completion")}
        poison = run.poison_copies()
        bodies = {q: source.delivery.bodies for q, source in run.sources.items()}
    report("storm", {**figures, **marks})

    # Identical outcome: statuses, summaries, every bucket at every grain, passes, camera counts,
    # the failed video's reason and Rekognition's message on its jobs, no slot held. One thing may
    # differ by timing alone: when a throttled start was deferred past the other job's failure,
    # ingest rightly never starts it (the video is already FAILED), so that job stays PENDING.
    snapshot = without_jobs_skipped_after_failure(snapshot, clean.snapshot)
    for key, video in clean.snapshot["videos"].items():
        assert snapshot["videos"].get(key) == video, key
    assert snapshot == clean.snapshot
    assert {v["status"] for v in snapshot["videos"].values()} <= {"SUCCEEDED", "FAILED", "REJECTED"}

    # Every poison message (and its duplicate) is in its own dead-letter queue, and nothing else:
    # handed to its handler maxReceiveCount times, then moved there by the redrive policy.
    assert dead == poison
    queues: tuple[tuple[QueueName, QueueDefinition], ...] = (
        ("ingest", INGEST_QUEUE),
        ("completion", COMPLETION_QUEUE),
    )
    for queue, definition in queues:
        for body in set(poison[queue]):
            assert bodies[queue][body] == 2 * definition.max_receive_count, (queue, body)
    # ... without holding anything up: every video was final long before the last poison left.
    assert marks["videos_final_s"] < marks["settled_s"] / 2

    # The faults did happen. Every S3 event and every completion was delivered at least twice,
    # batches in reverse order.
    for queue, _ in queues:
        assert figures["deliveries"][queue]["reversed_batches"] > 0
        assert all(n >= 2 for n in bodies[queue].values())
    # About half of the Start* and Get* calls were throttled, and some beyond botocore's retry:
    # ingest deferred a start (backoff) and the results handler continued later (delayed message).
    calls = sum(figures["rekognition_calls"].values())
    throttled = sum(figures["rekognition_throttled"].values())
    assert 0.35 * calls <= throttled <= 0.65 * calls
    assert any(s.startswith("ChangeMessageVisibility") for s in figures["scaled_waits"])
    assert "SendMessage DelaySeconds 60 s" in figures["scaled_waits"]
    # ... and a failed job's message read: its completion failed, beyond the poison, to be read again.
    poison_failures = len(poison["completion"]) * COMPLETION_QUEUE.max_receive_count
    assert figures["deliveries"]["completion"]["failed_items"] > poison_failures


NOT_STARTED = ["PENDING", None]


def without_jobs_skipped_after_failure(snapshot: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with each FAILED video's never-started jobs given the clean run's state, after
    checking that this is all that differs: another of its jobs carries the failure."""
    videos = dict(snapshot["videos"])
    for key, video in snapshot["videos"].items():
        expected = clean["videos"].get(key)
        if video["status"] != "FAILED" or expected is None:
            continue
        jobs = dict(video["jobs"])
        skipped = [k for k, j in jobs.items() if j == NOT_STARTED and expected["jobs"].get(k) != j]
        if skipped:
            assert any(j[0] == "FAILED" for j in jobs.values()), (key, jobs)
            jobs.update({k: expected["jobs"][k] for k in skipped})
            videos[key] = {**video, "jobs": jobs}
    return {**snapshot, "videos": videos}


def kill_points(steps: list[str], mode: str) -> list[KillPoint]:
    """Hard: dead before each request, and after the last (between one request's answer and the next
    request nothing durable happens). Soft: each request fails before it is sent, and each write fails
    after it took effect (its answer lost; a read's lost answer is the same as a failed read)."""
    if mode == "hard":
        return [KillPoint(n, "before", "hard") for n in range(1, len(steps) + 1)] + [
            KillPoint(len(steps), "after", "hard")
        ]
    points = []
    for n, step in enumerate(steps, start=1):
        points.append(KillPoint(n, "before", "soft"))
        if not step.startswith(READS):
            points.append(KillPoint(n, "after", "soft"))
    return points


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_the_results_handler_killed_at_each_step_then_retried_gives_the_clean_numbers(
    mode: str, clean: CleanRun, sample_analysis: bytes, tmp_path: Path
) -> None:
    points = kill_points(clean.trace, mode)
    plan = {f"uploads/store-k/cam-{n:03d}/20261124T140000Z.mp4": point for n, point in enumerate(points)}
    sample = SAMPLE.read_bytes()
    with LocalPipeline(
        tmp_path,
        Faults(kills=plan),
        page_size=PAGE_SIZE,
        max_concurrent_jobs=2 * len(plan),
        one_video_per_invocation=True,
    ) as run:
        for key in plan:
            run.upload(key, sample, analysis=sample_analysis)
        run.start_consumers()
        marks = run.settle(timeout_s=400)
        snapshot = run.snapshot()
        figures = run.figures()
        ids = {v.key: v.video_id for v in run.videos()}
        kills = {kill.video_id: kill for kill in run.tracer.kills}
        traces = run.tracer.traces
        dead = {q: run.dlq_depth(q) for q in ("ingest", "completion")}
    report(f"kills-{mode}", {**figures, **marks, "videos": len(plan), "steps": clean.trace})

    reference = video_view(clean.snapshot, SAMPLE_KEYS[0])
    assert len(kills) == len(plan)  # every kill fired, once
    for key, point in plan.items():
        vid = ids[key]
        # It died at the step it was aimed at: the same requests as the clean run up to there.
        assert kills[vid].point == point
        assert kills[vid].step == clean.trace[point.request - 1], key
        assert traces[vid][: point.request] == clean.trace[: point.request], key
        # ... and the retry finished it with exactly the clean run's numbers.
        assert video_view(snapshot, key) == reference, (key, str(point), kills[vid].step)
    assert snapshot["slots_held"] == 0
    assert dead == {"ingest": 0, "completion": 0}
    if mode == "hard":
        assert figures["deliveries"]["completion"]["crashes"] == len(plan)
