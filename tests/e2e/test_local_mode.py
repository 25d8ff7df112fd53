"""Local mode end to end, as a user meets it: `displaysense local up` in its own process, the
project's sample footage through the drop folder and through the API, real analysis by the
Rekognition stand-in, the dashboard in headless Chromium, restarts and Ctrl+C.

The tests of this module share one local mode and run in order (each builds on the state the
previous ones left), as a user's session would.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_process import COMMAND, LocalMode, hand_count, hand_peak

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SAMPLE = Path(__file__).parents[2] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
STORE = "e2e-store"
# The hand count of the sample clip (passes, and passes looking at the window), as ranges. The
# stand-in's detector is no Rekognition: within two of those ranges is plausible.
HAND_PASSES, HAND_LOOKING = hand_count()
TOLERANCE = 2
# Someone may step in between two annotated seconds: one more than the annotation's peak.
HAND_PEAK = hand_peak() + 1
CHROMIUM = "/usr/bin/chromium"
METRICS = f"stores/{STORE}/metrics?from=2026-11-24T13:00:00Z&to=2026-11-24T17:00:00Z&granularity=15m"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("local-mode")
    return root / "data", root / "drop"


@pytest.fixture(scope="module")
def analysed() -> dict[str, dict[str, Any]]:
    """The sample's video documents by the way it came in, for the tests after the first two."""
    return {}


@pytest.fixture(scope="module")
def local(folders: tuple[Path, Path]) -> Iterator[LocalMode]:
    running = LocalMode(*folders).start()
    try:
        yield running
    finally:
        running.kill()


def drop(folders: tuple[Path, Path], relative: str, content: bytes | None = None) -> str:
    target = folders[1] / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")  # written aside, then renamed: one upload
    if content is None:
        shutil.copyfile(SAMPLE, partial)
    else:
        partial.write_bytes(content)
    partial.rename(target)
    return "uploads/" + relative


def test_sample_through_the_drop_folder_gives_plausible_metrics(
    local: LocalMode, folders: Any, analysed: dict[str, Any]
) -> None:
    key = drop(folders, f"{STORE}/window/20261124T140000Z.mp4")
    video = local.wait_for(STORE, key)
    assert video["status"] == "SUCCEEDED", video
    analysed["drop"] = video
    summary = video["summary"]
    assert HAND_PASSES[0] - TOLERANCE <= summary["foot_traffic"] <= HAND_PASSES[1] + TOLERANCE, summary
    assert HAND_LOOKING[0] - TOLERANCE <= summary["impressions"] <= HAND_LOOKING[1] + TOLERANCE, summary
    assert summary["dwellers"] + summary["passers_by"] == summary["foot_traffic"]
    assert 0 < summary["occupancy_mean"] <= summary["occupancy_peak"] <= HAND_PEAK, summary
    # the stand-in estimates no age or gender: reported as not estimated, not as zero people
    assert summary["faces"] > 0 and summary["estimated"]["gender"] == 0
    metrics = local.get(
        f"stores/{STORE}/metrics?from=2026-11-24T13:00:00Z&to=2026-11-24T15:00:00Z&granularity=15m"
    )
    assert metrics["totals"]["foot_traffic"] == summary["foot_traffic"]


