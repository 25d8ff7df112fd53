"""Local mode under a burst: N uploads dropped at once, drained under a small job cap; then the API
under load from a second process.

    python -m bench.bench_burst [--uploads 200] [--cap 4] [--quota 20] [--timeout 1500]
                                [--load-seconds 20] [--load-concurrency 8] [--json PATH] [--keep DIR]

Local mode runs in this process on a fresh data directory (start-up not counted). The footage is
short clips (1-2 s) cut from the project's sample by remuxing (`tests/support/mp4_clips.py`), each
from another start and of another length, under distinct stores, cameras and recording times, plus
a few bad files (text, empty, bad ids, unknown time, wrong extension, truncated MP4s). All files
are written aside and renamed into the drop folder within a few milliseconds.

DisplaySense's job cap (`DS_MAX_CONCURRENT_JOBS`, `--cap`) is set below the Rekognition
stand-in's own quota (`--quota`, like an account's 20 jobs), so the stand-in would accept a job
too many: how many of its jobs ran at once is measured there, independently of DisplaySense's
job slots, from the start and end time of every job it recorded (exact, no sampling) and by
polling its health endpoint every 20 ms. The job slot items in DynamoDB are polled too.

It waits until every upload's video is final (SUCCEEDED, FAILED or REJECTED) or `--timeout`
passes, then checks each file's video through the API, the stand-in's jobs (two per analysed
video, none started twice) and the queues (nothing left, nothing in a dead-letter queue), and
finally runs `bench.load_api` in a subprocess against the API now holding the burst's data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions

from bench.load_api import percentile
from tests.support.mp4_clips import cut_clip, frame_rate, sample_count, sync_samples

SAMPLE = Path(__file__).parents[1] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
FINAL = ("SUCCEEDED", "FAILED", "REJECTED")
STORES = 4
CAMERAS = 5
FIRST_RECORDING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Upload:
    relative: str  # path under the drop folder; the S3 key is uploads/<relative>
    content: bytes
    expected: str  # the final status the product defines for it


def burst_files(count: int, sample: bytes) -> list[Upload]:
    """`count` uploads: a handful of bad files, the rest distinct clips of the sample."""
    clip = cut_clip(sample, first=0, frames=60)
    bad = [
        Upload("burst-1/cam-1/20261123T070000Z.mp4", b"not a video, just text\n", "REJECTED"),
        Upload("burst-1/cam-1/20261123T070100Z.mp4", b"", "REJECTED"),
        Upload("Burst_Store/cam-1/20261123T070200Z.mp4", clip, "REJECTED"),  # bad store id
        Upload("burst-2/cam 1/20261123T070300Z.mp4", clip, "REJECTED"),  # space in the camera id
        Upload("burst-2/kamera-ü/20261123T070400Z.mp4", clip, "REJECTED"),  # non-ASCII camera id
        Upload("burst-3/cam-1/yesterday-morning.mp4", clip, "REJECTED"),  # no recording time
        Upload("burst-3/cam-2/20261123T070600Z.avi", clip, "REJECTED"),  # not .mp4/.mov
        # An MP4 whose frames are cut off: it passes the container check at ingest, and the
        # analysis (Rekognition's, here the stand-in's) refuses it: FAILED with its message.
        Upload("burst-4/cam-1/20261123T070700Z.mp4", clip[: clip.find(b"mdat") + 4 + 300], "FAILED"),
    ]
    if count < len(bad) + 1:
        raise ValueError(f"a burst needs at least {len(bad) + 1} uploads")
    starts = sync_samples(sample)
    fps = round(frame_rate(sample))
    samples = sample_count(sample)
    good = []
    for i in range(count - len(bad)):
        # Start at one of the sample's sync samples; 1 to 2 s long. The pairs (start, length)
        # repeat only after lcm(len(starts), fps + 1) uploads, so each clip differs in content too.
        first = starts[i % len(starts)]
        frames = min(fps + (i * 37) % (fps + 1), samples - first)
        recorded = FIRST_RECORDING + timedelta(minutes=7 * i)
        relative = f"burst-{i % STORES + 1}/cam-{(i // STORES) % CAMERAS + 1}/{recorded:%Y%m%dT%H%M%SZ}.mp4"
        good.append(Upload(relative, cut_clip(sample, first=first, frames=frames), "SUCCEEDED"))
    # Bad files spread through the burst rather than all at its start.
    uploads = list(good)
    for n, upload in enumerate(bad):
        uploads.insert((n + 1) * len(uploads) // (len(bad) + 1), upload)
    return uploads


class ConcurrencyProbe:
    """Polls, in a thread, the stand-in's running jobs (its health endpoint) and the job slot items."""

    def __init__(self, local: LocalDeployment, interval_s: float = 0.02, slots_every: int = 10) -> None:
        assert local.resources is not None
        self.standin_url = os.environ["AWS_ENDPOINT_URL_REKOGNITION"]
        self.dynamodb = local.emulator.client("dynamodb")
        self.table = local.resources.table
        self.interval_s = interval_s
        self.slots_every = slots_every
        self.max_standin_active = 0
        self.max_slots_held = 0
        self.max_slot_index = -1
        self.polls = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concurrency-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with urllib.request.urlopen(self.standin_url, timeout=10) as answer:
                    active = int(json.load(answer)["activeJobs"])
            except OSError:  # a poll lost is a poll lost; the exact figure comes from the job files
                self.errors += 1
                continue
            self.max_standin_active = max(self.max_standin_active, active)
            if self.polls % self.slots_every == 0:
                self._poll_slots()
            self.polls += 1

    def _poll_slots(self) -> None:
        items = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "SLOTS"}},
            ConsistentRead=True,
        )["Items"]
        now = time.time()
        held = [i for i in items if "holder" in i and int(i.get("lease_until", {"N": "0"})["N"]) >= now]
        self.max_slots_held = max(self.max_slots_held, len(held))
        for item in items:
            self.max_slot_index = max(self.max_slot_index, int(item["sk"]["S"]))


