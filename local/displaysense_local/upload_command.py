"""`displaysense upload`: a recording into the drop folder through the API (local mode or AWS).

The API validates the request like the ingest Lambda and answers with a presigned PUT, so the
client never needs S3 credentials; the file is then streamed to S3 with a progress bar.
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO
from urllib.parse import urlsplit

from displaysense_local.errors import CommandError

CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime"}
CHUNK = 1 << 20


class UploadError(CommandError):
    """The upload did not happen; the message says why in one line."""


def upload(
    file: Path,
    *,
    store: str,
    camera: str,
    recorded_at: str | None,
    endpoint: str,
    api_key: str,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    if not file.is_file():
        raise UploadError(f"{file}: no such file")
    content_type = CONTENT_TYPES.get(file.suffix.lower())
    if content_type is None:
        raise UploadError(f"{file}: only .mp4 and .mov recordings are accepted")
    size = file.stat().st_size
    when = recorded_at or datetime.fromtimestamp(file.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticket = _request_ticket(
        endpoint,
        api_key,
        {"store": store, "camera": camera, "recorded_at": when, "content_type": content_type, "size": size},
    )
    with file.open("rb") as stream:
        _put(ticket["url"], ticket.get("headers", {}), stream, size, out)
    return ticket


def _request_ticket(endpoint: str, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
    url = endpoint.rstrip("/") + "/uploads"
    request = urllib.request.Request(  # noqa: S310 - the user's endpoint, http(s) by its use
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": api_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the user's endpoint
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        raise UploadError(_refusal(exc)) from None
    except urllib.error.URLError as exc:
        raise UploadError(f"cannot reach {url}: {exc.reason}") from None


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read()).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if exc.code in (401, 403):
        return "the API refused the key (HTTP 403): check --api-key"
    detail = error.get("message") or exc.reason
    parameter = error.get("parameter")
    return f"the API refused the upload (HTTP {exc.code}): {parameter + ': ' if parameter else ''}{detail}"


def _put(url: str, headers: dict[str, str], stream: BinaryIO, size: int, out: TextIO) -> None:
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    sent = 0
    try:
        connection.putrequest("PUT", path, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(size)}.items():
            connection.putheader(name, value)
        connection.endheaders()
        while chunk := stream.read(CHUNK):
            connection.send(chunk)
            sent += len(chunk)
            _progress(sent, size, out)
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        raise UploadError(f"the upload to {parts.netloc} failed: {exc}") from None
    finally:
        connection.close()
        if sent:
            out.write("\n")  # ends the progress line, also when the upload failed or was interrupted
    if response.status >= 300:
        raise UploadError(
            f"S3 refused the upload (HTTP {response.status}): {body[:200].decode(errors='replace')}"
        )


def _progress(sent: int, size: int, out: TextIO) -> None:
    share = sent / size if size else 1.0
    bar = "#" * int(share * 30)
    out.write(f"\r[{bar:<30}] {share * 100:5.1f} %  {sent / 1e6:8.1f} / {size / 1e6:.1f} MB")
    out.flush()
