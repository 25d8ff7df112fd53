"""A bounded load test of the DisplaySense API on this machine: the dashboard's requests, for a
fixed time at a fixed concurrency, from a process of its own.

    python -m bench.load_api --url http://127.0.0.1:8080/v1/ --api-key KEY \
        [--duration 20] [--concurrency 8] [--max-requests 20000] [--seed 7] [--json PATH]

It first reads what exists (`GET /stores`, `GET /videos`), then each of `--concurrency` threads
sends, over its own keep-alive connection, requests drawn from the dashboard's mix: the store list,
a store's metrics at 15m/hour/day/week granularity (one in ten as CSV, one in ten for one camera,
one in ten with the previous period), the video list and single videos, and A/B comparisons of
stores and of cameras. Every request is valid, so every answer must be 2xx; anything else is
counted as an error with its status. It stops after `--duration` seconds or `--max-requests`
requests, whichever comes first, and reports latency percentiles (nearest rank), throughput and
errors per route. Only loopback addresses are accepted: this is for local mode, not for a
deployed stack (API Gateway's usage plan throttles there, by design).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

GRANULARITIES = ("15m", "hour", "day", "week")
# How long each granularity's dashboard range is, as the dashboard's "auto" bucket size picks it.
SPAN = {
    "15m": timedelta(days=1),
    "hour": timedelta(days=7),
    "day": timedelta(days=60),
    "week": timedelta(days=180),
}
MAX_DURATION_S = 600.0
MAX_CONCURRENCY = 64


class LoadTestError(Exception):
    """The load test cannot run (bad arguments, API unreachable, no data to ask for)."""


@dataclass(frozen=True)
class Targets:
    stores: list[str]
    cameras: dict[str, list[str]]
    video_ids: list[str]
    first: datetime
    last: datetime


@dataclass
class Sample:
    route: str
    status: int  # 0: no HTTP answer (connection error, time-out)
    latency_s: float


@dataclass
class Collected:
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # "<route> <status or exception>" -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample, error: str | None) -> None:
        with self.lock:
            self.samples.append(sample)
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects after a failure."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/") + "/"
        self.headers = {"x-api-key": api_key, "Accept-Encoding": "identity"}
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            self._connection.request("GET", self.prefix + path, headers=self.headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except Exception:
            self.close()
            raise

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise LoadTestError(f"GET {path} answered {status}: {body[:200]!r}")
        return json.loads(body)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise LoadTestError(f"{url}: only loopback addresses (127.0.0.0/8, ::1, localhost) are load tested")


def discover(client: Client) -> Targets:
    """Stores, cameras, recording times and video ids to ask about, from the API itself."""
    stores: list[str] = []
    cameras: dict[str, list[str]] = {}
    firsts, lasts = [], []
    for store in client.get_json("stores")["stores"]:
        named = [c["camera"] for c in store["cameras"] if not c["camera"].startswith("_")]
        # `_unassigned` holds rejected uploads only: no metrics to ask for.
        if store["store"].startswith("_") or not named or not store["first_recorded_at"]:
            continue
        stores.append(store["store"])
        cameras[store["store"]] = named
        firsts.append(store["first_recorded_at"])
        lasts.append(store["last_recorded_at"])
    if not stores:
        raise LoadTestError("the API lists no store with footage: upload some first")
    video_ids: list[str] = []
    cursor: str | None = None
    while len(video_ids) < 1000:
        query = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = client.get_json("videos?" + urllib.parse.urlencode(query))
        video_ids.extend(v["video_id"] for v in page["videos"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return Targets(
        stores=stores,
        cameras=cameras,
        video_ids=video_ids,
        first=min(_parse(t) for t in firsts),
        last=max(_parse(t) for t in lasts),
    )


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def next_request(targets: Targets, rng: random.Random) -> tuple[str, str]:
    """(route, path) of one request of the dashboard's mix."""
    store = rng.choice(targets.stores)
    pick = rng.random()
    if pick < 0.10:
        return "/stores", "stores"
    if pick < 0.60:
        granularity = rng.choice(GRANULARITIES)
        end = targets.last + timedelta(hours=1)
        query = {"granularity": granularity, "from": _iso(end - SPAN[granularity]), "to": _iso(end)}
        variant = rng.random()
        if variant < 0.1:
            query["format"] = "csv"
        elif variant < 0.2:
            query["camera"] = rng.choice(targets.cameras[store])
        elif variant < 0.3:
            query["previous"] = "true"
        return f"/stores/{{store}}/metrics?granularity={granularity}", (
            f"stores/{store}/metrics?" + urllib.parse.urlencode(query)
        )
    if pick < 0.75:
        return "/videos", "videos?" + urllib.parse.urlencode({"store": store, "limit": "50"})
    if pick < 0.90 and targets.video_ids:
        return "/videos/{id}", f"videos/{rng.choice(targets.video_ids)}"
    window = {"from": _iso(targets.first - timedelta(hours=1)), "to": _iso(targets.last + timedelta(hours=1))}
    if len(targets.stores) > 1 and rng.random() < 0.5:
        a, b = rng.sample(targets.stores, 2)
    else:
        a = b = store
        if len(targets.cameras[store]) > 1:
            first, second = rng.sample(targets.cameras[store], 2)
            a, b = f"{store}/{first}", f"{store}/{second}"
    return "/compare", "compare?" + urllib.parse.urlencode({"a": a, "b": b, **window})


