"""`displaysense upload` against a loopback server playing the API (POST /uploads) and S3 (the
presigned PUT): the progress bar, and Ctrl+C in the middle of the PUT."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from displaysense_local.upload_command import CHUNK, upload

COMMAND = str(Path(sys.executable).parent / "displaysense")


class Endpoint:
    """POST /v1/uploads answers a ticket for a PUT to /bucket/<key> on the same server."""

    def __init__(self, *, answer_puts: bool) -> None:
        self.answer_puts = answer_puts
        self.put_started = threading.Event()
        self.release = threading.Event()
        self.received = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = f"uploads/{body['store']}/{body['camera']}/20261124T140000Z.mp4"
                host = self.server.server_address
                ticket = {
                    "method": "PUT",
                    "url": f"http://{host[0]}:{host[1]}/bucket/{key}",
                    "headers": {"Content-Type": body["content_type"]},
                    "key": key,
                }
                self._send(200, json.dumps(ticket).encode())

            def do_PUT(self) -> None:
                endpoint.put_started.set()
                if not endpoint.answer_puts:
                    endpoint.release.wait(60)  # an upload that hangs (a slow link)
                    return
                left = int(self.headers["Content-Length"])
                while left:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    left -= len(chunk)
                    endpoint.received += len(chunk)
                self._send(200, b"")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> Endpoint:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "window.mp4"
    path.write_bytes(bytes(range(256)) * (3 * CHUNK // 256 + 1000))  # a little over 3 chunks
    yield path


def test_the_progress_bar_goes_to_100_percent(recording: Path) -> None:
    out = io.StringIO()
    with Endpoint(answer_puts=True) as endpoint:
        ticket = upload(
            recording,
            store="s-1",
            camera="c-1",
            recorded_at="2026-11-24T14:00:00Z",
            endpoint=endpoint.url,
            api_key="k",
            out=out,
        )
    assert endpoint.received == recording.stat().st_size
    assert ticket["key"] == "uploads/s-1/c-1/20261124T140000Z.mp4"
    shown = [float(p) for p in re.findall(r"\]\s+([\d.]+) %", out.getvalue())]
    assert len(shown) == 4 and shown == sorted(shown) and shown[-1] == 100.0
    assert "[" + "#" * 30 + "]" in out.getvalue()


def test_ctrl_c_during_the_upload_is_one_line_and_status_130(recording: Path) -> None:
    with Endpoint(answer_puts=False) as endpoint:
        arguments = ["--store", "s-1", "--camera", "c-1", "--recorded-at", "2026-11-24T14:00:00Z"]
        process = subprocess.Popen(
            [COMMAND, "upload", str(recording), *arguments, "--endpoint", endpoint.url, "--api-key", "k"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert endpoint.put_started.wait(60), "the upload never started"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().split("\r")[-1].splitlines()[-1]
    assert last == "displaysense: interrupted; the upload did not finish: run the same command again"
    assert "uploaded to" not in out
