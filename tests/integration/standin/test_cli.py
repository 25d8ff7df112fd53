"""`python -m displaysense_local.rekognition` serves the stand-in until it is told to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import client


def test_module_serves_and_stops(moto_endpoint: str, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    process = subprocess.Popen(
        [sys.executable, "-m", "displaysense_local.rekognition", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Rekognition stand-in listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=5) as answer:  # the health check
            assert json.load(answer) == {"status": "ok", "activeJobs": 0}
        rekognition = client("rekognition", url)
        with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
            rekognition.get_face_detection(JobId="unknown")
        assert (tmp_path / "jobs").is_dir()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