def run(
    url: str,
    api_key: str,
    *,
    duration_s: float,
    concurrency: int,
    max_requests: int,
    seed: int = 7,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Runs the load test and returns its report (see `report`)."""
    check_loopback(url)
    if not 0 < duration_s <= MAX_DURATION_S:
        raise LoadTestError(f"--duration must be in (0, {MAX_DURATION_S:g}] seconds")
    if not 0 < concurrency <= MAX_CONCURRENCY:
        raise LoadTestError(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    if max_requests < 1:
        raise LoadTestError("--max-requests must be at least 1")
    probe = Client(url, api_key)
    try:
        targets = discover(probe)
    finally:
        probe.close()
    collected = Collected()
    budget = threading.Semaphore(max_requests)  # the request count bound, shared by all threads
    started = clock()
    deadline = started + duration_s

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        client = Client(url, api_key)
        try:
            while clock() < deadline and budget.acquire(blocking=False):
                route, path = next_request(targets, rng)
                begun = clock()
                try:
                    status, _body = client.get(path)
                except Exception as exc:  # counted, and the test goes on: an error is a finding
                    collected.add(Sample(route, 0, clock() - begun), f"{route} {type(exc).__name__}")
                    continue
                error = None if 200 <= status < 300 else f"{route} {status}"
                collected.add(Sample(route, status, clock() - begun), error)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"load-{i}") for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = clock() - started
    return report(collected, elapsed, concurrency=concurrency, duration_s=duration_s, targets=targets)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ascending values (the value below which `fraction` of them lie)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _latencies(samples: list[Sample]) -> dict[str, float]:
    values = sorted(s.latency_s * 1000 for s in samples)
    return {
        "p50_ms": round(percentile(values, 0.50), 1),
        "p90_ms": round(percentile(values, 0.90), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(values[-1], 1) if values else math.nan,
    }


def report(
    collected: Collected, elapsed_s: float, *, concurrency: int, duration_s: float, targets: Targets
) -> dict[str, Any]:
    samples = collected.samples
    by_route: dict[str, list[Sample]] = {}
    for sample in samples:
        by_route.setdefault(sample.route, []).append(sample)
    return {
        "duration_s": duration_s,
        "elapsed_s": round(elapsed_s, 2),
        "concurrency": concurrency,
        "stores": len(targets.stores),
        "videos": len(targets.video_ids),
        "requests": len(samples),
        "ok": sum(1 for s in samples if 200 <= s.status < 300),
        "errors": sum(collected.errors.values()),
        "error_kinds": dict(sorted(collected.errors.items())),
        "throughput_rps": round(len(samples) / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        **_latencies(samples),
        "routes": {
            route: {"requests": len(found), **_latencies(found)} for route, found in sorted(by_route.items())
        },
    }


def describe(result: dict[str, Any]) -> str:
    lines = [
        f"{result['requests']} requests in {result['elapsed_s']} s at concurrency {result['concurrency']} "
        f"({result['stores']} stores, {result['videos']} videos): {result['throughput_rps']} requests/s, "
        f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms, {result['errors']} errors",
    ]
    for route, figures in result["routes"].items():
        lines.append(
            f"  {route:<42} {figures['requests']:6d}  p50 {figures['p50_ms']:8.1f} ms  "
            f"p99 {figures['p99_ms']:8.1f} ms"
        )
    lines.extend(f"  error: {kind} x{count}" for kind, count in result["error_kinds"].items())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="the API's base URL, e.g. http://127.0.0.1:8080/v1/")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (default 20)")
    parser.add_argument("--concurrency", type=int, default=8, help="threads, one connection each (default 8)")
    parser.add_argument(
        "--max-requests", type=int, default=20000, help="stop after this many (default 20000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    try:
        result = run(
            args.url,
            args.api_key,
            duration_s=args.duration,
            concurrency=args.concurrency,
            max_requests=args.max_requests,
            seed=args.seed,
        )
    except LoadTestError as exc:
        parser.exit(2, f"load_api: error: {exc}\n")
    print(describe(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
