"""Local mode: time from dropping the 41 s sample to its metrics in the API, split into stages.

    python -m bench.bench_local_mode [--runs 3] [--sample-fps 5]

Each run starts local mode in this process on a fresh data directory (start-up is not counted) and
moves the sample into the drop folder. All marks are on this machine's clock: the object appearing
in the bucket (looked for every 20 ms); then what the pipeline itself records: the video item's
times (each job started and ended, analysed) and the Rekognition stand-in's job records (each job's
end); and last the first answer of the API with the new metrics (polled every 50 ms once they are
written). A stage that ends inside one handler invocation (the last job's end and the metrics are
written by the same results invocation) cannot be told apart by watching from outside.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from displaysense.domain.timeutil import parse_iso
from displaysense_local.local_command import DEMO_RECORDED_AT, api_get
from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions

SAMPLE = Path(__file__).parents[1] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
STORE, CAMERA = "bench-store", "window"
TIMEOUT_S = 600.0
# Each stage ends at the mark of the same name, and starts where the one before it ended:
#   upload      the drop folder's scans (a file must keep its size for one scan) and the S3 PUT
#   ingest      S3 event to SQS, the batching window, validation, registration, both Start* calls
#   analysis    the stand-in analysing the frames, to the end of its last job
#   completion  SNS to SQS, the batching window, the last job's end recorded by the results Lambda
#   results     claim, paging the Get* results, archive, engine, metric and pass writes, SUCCEEDED
#   api         the first answer of GET /stores/{store}/metrics with the new data
STAGES = ("upload", "ingest", "analysis", "completion", "results", "api")
T = TypeVar("T")


def one_run(sample_fps: float) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="displaysense-bench-"))
    options = LocalOptions(data_dir=root / "data", drop_dir=root / "drop", port=0, sample_fps=sample_fps)
    try:
        with LocalDeployment(options) as local:
            return _measure(local, options)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _measure(local: LocalDeployment, options: LocalOptions) -> dict[str, float]:
    assert local.resources is not None
    key = f"uploads/{STORE}/{CAMERA}/{DEMO_RECORDED_AT}.mp4"
    target = options.drop_dir / STORE / CAMERA / f"{DEMO_RECORDED_AT}.mp4"
    target.parent.mkdir(parents=True)
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(SAMPLE, partial)
    dropped = time.time()
    partial.rename(target)  # complete at once, as a camera's upload tool leaves it
    marks = {"drop": dropped}
    s3, bucket = local.emulator.client("s3"), local.resources.bucket
    marks["upload"] = _when(lambda: _stored(s3, bucket, key), 0.02)
    video_id = _until(lambda: _video_id(local, key), 0.2)
    item = _until(lambda: _analysed_item(local, video_id), 0.05)
    marks["api"] = _when(lambda: _metrics_shown(local), 0.05)

    jobs = item["jobs"].values()
    standin = _standin_jobs(options.data_dir)
    marks["ingest"] = max(_epoch(job["started_at"]) for job in jobs)
    marks["analysis"] = max(float(standin[job["job_id"]]["completed_at"]) for job in jobs)
    marks["completion"] = max(_epoch(job["ended_at"]) for job in jobs)
    marks["results"] = _epoch(item["analyzed_at"])
    durations, previous = {}, marks["drop"]
    for stage in STAGES:
        durations[stage] = marks[stage] - previous
        previous = marks[stage]
    durations["total"] = marks["api"] - marks["drop"]
    durations["frames"] = float(item.get("duration_ms", 0)) / 1000 * options.sample_fps
    return durations


def _when(condition: Callable[[], bool], interval_s: float) -> float:
    """The time at which `condition` was first seen true."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return time.time()
        time.sleep(interval_s)
    raise SystemExit(f"not within {TIMEOUT_S:.0f} s: {condition}")


def _until(value: Callable[[], T | None], interval_s: float) -> T:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        found = value()
        if found is not None:
            return found
        time.sleep(interval_s)
    raise SystemExit(f"not within {TIMEOUT_S:.0f} s: {value}")


def _stored(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def _video_id(local: LocalDeployment, key: str) -> str | None:
    for video in api_get(local, f"videos?store={STORE}").get("videos", []):
        if video["key"] == key:
            return str(video["video_id"])
    return None


def _analysed_item(local: LocalDeployment, video_id: str) -> dict[str, Any] | None:
    """The video item as the pipeline wrote it (with each job's start, which the API leaves out),
    once it is final."""
    assert local.resources is not None
    raw = local.emulator.client("dynamodb").get_item(
        TableName=local.resources.table, Key={"pk": {"S": f"VIDEO#{video_id}"}, "sk": {"S": "VIDEO"}}
    )
    if "Item" not in raw:
        return None
    deserialize = TypeDeserializer().deserialize
    item = {name: deserialize(value) for name, value in raw["Item"].items()}
    if item["status"] in ("FAILED", "REJECTED"):
        raise SystemExit(f"the sample was not analysed: {item['status']}: {item.get('reason')}")
    return item if item["status"] == "SUCCEEDED" else None


def _metrics_shown(local: LocalDeployment) -> bool:
    metrics = api_get(local, f"stores/{STORE}/metrics?from=2026-11-24T13:00:00Z&to=2026-11-24T15:00:00Z")
    return bool(metrics["totals"]["foot_traffic"] > 0)


def _standin_jobs(data_dir: Path) -> dict[str, dict[str, Any]]:
    jobs = (
        json.loads(p.read_text(encoding="utf-8")) for p in (data_dir / "rekognition" / "jobs").glob("*.json")
    )
    return {job["job_id"]: job for job in jobs}


def _epoch(iso: str) -> float:
    return parse_iso(iso).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample-fps", type=float, default=5.0)
    args = parser.parse_args()
    runs = [one_run(args.sample_fps) for _ in range(args.runs)]
    print(
        f"{args.runs} runs, sample 40.9 s, {args.sample_fps:g} frames analysed per second "
        f"({runs[0]['frames']:.0f} frames); median, min-max:"
    )
    for stage in (*STAGES, "total"):
        values = [r[stage] for r in runs]
        print(f"  {stage:<11} {statistics.median(values):6.2f} s   ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