def standin_jobs(data_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((data_dir / "rekognition" / "jobs").glob("*.json"))
    ]


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at the same instant as a start counts first)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def busy_time(intervals: list[tuple[float, float]], start: float, end: float) -> tuple[float, float]:
    """(seconds with at least one job running, job-seconds) within start..end."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if b > start and a < end)
    busy, job_seconds, covered_to = 0.0, 0.0, start
    for a, b in clipped:
        job_seconds += b - a
        if b > covered_to:
            busy += b - max(a, covered_to)
            covered_to = b
    return busy, job_seconds


# The ingest handler's log messages for a start that has to wait: for a free job slot (queued again
# as a delayed message), or for Rekognition's quota or throttling (a backoff of the message).
_WAITS = ('"message":"waiting for a job slot"', '"message":"start deferred"')


def deferrals(log_file: Path) -> int:
    """Ingest records that found no job slot (or quota) and went back to the queue to wait."""
    if not log_file.exists():
        return 0
    with log_file.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for line in lines if any(wait in line for wait in _WAITS))


def api_get(local: LocalDeployment, path: str) -> Any:
    request = urllib.request.Request(local.api_url + path, headers={"x-api-key": local.api_key})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def status_counts(local: LocalDeployment) -> Counter[str]:
    """Videos per status, from the camera registry (`GET /stores`: one small Query)."""
    counts: Counter[str] = Counter()
    for store in api_get(local, "stores")["stores"]:
        counts.update({k: int(v) for k, v in store["counts"].items()})
    return counts


def all_videos(local: LocalDeployment) -> list[dict[str, Any]]:
    videos: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = api_get(local, "videos?" + urllib.parse.urlencode(query))
        videos.extend(page["videos"])
        cursor = page.get("next_cursor")
        if not cursor:
            return videos


def queue_depths(local: LocalDeployment) -> dict[str, int]:
    assert local.resources is not None
    sqs = local.emulator.client("sqs")
    resources = local.resources
    depths = {}
    for name, url in (
        ("ingest", resources.ingest_queue_url),
        ("ingest_dlq", resources.ingest_dlq_url),
        ("completion", resources.completion_queue_url),
        ("completion_dlq", resources.completion_dlq_url),
    ):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[name] = sum(int(v) for v in attributes.values())
    return depths


def _parse(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_burst(
    root: Path,
    *,
    uploads: int,
    cap: int,
    quota: int,
    timeout_s: float,
    load_seconds: float,
    load_concurrency: tuple[int, ...],
) -> dict[str, Any]:
    files = burst_files(uploads, SAMPLE.read_bytes())
    options = LocalOptions(
        data_dir=root / "data",
        drop_dir=root / "drop",
        port=0,
        max_concurrent_jobs=quota,  # the stand-in's quota, as Rekognition's per account
        extra_env={"DS_MAX_CONCURRENT_JOBS": str(cap)},  # DisplaySense's own cap, below it
    )
    staging = root / "staging"
    for upload in files:
        # Written aside first, on the same file system, so dropping is only renames.
        target = staging / upload.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(upload.content)
    with LocalDeployment(options) as local:
        probe = ConcurrencyProbe(local)
        probe.start()
        dropped_at = time.time()
        started = time.monotonic()
        for upload in files:
            target = options.drop_dir / upload.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / upload.relative, target)
        drop_s = time.monotonic() - started
        progress: list[tuple[float, int]] = []
        counts: Counter[str] = Counter()
        while time.monotonic() - started < timeout_s:
            counts = status_counts(local)
            registered, done = sum(counts.values()), sum(counts[s] for s in FINAL)
            if not progress or progress[-1][1] != done:
                progress.append((round(time.monotonic() - started, 1), done))
            if registered >= len(files) and done == registered:
                break
            time.sleep(1.0)
        drain_s = time.monotonic() - started
        probe.stop()
        observed = Observed(
            videos=all_videos(local),
            jobs=standin_jobs(options.data_dir),
            queues=queue_depths(local),
            registry=dict(counts),
            progress=progress,
            uploaded=local.watcher.uploads,
            deferrals=deferrals(options.data_dir / "local.log"),
            dropped_at=dropped_at,
            drop_s=drop_s,
            drain_s=drain_s,
        )
        loads = [_load_test(local, load_seconds, n, root) for n in load_concurrency if load_seconds > 0]
    return report(files, observed, probe, cap=cap, quota=quota, timeout_s=timeout_s, loads=loads)


def _load_test(local: LocalDeployment, seconds: float, concurrency: int, root: Path) -> dict[str, Any]:
    """bench.load_api in a second process, against this local mode's API on loopback."""
    out = root / f"load-{concurrency}.json"
    command = [sys.executable, "-m", "bench.load_api", "--url", local.api_url, f"--api-key={local.api_key}"]
    command += ["--duration", str(seconds), "--concurrency", str(concurrency), "--json", str(out)]
    done = subprocess.run(
        command,
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=seconds + 180,
        check=False,
    )
    if not out.exists():
        raise SystemExit(f"the load test did not report (exit {done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(out.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Observed:
    videos: list[dict[str, Any]]  # every video the API lists, after the drain
    jobs: list[dict[str, Any]]  # every job the stand-in recorded
    queues: dict[str, int]  # messages left in each queue
    registry: dict[str, int]  # videos per status in the camera registry (GET /stores)
    progress: list[tuple[float, int]]  # (seconds after the drop, videos final)
    uploaded: int  # files the drop-folder watcher put into the bucket
    deferrals: int
    dropped_at: float  # epoch seconds
    drop_s: float
    drain_s: float


def report(
    files: list[Upload],
    seen: Observed,
    probe: ConcurrencyProbe,
    *,
    cap: int,
    quota: int,
    timeout_s: float,
    loads: list[dict[str, Any]],
) -> dict[str, Any]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for video in seen.videos:
        by_key.setdefault(video["key"], []).append(video)
    jobs_of = Counter(j["job_tag"] for j in seen.jobs)  # JobTag is the video id
    per_file = []
    for upload in files:
        found = by_key.get("uploads/" + upload.relative, [])
        per_file.append(
            {
                "key": "uploads/" + upload.relative,
                "expected": upload.expected,
                "videos": len(found),
                "status": found[0]["status"] if found else None,
                "reason": found[0].get("reason") if found else None,
                "standin_jobs": jobs_of[found[0]["video_id"]] if found else 0,
            }
        )
    finals = [v for v in seen.videos if v["status"] in FINAL and v["timings"].get("updated_at")]
    to_final = sorted(_parse(v["timings"]["updated_at"]) - seen.dropped_at for v in finals)
    now = time.time()
    intervals = [(j["created_at"], j["completed_at"] or now) for j in seen.jobs]
    busy_s, job_s = busy_time(intervals, seen.dropped_at, seen.dropped_at + seen.drain_s)
    per_job = Counter((j["job_tag"], j["api"]) for j in seen.jobs)
    analysed = sum(1 for v in seen.videos if v["status"] == "SUCCEEDED")
    return {
        "uploads": len(files),
        "cap": cap,
        "standin_quota": quota,
        "timeout_s": timeout_s,
        "drop_s": round(seen.drop_s, 3),
        "uploaded_by_watcher": seen.uploaded,
        "drained": len(seen.videos) >= len(files) and all(v["status"] in FINAL for v in seen.videos),
        "drain_s": round(seen.drain_s, 1),
        "videos_per_min": round(len(seen.videos) / seen.drain_s * 60, 1),
        "succeeded_per_min": round(analysed / seen.drain_s * 60, 1),
        "time_to_final_p50_s": round(percentile(to_final, 0.5), 1),
        "time_to_final_p99_s": round(percentile(to_final, 0.99), 1),
        "registry_counts": seen.registry,
        "statuses": dict(Counter(v["status"] for v in seen.videos)),
        "videos_listed": len(seen.videos),
        "files": per_file,
        "standin_jobs": len(seen.jobs),
        "standin_jobs_unfinished": sum(1 for j in seen.jobs if j["status"] == "IN_PROGRESS"),
        "standin_jobs_started_twice": sum(1 for n in per_job.values() if n > 1),
        "standin_job_outcomes": dict(Counter(j["outcome"] for j in seen.jobs)),
        "max_concurrent_jobs_exact": max_overlap(intervals),
        "max_concurrent_jobs_polled": probe.max_standin_active,
        "max_slots_held_polled": probe.max_slots_held,
        "max_slot_index": probe.max_slot_index,
        "probe_polls": probe.polls,
        "probe_errors": probe.errors,
        # How much of the drain some job ran, and the mean share of the cap in use.
        "jobs_running_share": round(busy_s / seen.drain_s, 3),
        "cap_utilisation": round(job_s / (seen.drain_s * cap), 3),
        "deferrals": seen.deferrals,
        "queues_at_end": seen.queues,
        "progress": seen.progress,
        "load": loads,
    }


def describe(result: dict[str, Any]) -> str:
    r = result
    lines = [
        f"burst: {r['uploads']} files dropped in {r['drop_s'] * 1000:.0f} ms, "
        f"job cap {r['cap']} (stand-in quota {r['standin_quota']})",
        f"  drained: {r['drained']} in {r['drain_s']} s; {r['videos_per_min']} videos/min "
        f"({r['succeeded_per_min']} analysed/min)",
        f"  drop to final state: p50 {r['time_to_final_p50_s']} s, p99 {r['time_to_final_p99_s']} s",
        f"  final states: {r['statuses']}; listed {r['videos_listed']}; registry {r['registry_counts']}",
        f"  stand-in jobs: {r['standin_jobs']} {r['standin_job_outcomes']}, "
        f"unfinished {r['standin_jobs_unfinished']}, started twice {r['standin_jobs_started_twice']}",
        f"  concurrent jobs: max {r['max_concurrent_jobs_exact']} (exact, the stand-in's job times), "
        f"{r['max_concurrent_jobs_polled']} (polled); slots held {r['max_slots_held_polled']} (polled), "
        f"highest slot {r['max_slot_index']}; cap {r['cap']}",
        f"  some job running {r['jobs_running_share']:.0%} of the drain, cap used {r['cap_utilisation']:.0%} "
        f"on average; {r['deferrals']} starts deferred (no free slot)",
        f"  queues at the end: {r['queues_at_end']}",
    ]
    wrong = [f for f in r["files"] if f["videos"] != 1 or f["status"] != f["expected"]]
    lines.extend(f"  UNEXPECTED {f}" for f in wrong)
    from bench.load_api import describe as describe_load

    lines.extend("load: " + describe_load(load) for load in r["load"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--cap", type=int, default=4, help="DisplaySense's max_concurrent_jobs (default 4)")
    parser.add_argument("--quota", type=int, default=20, help="the stand-in's own job limit (default 20)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the drain")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="0 skips the load test")
    parser.add_argument(
        "--load-concurrency", default="1,8", help="comma-separated: one load test per value (default 1,8)"
    )
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    args = parser.parse_args()
    if args.quota <= args.cap:
        parser.error("--quota must be above --cap, or the stand-in's own limit would hide a cap exceeded")
    root = args.keep or Path(tempfile.mkdtemp(prefix="displaysense-burst-"))
    try:
        result = run_burst(
            root,
            uploads=args.uploads,
            cap=args.cap,
            quota=args.quota,
            timeout_s=args.timeout,
            load_seconds=args.load_seconds,
            load_concurrency=tuple(int(n) for n in args.load_concurrency.split(",") if n.strip()),
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(describe(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
