"""`displaysense local up` as a user runs it: a separate process, driven over HTTP and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

COMMAND = str(Path(sys.executable).parent / "displaysense")
FINAL = ("SUCCEEDED", "FAILED", "REJECTED")
# The hand annotation of the sample clip: the one source of its hand count.
ANNOTATION = Path(__file__).parents[1] / "data" / "storefront-walkby.annotation.json"


def hand_peak() -> int:
    """The most people in view at once in the sample, at the annotated whole seconds (partly in
    view included)."""
    annotation = json.loads(ANNOTATION.read_text(encoding="utf-8"))
    return max(int(s["persons"]) + int(s["partial"]) for s in annotation["seconds"])


def hand_count() -> tuple[tuple[int, int], tuple[int, int]]:
    """The sample's passes and its passes looking at the window (impressions), each (min, max):
    counted by watching the clip at half-second steps, a range where it allows two readings."""
    annotation = json.loads(ANNOTATION.read_text(encoding="utf-8"))
    passes, looking = annotation["passes"], annotation["impressions"]
    return (passes["min"], passes["max"]), (looking["min"], looking["max"])


class LocalMode:
    def __init__(self, data_dir: Path, drop_dir: Path, api_key: str = "e2e-key") -> None:
        self.data_dir = data_dir
        self.drop_dir = drop_dir
        self.api_key = api_key
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout_s: float = 120.0) -> LocalMode:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DS_"))}
        self.process = subprocess.Popen(
            [
                COMMAND,
                "local",
                "up",
                "--port",
                "0",
                "--data-dir",
                str(self.data_dir),
                "--drop-dir",
                str(self.drop_dir),
                "--api-key",
                self.api_key,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + timeout_s
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"local mode exited during start-up: {''.join(self.output)}")
            self.output.append(line)
            if "dashboard and API:" in line:
                self.url = line.split("dashboard and API:")[1].strip()
            if "Drop footage into" in line:
                return self
        raise AssertionError(f"local mode did not start within {timeout_s} s: {''.join(self.output)}")

    def interrupt(self, timeout_s: float = 60.0) -> int:
        """Ctrl+C, as a user stops it; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout_s)
        finally:
            if self.process.stdout is not None:
                self.output.extend(self.process.stdout.readlines())
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def get(self, path: str, *, key: str | None = None) -> Any:
        headers = {"x-api-key": self.api_key if key is None else key}
        request = urllib.request.Request(self.url + path.lstrip("/"), headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return json.loads(body) if response.headers.get_content_type() == "application/json" else body

    def videos(self, store: str) -> list[dict[str, Any]]:
        return list(self.get("videos?" + urllib.parse.urlencode({"store": store}))["videos"])

    def wait_for(
        self, store: str, key: str, statuses: tuple[str, ...] = FINAL, timeout_s: float = 300.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            found = [v for v in self.videos(store) if v["key"] == key]
            if found:
                last = found[0]
                if last["status"] in statuses:
                    return dict(self.get(f"videos/{last['video_id']}"))
            time.sleep(0.5)
        raise AssertionError(f"{key} did not reach {statuses} within {timeout_s} s (last: {last})")
