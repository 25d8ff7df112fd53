"""The analytics engine on a busy storefront: `analyze-results` time against the JSON parse floor,
and peak memory for 1-hour and 6-hour scenes.

    python -m bench.bench_engine            # 6-hour scene, about 60 MB of pages
    python -m bench.bench_engine --hours 1  # quicker

The floor is merely parsing the same page files with the standard `json` module, in the same
process; the run is the whole command (read, parse, track, aggregate, print). Peak memory is the
resident set of a fresh process running the command, so interpreter and imports are included.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

from displaysense_local.cli import main as cli_main

from tests.support import scenario as sc

PER_MINUTE = 4.0  # busy: about 240 passes an hour
SEED = 2026
CACHE = Path(tempfile.gettempdir()) / "displaysense-bench"


def scene_files(hours: float) -> tuple[Path, Path, int]:
    """Label and face page files of the scene (cached between runs, per version of the scene
    generator), and its number of people."""
    generator = hashlib.sha256(Path(sc.__file__).read_bytes()).hexdigest()[:12]
    folder = CACHE / f"{hours:g}h-{generator}"
    labels, faces = folder / "labels", folder / "faces"
    marker = folder / "people.txt"
    if marker.exists():
        return labels, faces, int(marker.read_text())
    scene = sc.make_scene(SEED, duration_s=hours * 3600, per_minute=PER_MINUTE, label_interval_ms=500)
    rendered = sc.render(scene, sc.Noise(), SEED)
    for path, pages in (
        (labels, sc.label_pages(scene, rendered)),
        (faces, sc.face_pages(scene, rendered)),
    ):
        path.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages):
            (path / f"page-{n:05d}.json").write_text(json.dumps(page))
    marker.write_text(str(len(scene.people)))
    return labels, faces, len(scene.people)


def best_of_alternating(runs: int, *actions: Callable[[], object]) -> list[float]:
    """The best time of each action over `runs` rounds, the actions taking turns within a round:
    a machine that slows down or speeds up during the benchmark moves the floor and the run alike,
    so their ratio does not depend on which went first."""
    best = [float("inf")] * len(actions)
    for _ in range(runs):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def parse_floor(folders: list[Path]) -> None:
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            json.loads(path.read_bytes())


def run_command(labels: Path, faces: Path) -> dict[str, object]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main(["analyze-results", "--labels", str(labels), "--faces", str(faces)])
    if code != 0:
        raise SystemExit(f"analyze-results failed with exit code {code}")
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def peak_rss_mb(labels: Path, faces: Path) -> float:
    probe = (
        "import io, resource, sys\n"
        "from contextlib import redirect_stdout\n"
        "from displaysense_local.cli import main\n"
        "with redirect_stdout(io.StringIO()):\n"
        f"    main(['analyze-results', '--labels', {str(labels)!r}, '--faces', {str(faces)!r}])\n"
        # VmHWM belongs to this process's own memory; ru_maxrss would carry the parent's peak
        # across fork and exec.
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.json")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    labels, faces, people = scene_files(args.hours)
    megabytes = size_mb(labels) + size_mb(faces)
    floor, whole = best_of_alternating(
        args.runs, lambda: parse_floor([labels, faces]), lambda: run_command(labels, faces)
    )
    summary = run_command(labels, faces)["summary"]
    assert isinstance(summary, dict)
    print(f"scene: {args.hours:g} h, {people} people, {megabytes:.1f} MB of pages")
    print(f"passes found: {summary['foot_traffic']}")
    print(f"parse floor (json.loads): {floor:.2f} s")
    print(f"analyze-results:          {whole:.2f} s  ->  {whole / floor:.2f} x the floor")

    one_labels, one_faces, _ = scene_files(1.0)
    rss_1h = peak_rss_mb(one_labels, one_faces)
    rss_run = peak_rss_mb(labels, faces)
    print(f"peak RSS 1 h: {rss_1h:.1f} MB; {args.hours:g} h: {rss_run:.1f} MB  ->  {rss_run / rss_1h:.2f} x")


if __name__ == "__main__":
    main()
