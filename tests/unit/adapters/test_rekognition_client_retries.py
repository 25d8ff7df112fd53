"""The Rekognition client makes one retry, as resources.REKOGNITION_LIMITS intends: a Start* or Get*
still throttled goes back to the queue rather than waiting inside the Lambda. (It made two: botocore's
`max_attempts` counts retries, not attempts.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.exceptions import ClientError
from displaysense.adapters.aws_clients import REKOGNITION_CONFIG


@pytest.fixture
def always_throttled() -> Iterator[tuple[str, list[int]]]:
    calls: list[int] = []

    class Throttling(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(1)
            body = b'{"__type": "ProvisionedThroughputExceededException", "message": "slow down"}'
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_one_retry_then_the_error(always_throttled: tuple[str, list[int]]) -> None:
    url, calls = always_throttled
    client = boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=REKOGNITION_CONFIG,
    )
    with pytest.raises(ClientError) as raised:
        client.get_face_detection(JobId="0" * 64)
    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert len(calls) == 2
