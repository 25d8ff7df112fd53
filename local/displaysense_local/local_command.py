"""`displaysense local up` and `displaysense demo`: local mode for people."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from displaysense_local.errors import CommandError
from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions, StartupError, copy_sample

DEMO_STORE = "demo-store"
DEMO_CAMERA = "window-1"
DEMO_RECORDED_AT = "20261124T140000Z"
FINAL = ("SUCCEEDED", "FAILED", "REJECTED")


class LocalModeError(CommandError):
    """Local mode cannot start or the demo cannot finish."""


def up(options: LocalOptions, out: TextIO = sys.stdout) -> int:
    _starting(options, out)
    with _running(options) as local:
        _banner(local, out)
        out.write(
            f"Drop footage into {options.drop_dir}/<store>/<camera>/<recorded-at>.mp4 — Ctrl+C stops.\n"
        )
        out.flush()
        _wait_for_interrupt()
        _stopping(options, out)
    return 0


def demo(
    options: LocalOptions, exit_when_done: bool, timeout_s: float = 600.0, out: TextIO = sys.stdout
) -> int:
    _starting(options, out)
    with _running(options) as local:
        _banner(local, out)
        sample = copy_sample(options.drop_dir, DEMO_STORE, DEMO_CAMERA, DEMO_RECORDED_AT)
        out.write(f"Sample footage: {sample}\n")
        out.flush()
        key = f"uploads/{DEMO_STORE}/{DEMO_CAMERA}/{sample.name}"
        video = follow_video(lambda: _find_video(local, key), timeout_s, out)
        _print_outcome(video, out)
        out.write(f"\nDashboard: {local.dashboard_url}  (API key: {local.api_key})\n")
        out.flush()
        if video.get("status") != "SUCCEEDED":
            return 1
        if not exit_when_done:
            out.write("Serving until Ctrl+C.\n")
            out.flush()
            _wait_for_interrupt()
            _stopping(options, out)
    return 0


def _starting(options: LocalOptions, out: TextIO) -> None:
    out.write(f"Starting local mode on {options.data_dir} …\n")
    out.flush()


def _stopping(options: LocalOptions, out: TextIO) -> None:
    out.write(f"Stopped. What is not analysed yet resumes at the next start on {options.data_dir}.\n")
    out.flush()


class _running:
    """Local mode for the length of a command. Native libraries (TensorFlow Lite, OpenCV) print to
    the process's standard error; that goes to the log file, while Python's own messages, this
    command's errors among them, still reach the terminal."""

    def __init__(self, options: LocalOptions) -> None:
        self.deployment = LocalDeployment(options)
        self._terminal_fd: int | None = None

    def __enter__(self) -> LocalDeployment:
        try:
            local = self.deployment.start()
        except StartupError as exc:
            raise LocalModeError(str(exc)) from None
        self._quiet_native_stderr(local.options.data_dir / "local.log")
        return local

    def __exit__(self, *exc: object) -> None:
        self.deployment.stop()
        if self._terminal_fd is not None:
            sys.stderr.flush()
            os.dup2(self._terminal_fd, 2)

    def _quiet_native_stderr(self, log: Path) -> None:
        try:
            sys.stderr.flush()
            self._terminal_fd = os.dup(2)
            with log.open("ab") as stream:
                os.dup2(stream.fileno(), 2)
            sys.stderr = os.fdopen(os.dup(self._terminal_fd), "w", buffering=1)
        except (OSError, ValueError):  # no real standard error (embedded, captured): leave it
            self._terminal_fd = None


def _banner(local: LocalDeployment, out: TextIO) -> None:
    out.write(
        "DisplaySense local mode\n"
        f"  dashboard and API: {local.dashboard_url}\n"
        f"  API key:           {local.api_key}\n"
        f"  data directory:    {local.options.data_dir}\n"
        f"  log:               {local.options.data_dir / 'local.log'}\n"
    )
    out.flush()


