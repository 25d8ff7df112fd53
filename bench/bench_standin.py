"""Rekognition stand-in: how fast it analyses footage on this machine.

    python -m bench.bench_standin [--video PATH] [--sample-fps 5] [--repeat 3]

Measures, for one video, (1) the floor: decoding every frame with OpenCV and converting the
sampled ones, which any analysis must pay, and (2) the full analysis (persons, faces, pose,
emotions) at the same sampling. Reports frames analysed per second and video seconds per wall
second, best of `repeat` runs (other work on a shared machine only ever slows a run down), with
the CPU time and the load average so a reader can judge the machine's state.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
from displaysense_local.rekognition.analysis import AnalysisSettings, FrameAnalyzer, analyse_video
from displaysense_local.rekognition.video import probe

SAMPLE = Path(__file__).resolve().parents[1] / "local/displaysense_local/samples/storefront-walkby.mp4"


def decode_floor(path: Path, sample_fps: float) -> int:
    """Decode every frame, retrieve and convert the sampled ones, analyse nothing: the floor."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    interval_ms, next_ms, index, sampled = 1000.0 / sample_fps, 0.0, 0, 0
    while capture.grab():
        timestamp_ms = index * 1000.0 / fps
        if timestamp_ms + 1e-6 >= next_ms:
            ok, frame = capture.retrieve()
            if ok:
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                sampled += 1
            while next_ms <= timestamp_ms + 1e-6:
                next_ms += interval_ms
        index += 1
    capture.release()
    return sampled


def _best(run: Callable[[], int], repeat: int) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(repeat):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        frames = run()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if best is None or wall < best["wall_s"]:
            best = {"wall_s": wall, "cpu_s": cpu, "frames": float(frames)}
    assert best is not None
    return best


def measure(path: Path, sample_fps: float, repeat: int) -> dict[str, Any]:
    meta = probe(path)
    video_s = meta.duration_millis / 1000
    settings = AnalysisSettings(sample_fps=sample_fps)
    analyzer = FrameAnalyzer(settings)  # models loaded once, as in a worker
    floor = _best(lambda: decode_floor(path, sample_fps), repeat)
    full = _best(lambda: len(analyse_video(path, settings, analyzer).frames), repeat)
    report: dict[str, Any] = {
        "video": path.name,
        "video_s": video_s,
        "frame_size": f"{meta.frame_width}x{meta.frame_height}",
        "video_fps": meta.frame_rate,
        "sample_fps": sample_fps,
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "opencv": cv2.__version__,
    }
    for name, run in (("decode_floor", floor), ("analysis", full)):
        report[name] = {
            **run,
            "frames_per_s": run["frames"] / run["wall_s"],
            "video_s_per_wall_s": video_s / run["wall_s"],
        }
    return report


def to_markdown(report: dict[str, Any]) -> str:
    rows = [
        "| run | wall s | CPU s | frames analysed | frames/s | video s per wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, label in (
        ("decode_floor", "decode floor (OpenCV, no analysis)"),
        ("analysis", "full analysis"),
    ):
        r = report[name]
        rows.append(
            f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['frames']:.0f} | "
            f"{r['frames_per_s']:.1f} | {r['video_s_per_wall_s']:.2f} |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=SAMPLE)
    parser.add_argument("--sample-fps", type=float, default=AnalysisSettings().sample_fps)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    report = measure(args.video, args.sample_fps, args.repeat)
    r = report
    print(
        f"{r['video']}: {r['video_s']:.1f} s, {r['frame_size']} at {r['video_fps']:.2f} fps, "
        f"sampled at {r['sample_fps']:g} fps; {r['cpus']} CPUs, load {r['load_average_1m']:.2f}"
    )
    print(to_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