def test_upload_through_the_api_with_the_upload_command(local: LocalMode, analysed: dict[str, Any]) -> None:
    done = subprocess.run(
        [
            COMMAND,
            "upload",
            str(SAMPLE),
            "--store",
            STORE,
            "--camera",
            "door",
            "--recorded-at",
            "2026-11-24T15:00:00Z",
            "--endpoint",
            local.url,
            "--api-key",
            local.api_key,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "uploaded to uploads/e2e-store/door/" in done.stdout
    # The progress bar, redrawn in place, ends full.
    assert re.search(r"\[#{30}\] 100\.0 %", done.stderr), done.stderr
    key = done.stdout.strip().split("uploaded to ")[1]
    video = local.wait_for(STORE, key)
    assert video["status"] == "SUCCEEDED", video
    analysed["api"] = video
    # The same file, analysed the same way, whichever way it came in.
    assert video["summary"] == analysed["drop"]["summary"]
    assert video["duration_s"] == analysed["drop"]["duration_s"]


def test_bad_uploads_are_kept_and_rejected_with_a_reason(local: LocalMode, folders: Any) -> None:
    key = drop(
        folders, f"{STORE}/window/20261124T160000Z.mp4", b"these are not the frames you are looking for\n"
    )
    video = local.wait_for(STORE, key)
    assert video["status"] == "REJECTED"
    assert "text" in video["reason"] and "MP4" in video["reason"], video["reason"]
    refused = subprocess.run(
        [
            COMMAND,
            "upload",
            str(SAMPLE),
            "--store",
            "Bad Store",
            "--camera",
            "door",
            "--endpoint",
            local.url,
            "--api-key",
            local.api_key,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "store" in refused.stderr and "Traceback" not in refused.stderr


def test_data_routes_need_the_api_key(local: LocalMode) -> None:
    import urllib.error

    for key in ("", "wrong-key"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            local.get("stores", key=key)
        assert refused.value.code == 403
    assert b"<html" in local.get("", key="").lower()  # the dashboard page itself is public


def test_dashboard_shows_the_local_metrics_in_chromium(local: LocalMode, analysed: dict[str, Any]) -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs it")
        pytest.skip(f"{CHROMIUM} is missing")
    playwright = pytest.importorskip("playwright.sync_api")
    rejected = [v for v in local.videos(STORE) if v["status"] == "REJECTED"]
    assert len(rejected) == 1 and rejected[0]["reason"]
    errors: list[str] = []
    asked: list[str] = []  # the metrics requests the page made
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: asked.append(r.url) if "/metrics?" in r.url else None)
        page.goto(local.url)
        page.wait_for_selector("[data-testid=key-dialog][open]")
        page.fill("[data-testid=key]", local.api_key)
        page.click("[data-testid=key-submit]")
        page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        if page.input_value("[data-testid=store]") != STORE:
            page.select_option("[data-testid=store]", STORE)
            page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        page.wait_for_selector("tr[data-testid=video-row][data-status=REJECTED]", timeout=30_000)
        text = page.inner_text("body")
        kpis = {
            name: page.inner_text(f".kpi[data-kpi={name}] .value")
            for name in ("foot_traffic", "impressions", "engagement_rate", "dwell_s_avg", "attention_s_avg")
        }
        succeeded = page.locator("tr[data-testid=video-row][data-status=SUCCEEDED]").count()
        rejected_row = page.locator("tr[data-testid=video-row][data-status=REJECTED]").inner_text()
        browser.close()
    assert not errors, errors
    assert "not available in local mode" in text.lower()
    assert succeeded == 2
    assert rejected[0]["reason"] in rejected_row  # the reason itself, as the API gives it
    # The key figures are the API's for the page's own query, and they are the two analyses'.
    query = urllib.parse.urlsplit(asked[-1])
    totals = local.get(f"stores/{STORE}/metrics?{query.query}")["totals"]
    assert totals["foot_traffic"] == sum(v["summary"]["foot_traffic"] for v in analysed.values())
    assert kpis == {
        "foot_traffic": f"{totals['foot_traffic']:,}",
        "impressions": f"{totals['impressions']:,}",
        "engagement_rate": f"{_fixed(totals['engagement_rate'] * 100)} %",
        "dwell_s_avg": f"{_fixed(totals['dwell_s_avg'])} s",
        "attention_s_avg": f"{_fixed(totals['attention_s_avg'])} s",
    }


def _fixed(value: float) -> str:
    """JavaScript's toFixed(1): the exact value, halves rounded up."""
    return str(Decimal(value).quantize(Decimal("0.1"), ROUND_HALF_UP))


def test_a_restart_brings_back_everything_without_analysing_again(local: LocalMode, folders: Any) -> None:
    before = _stored(local)
    assert local.interrupt() == 0
    assert any(line.startswith("Stopped.") for line in local.output)
    assert "Traceback" not in "".join(local.output)
    local.start()
    # A file dropped after the restart is uploaded once the watcher has seen it in two scans; by
    # then it has scanned every earlier file twice too, and would have uploaded any it had
    # forgotten. The probe is in a store of its own, so it changes nothing compared below.
    probe = drop(folders, "restart-probe/cam/20261124T180000Z.mp4", b"a probe, not a video\n")
    assert local.wait_for("restart-probe", probe)["status"] == "REJECTED"
    after = _stored(local)
    assert after["videos per key"] == before["videos per key"]
    assert set(after["videos per key"].values()) == {1}
    assert after["videos"] == before["videos"], "a video changed after the restart"
    assert after["metrics"] == before["metrics"]
    assert after["Rekognition jobs"] == before["Rekognition jobs"], "the stand-in analysed again"


def _stored(local: LocalMode) -> dict[str, Any]:
    listed = local.videos(STORE)
    jobs = local.data_dir / "rekognition" / "jobs"
    return {
        "videos per key": Counter(v["key"] for v in listed),
        "videos": {v["video_id"]: local.get(f"videos/{v['video_id']}") for v in listed},
        "metrics": local.get(METRICS),
        "Rekognition jobs": sorted(p.name for p in jobs.glob("*.json")),
    }


def test_ctrl_c_during_an_analysis_loses_nothing(local: LocalMode, folders: Any) -> None:
    key = drop(folders, f"{STORE}/window/20261124T170000Z.mp4")
    local.wait_for(STORE, key, statuses=("ANALYZING",), timeout_s=120)
    assert local.interrupt() == 0
    local.start()
    video = local.wait_for(STORE, key)
    assert video["status"] == "SUCCEEDED", video


def test_start_up_problems_are_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _start_and_fail(["--port", str(port), "--data-dir", str(tmp_path / "d1")])
    assert f"port {port}" in done.stderr and "--port" in done.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = _start_and_fail(["--data-dir", str(blocker / "data")])
    assert "not writable" in done.stderr


def _start_and_fail(args: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [COMMAND, "local", "up", *args, "--drop-dir", str(Path(args[-1]).parent / "drop")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done


def test_the_command_line_lists_local_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "displaysense_local.cli", "local", "up", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "--drop-dir" in done.stdout