def _wait_for_interrupt() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def api_get(local: LocalDeployment, path: str) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own localhost API
        local.api_url + path.lstrip("/"), headers={"x-api-key": local.api_key}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own localhost API
        return json.loads(response.read())


def _find_video(local: LocalDeployment, key: str) -> dict[str, Any] | None:
    query = urllib.parse.urlencode({"store": DEMO_STORE})
    videos = api_get(local, f"videos?{query}").get("videos", [])
    found = next((v for v in videos if v.get("key") == key), None)
    if found is not None and found["status"] in FINAL:
        return api_get(local, f"videos/{found['video_id']}")  # type: ignore[no-any-return]
    return found


def stage_of(video: dict[str, Any] | None) -> str:
    """Where a video is in the pipeline, in the words the progress display uses."""
    if video is None:
        return "uploading"
    status = str(video.get("status", ""))
    if status in FINAL:
        return status.lower()
    jobs = (video.get("jobs") or {}).values()
    if jobs and all(job.get("ended_at") for job in jobs):
        return "computing metrics"
    if status == "ANALYZING":
        return "analysing"
    return "queued"  # registered, waiting for a Rekognition job slot


def follow_video(
    fetch: Callable[[], dict[str, Any] | None],
    timeout_s: float,
    out: TextIO,
    interval_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll `fetch` until the video is final, showing its stage and the time spent in it (a
    terminal gets one updating line, a log one line per stage), then the time of each stage."""
    started = clock()
    live = out.isatty()
    spent: dict[str, float] = {}
    stage, stage_started, tick = "", started, 0
    while True:
        now = clock()
        video = fetch()
        current = stage_of(video)
        if current != stage:
            if stage:
                spent[stage] = now - stage_started
            stage, stage_started = current, (now if stage else started)
            if not live and (video is None or video.get("status") not in FINAL):
                out.write(f"{stage} … ({stage_started - started:.0f} s)\n")
        if video is not None and video.get("status") in FINAL:
            if live:
                out.write(f"\r{'':70}\r")
            stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items())
            out.write(f"{stage} after {now - started:.0f} s ({stages})\n")
            out.flush()
            return video
        if now - started >= timeout_s:
            raise LocalModeError(f"the sample video did not finish within {timeout_s:.0f} s (still {stage})")
        if live:
            spin = "|/-\\"[tick % 4]
            out.write(f"\r{spin} {stage} {now - stage_started:4.0f} s  (total {now - started:.0f} s)   ")
        out.flush()
        tick += 1
        time.sleep(interval_s)


def _print_outcome(video: dict[str, Any], out: TextIO) -> None:
    out.write(f"Video {video.get('video_id')}: {video.get('status')}\n")
    if video.get("reason"):
        out.write(f"  reason: {video['reason']}\n")
    summary = video.get("summary") or {}
    if not summary:
        return
    rows = [
        ("foot traffic", summary.get("foot_traffic")),
        ("dwellers / passers-by", f"{summary.get('dwellers')} / {summary.get('passers_by')}"),
        ("impressions", summary.get("impressions")),
        ("engagement rate", _percent(summary.get("engagement_rate"))),
        ("average dwell", _seconds(summary.get("dwell_s_avg"))),
        ("average attention", _seconds(summary.get("attention_s_avg"))),
        ("occupancy mean / peak", f"{summary.get('occupancy_mean')} / {summary.get('occupancy_peak')}"),
        ("mood index", summary.get("mood_index")),
    ]
    estimated = summary.get("estimated", {})
    if summary.get("faces") and not estimated.get("gender"):
        rows.append(("age, gender", "not available in local mode"))
    for name, value in rows:
        out.write(f"  {name:<24}{value}\n")


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _seconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def default_options(data_dir: Path, drop_dir: Path | None, port: int, api_key: str | None) -> LocalOptions:
    return LocalOptions(data_dir=data_dir, drop_dir=drop_dir or data_dir / "drop", port=port, api_key=api_key)
