"""The messages the pipeline reads: S3 event records (ingest queue), Rekognition's completions and
the results function's own continuations (completion queue)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from displaysense.domain.drop_folder import decode_event_key

CONTINUATION = "displaysense.results.continue"


@dataclass(frozen=True)
class UploadedObject:
    """An object an S3 ObjectCreated record names."""

    bucket: str
    key: str  # URL-decoded
    size: int
    version_id: str | None
    etag: str | None
    event_time: str | None


@dataclass(frozen=True)
class Completion:
    job_id: str
    status: str  # SUCCEEDED | FAILED | ERROR
    api: str
    job_tag: str | None
    message: str | None


@dataclass(frozen=True)
class Continuation:
    video_id: str


class UnreadableRecordError(ValueError):
    """An S3 record that names no object (no bucket or key, or not a JSON object at all)."""


def uploaded_object(entry: Any) -> UploadedObject | None:
    """The object an S3 record names; None for records of other events (ObjectRemoved, ...)."""
    if not isinstance(entry, dict):
        raise UnreadableRecordError("an S3 record is not an object")
    if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
        return None
    s3 = entry.get("s3") or {}
    raw = s3.get("object") or {}
    bucket = (s3.get("bucket") or {}).get("name")
    if not bucket or "key" not in raw:
        raise UnreadableRecordError("S3 record without bucket or key")
    return UploadedObject(
        bucket=str(bucket),
        key=decode_event_key(str(raw["key"])),
        size=int(raw.get("size") or 0),
        # "null" is how S3 names the version of an object written while versioning was off.
        version_id=raw.get("versionId") if raw.get("versionId") not in (None, "", "null") else None,
        etag=raw.get("eTag") or None,
        event_time=entry.get("eventTime"),
    )


def parse_body(body: str) -> Completion | Continuation | None:  # noqa: PLR0911 - one per shape
    """A completion (SNS envelope, or raw delivery), our own continuation, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == CONTINUATION:
        video = data.get("video_id")
        return Continuation(str(video)) if isinstance(video, str) else None
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        try:
            data = json.loads(data["Message"])
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
    if "JobId" not in data or "Status" not in data:
        return None
    message = data.get("StatusMessage") or data.get("Message")
    tag = data.get("JobTag")
    return Completion(
        job_id=str(data["JobId"]),
        status=str(data["Status"]).upper(),
        api=str(data.get("API", "")),
        job_tag=str(tag) if tag else None,
        message=str(message) if message else None,
    )


def continuation_body(video_id: str) -> str:
    return json.dumps({"type": CONTINUATION, "video_id": video_id})
