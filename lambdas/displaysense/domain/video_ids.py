"""Ids derived from the uploaded object: the video id, and each job's ClientRequestToken and JobTag.

Everything here is a pure function of (bucket, key, object version), so a second delivery of the
same S3 event, a retried message or a re-upload of the same object version lands on the same video
and the same tokens, and Rekognition answers a repeated Start* with the job it already runs
(a token is honoured 7 days and sends no second completion message: docs/architecture.md, "Video ids
and Rekognition tokens").
"""

from __future__ import annotations

import hashlib
import re

from displaysense.domain.video import JobKind

# Rekognition's charsets (StartLabelDetection / StartFaceDetection API reference).
CLIENT_REQUEST_TOKEN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
JOB_TAG = re.compile(r"^[a-zA-Z0-9_.\-:+=/]{1,1024}$")
VIDEO_ID = re.compile(r"^[0-9a-f]{32}$")

# Bump to start new jobs for objects already analysed under the old derivation (a changed request
# with an old token would be refused as IdempotentParameterMismatch for 7 days).
TOKEN_SCHEME = "1"  # noqa: S105 - a version number, not a secret


def object_version(version_id: str | None, etag: str | None) -> str:
    """What tells two uploads under one key apart.

    The data bucket is versioned, so S3 events carry the version id. An unversioned bucket (or an
    emulator that leaves the version out of its events) reports none, or the literal "null": then
    the content hash (ETag) stands in, so re-uploading identical bytes is the same video and a
    changed file is a new one.
    """
    if version_id and version_id != "null":
        return f"version:{version_id}"
    tag = (etag or "").strip().strip('"')
    if not tag:
        raise ValueError("an S3 object needs a version id or an ETag to be identified")
    return f"etag:{tag}"


def video_id(bucket: str, key: str, version: str) -> str:
    """32 lowercase hex digits (128 bits of SHA-256), from bucket, decoded key and `object_version`.

    Safe in table keys, S3 prefixes (results/<video id>/), URLs and as a Rekognition JobTag.
    """
    digest = hashlib.sha256("\x00".join(("video", bucket, key, version)).encode("utf-8"))
    return digest.hexdigest()[:32]


def client_request_token(video: str, kind: JobKind) -> str:
    """The Start* idempotency token of one job of one video: `<kind>-<40 hex digits>` (47 chars)."""
    digest = hashlib.sha256("\x00".join(("token", TOKEN_SCHEME, video, kind.value)).encode("utf-8"))
    token = f"{kind.value}-{digest.hexdigest()[:40]}"
    assert CLIENT_REQUEST_TOKEN.match(token)
    return token


def job_tag(video: str) -> str:
    """The JobTag carried back in the completion message: the video id itself."""
    if not JOB_TAG.match(video):
        raise ValueError(f"{video!r} cannot be a Rekognition JobTag")
    return video


def is_video_id(value: str) -> bool:
    return bool(VIDEO_ID.match(value))
