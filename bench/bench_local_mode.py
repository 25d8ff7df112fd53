"""Local mode: time from dropping the 41 s sample to its metrics in the API, split into stages.

    python -m bench.bench_local_mode [--runs 3] [--sample-fps 5]

Each run starts local mode in this process on a fresh data directory (start-up is not counted),
copies the sample into the drop folder, and polls every 50 ms what a user or operator could
observe: the object in the bucket (drop folder upload), the video registered and its jobs started
(ingest), the jobs ended (analysis by the Rekognition stand-in), the video SUCCEEDED (results:
paging, archive, engine, metrics written), and the store's metrics answered by the API.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from displaysense_local.local_command import DEMO_RECORDED_AT, api_get
from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions

SAMPLE = Path(__file__).parents[1] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
STORE, CAMERA = "bench-store", "window"
STAGES = ("upload", "ingest", "analysis", "results", "api")


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
    s3 = local.emulator.client("s3")
    key = f"uploads/{STORE}/{CAMERA}/{DEMO_RECORDED_AT}.mp4"
    target = options.drop_dir / STORE / CAMERA / f"{DEMO_RECORDED_AT}.mp4"
    target.parent.mkdir(parents=True)
    marks: dict[str, float] = {}
    start = time.monotonic()
    shutil.copyfile(SAMPLE, target)
    while "api" not in marks:
        now = time.monotonic() - start
        if now > 600:
            raise SystemExit(f"no metrics after 600 s; reached {marks}")
        if "upload" not in marks and _exists(s3, local.resources.bucket, key):
            marks["upload"] = now
        video = _video(local, key) if "upload" in marks else None
        if video is not None:
            jobs = video.get("jobs", {}).values()
            if "ingest" not in marks and video["status"] in ("ANALYZING", "SUCCEEDED"):
                marks["ingest"] = now
            if "analysis" not in marks and jobs and all(j.get("ended_at") for j in jobs):
                marks["analysis"] = now
            if "results" not in marks and video["status"] == "SUCCEEDED":
                marks["results"] = now
        if "results" in marks:
            metrics = api_get(
                local, f"stores/{STORE}/metrics?from=2026-11-24T13:00:00Z&to=2026-11-24T15:00:00Z"
            )
            if metrics["totals"]["foot_traffic"] > 0:
                marks["api"] = time.monotonic() - start
        time.sleep(0.05)
    durations, previous = {}, 0.0
    for stage in STAGES:
        mark = max(marks.get(stage, previous), previous)
        durations[stage] = mark - previous
        previous = mark
    durations["total"] = previous
    return durations


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def _video(local: LocalDeployment, key: str) -> dict[str, Any] | None:
    for video in api_get(local, f"videos?store={STORE}").get("videos", []):
        if video["key"] == key:
            return dict(api_get(local, f"videos/{video['video_id']}"))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample-fps", type=float, default=5.0)
    args = parser.parse_args()
    runs = [one_run(args.sample_fps) for _ in range(args.runs)]
    print(
        f"{args.runs} runs, sample 40.9 s, {args.sample_fps:g} frames analysed per second (median, min-max):"
    )
    for stage in (*STAGES, "total"):
        values = [r[stage] for r in runs]
        print(f"  {stage:<9} {statistics.median(values):6.1f} s   ({min(values):.1f}-{max(values):.1f})")


if __name__ == "__main__":
    main()
