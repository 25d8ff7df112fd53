"""Local mode end to end, as a user meets it: `displaysense local up` in its own process, the
project's sample footage through the drop folder and through the API, real analysis by the
Rekognition stand-in, the dashboard in headless Chromium, restarts and Ctrl+C.

The tests of this module share one local mode and run in order (each builds on the state the
previous ones left), as a user's session would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_process import COMMAND, LocalMode

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SAMPLE = Path(__file__).parents[2] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
STORE = "e2e-store"
# Hand count of the sample clip (tests/data/storefront-walkby.annotation.json, made by watching
# it at half-second steps): 9 or 10 passes, 7 or 8 of them looking at the window. The stand-in's
# detector is no Rekognition: within two of those ranges is plausible.
HAND_PASSES = (9, 10)
HAND_LOOKING = (7, 8)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("local-mode")
    return root / "data", root / "drop"


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


def test_sample_through_the_drop_folder_gives_plausible_metrics(local: LocalMode, folders: Any) -> None:
    key = drop(folders, f"{STORE}/window/20261124T140000Z.mp4")
    video = local.wait_for(STORE, key)
    assert video["status"] == "SUCCEEDED", video
    summary = video["summary"]
    assert HAND_PASSES[0] - 2 <= summary["foot_traffic"] <= HAND_PASSES[1] + 2, summary
    assert HAND_LOOKING[0] - 2 <= summary["impressions"] <= HAND_LOOKING[1] + 2, summary
    assert summary["dwellers"] + summary["passers_by"] == summary["foot_traffic"]
    assert 0 < summary["occupancy_mean"] <= summary["occupancy_peak"] <= 4
    # the stand-in estimates no age or gender: reported as not estimated, not as zero people
    assert summary["faces"] > 0 and summary["estimated"]["gender"] == 0
    metrics = local.get(
        f"stores/{STORE}/metrics?from=2026-11-24T13:00:00Z&to=2026-11-24T15:00:00Z&granularity=15m"
    )
    assert metrics["totals"]["foot_traffic"] == summary["foot_traffic"]


def test_upload_through_the_api_with_the_upload_command(local: LocalMode) -> None:
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
    key = done.stdout.strip().split("uploaded to ")[1]
    video = local.wait_for(STORE, key)
    assert video["status"] == "SUCCEEDED", video
    assert video["summary"]["foot_traffic"] > 0


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


def test_dashboard_shows_the_local_metrics_in_chromium(local: LocalMode) -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs it")
        pytest.skip(f"{CHROMIUM} is missing")
    playwright = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
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
        page.goto(local.url)
        page.wait_for_selector("[data-testid=key-dialog][open]")
        page.fill("[data-testid=key]", local.api_key)
        page.click("[data-testid=key-submit]")
        page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        if page.input_value("[data-testid=store]") != STORE:
            page.select_option("[data-testid=store]", STORE)
            page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        page.wait_for_selector("tr[data-status=REJECTED]", timeout=30_000)
        text = page.inner_text("body")
        succeeded = page.locator("tr[data-status=SUCCEEDED]").count()
        browser.close()
    assert not errors, errors
    assert "not available in local mode" in text.lower()
    assert succeeded == 2
    assert "text" in text  # the rejection reason is shown with the video


def test_a_restart_brings_back_everything_without_analysing_again(local: LocalMode) -> None:
    before = {v["key"]: v for v in local.videos(STORE)}
    assert local.interrupt() == 0
    local.start()
    after = {v["key"]: v for v in local.videos(STORE)}
    assert after.keys() == before.keys()
    for key, video in after.items():
        assert video["status"] == before[key]["status"]
        assert video["updated_at"] == before[key]["updated_at"], "a video changed after the restart"


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
