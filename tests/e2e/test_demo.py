"""`displaysense demo`, the README's first command, as a user runs it: its own process on a fresh
data directory, the sample analysed, the summary, the dashboard URL and key; and Ctrl+C, during
start-up and in the middle of the analysis.

One analysis of the sample serves both long tests: the first demo is interrupted while it
analyses, the second, on the same data directory, finishes the analysis and prints the summary.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_process import COMMAND, hand_count

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

HAND_PASSES, HAND_LOOKING = hand_count()
TOLERANCE = 2  # the stand-in is no Rekognition: within two of the hand count is plausible
TIMEOUT_S = 300.0
INTERRUPTED = 130


class Demo:
    """`displaysense demo` in a session of its own, so that whatever it left running is found."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DS_"))}
        self.process = subprocess.Popen(
            [COMMAND, "demo", "--port", "0", "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def read_until(self, starts: str) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the demo ended before {starts!r}: {''.join(self.lines)}")
            self.lines.append(line)
            if line.startswith(starts):
                return line
        raise AssertionError(f"no {starts!r} within {TIMEOUT_S:.0f} s: {''.join(self.lines)}")

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=TIMEOUT_S)
        return self.process.returncode, "".join(self.lines) + out, err

    def interrupt(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        return self.finish()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def left_nothing_running(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)  # its session's process group
        except ProcessLookupError:
            return True
        return False


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.kill()


def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path, demos: list[Demo]) -> None:
    demo = Demo(tmp_path / "data")
    demos.append(demo)
    demo.read_until("Starting local mode")  # the command runs; start-up takes seconds
    code, out, err = demo.interrupt()
    assert code == INTERRUPTED, (out, err)
    assert "dashboard and API:" not in out, "start-up had finished: the signal came too late"
    assert err.strip() == (
        f"displaysense: interrupted; nothing is lost: the analysis resumes at the next start "
        f"with --data-dir {tmp_path / 'data'}"
    )
    assert demo.left_nothing_running()


def test_the_demo_interrupted_and_started_again_prints_the_summary(tmp_path: Path, demos: list[Demo]) -> None:
    data_dir = tmp_path / "data"
    first = Demo(data_dir)
    demos.append(first)
    first.read_until("analysing")
    code, out, err = first.interrupt()
    assert code == INTERRUPTED, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "the analysis resumes at the next start" in err
    assert first.left_nothing_running()

    second = Demo(data_dir, "--exit-when-done")
    demos.append(second)
    code, out, err = second.finish()
    assert code == 0, (out, err)
    assert "Traceback" not in err
    assert second.left_nothing_running()

    key = (data_dir / "api-key").read_text().strip()
    assert (data_dir / "api-key").stat().st_mode & 0o777 == 0o600
    assert re.search(rf"^  API key: +{re.escape(key)}$", out, re.MULTILINE), out
    dashboard = re.search(
        rf"^Dashboard: (http://127\.0\.0\.1:(\d+)/v1/)  \(API key: {re.escape(key)}\)$", out, re.MULTILINE
    )
    assert dashboard, out
    # The demo stopped serving: nothing listens on its port any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(dashboard.group(2))), timeout=5).close()

    assert re.search(r"^succeeded after \d+ s \(", out, re.MULTILINE), out
    summary = dict(re.findall(r"^  ([a-z /,-]+?) {2,}(\S.*)$", out, re.MULTILINE))
    traffic, impressions = int(summary["foot traffic"]), int(summary["impressions"])
    assert HAND_PASSES[0] - TOLERANCE <= traffic <= HAND_PASSES[1] + TOLERANCE, out
    assert HAND_LOOKING[0] - TOLERANCE <= impressions <= HAND_LOOKING[1] + TOLERANCE, out
    dwellers, passers_by = (int(n) for n in summary["dwellers / passers-by"].split(" / "))
    assert dwellers + passers_by == traffic
    assert summary["age, gender"] == "not available in local mode"
