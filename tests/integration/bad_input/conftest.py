"""One local mode for the whole bad-input corpus (tests/support/bad_inputs.py), in this process.

In-process rather than `displaysense local up` in a subprocess because the corpus writes to the
bucket directly (odd keys, x-amz-meta-recorded-at) and reads the whole table, both through the
emulator's own clients. Everything else is local mode as users run it: the moto emulator, the S3
notification into the ingest queue, Lambda's SQS event sources calling the real ingest and results
handlers, the Rekognition stand-in analysing the bytes, the drop folder and the local API Gateway.

The run, once per package: store a baseline (the sample analysed, one rejected upload), snapshot
table and bucket, send every corpus upload and API request, wait until the pipeline is idle,
snapshot again. The tests then only read the recorded results.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from displaysense.resources import UPLOADS_PREFIX
from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions
from displaysense_local.local_mode.event_sources import SqsEventSource

from tests.support.bad_inputs import (
    API_KEY,
    BASELINE,
    MAX_VIDEO_BYTES,
    REQUESTS,
    UPLOADS,
    Outcome,
    UploadCase,
    Via,
)
from tests.support.local_environment import LocalEnvironment

FINAL = ("SUCCEEDED", "FAILED", "REJECTED")
TIMEOUT_S = 240.0
Item = dict[str, Any]  # a DynamoDB item in wire format ({"S": ...}, {"N": ...})


@dataclass(frozen=True)
class Stored:
    """Everything stored, in comparable form."""

    items: dict[tuple[str, str], Item]  # (pk, sk) -> item
    versions: dict[tuple[str, str], tuple[str, int, str]]  # (key, version id) -> (ETag, size, modified)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CorpusRun:
    local: LocalDeployment
    before: Stored
    after: Stored
    answers: dict[str, Answer]  # by ApiCase.id
    videos: dict[str, list[Item]]  # by UploadCase.name: the new video items with its key
    dead_letters: dict[str, int]  # dead-letter queue -> messages
    handler_failures: dict[str, int]  # Lambda -> failed records and invocations

    def api(self, method: str, target: str, key: str | None = API_KEY) -> Answer:
        return send(self.local, method, target, key=key)


def value(attribute: dict[str, Any]) -> Any:
    """A wire-format attribute as Python (strings, numbers as int, maps and lists)."""
    kind, raw = next(iter(attribute.items()))
    if kind == "N":
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    if kind == "M":
        return {k: value(v) for k, v in raw.items()}
    if kind == "L":
        return [value(v) for v in raw]
    if kind == "NULL":
        return None
    return raw


def snapshot(local: LocalDeployment) -> Stored:
    assert local.resources is not None
    dynamodb = local.emulator.client("dynamodb")
    items: dict[tuple[str, str], Item] = {}
    # A Scan, fine in a test: the whole table is the point.
    for page in dynamodb.get_paginator("scan").paginate(TableName=local.resources.table):
        for item in page["Items"]:
            items[(item["pk"]["S"], item["sk"]["S"])] = item
    s3 = local.emulator.client("s3")
    versions: dict[tuple[str, str], tuple[str, int, str]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=local.resources.bucket):
        for version in page.get("Versions", []):
            versions[(version["Key"], version["VersionId"])] = (
                version["ETag"],
                version["Size"],
                version["LastModified"].isoformat(),
            )
        for marker in page.get("DeleteMarkers", []):
            versions[(marker["Key"], marker["VersionId"])] = (
                "delete marker",
                0,
                marker["LastModified"].isoformat(),
            )
    return Stored(items, versions)


def send(
    local: LocalDeployment,
    method: str,
    target: str,
    *,
    key: str | None = API_KEY,
    body: bytes | None = None,
    content_type: str | None = None,
) -> Answer:
    """One request through the local API Gateway, the target sent byte for byte as given."""
    url = urllib.parse.urlsplit(local.api_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    headers = {"Content-Length": str(len(body or b""))}
    if key:
        headers["x-api-key"] = key
    if content_type:
        headers["Content-Type"] = content_type
    try:
        # A body over the gateway's limit is refused from its Content-Length, before it is read:
        # the answer is already on the socket although sending the rest failed.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, url.path.rstrip("/") + target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def _upload(local: LocalDeployment, case: UploadCase) -> None:
    assert local.resources is not None
    if case.via is Via.DROP:
        target = local.options.drop_dir / case.key.removeprefix(UPLOADS_PREFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")  # written aside, then renamed: one upload
        partial.write_bytes(case.body)
        partial.rename(target)
        return
    local.emulator.client("s3").put_object(
        Bucket=local.resources.bucket, Key=case.key, Body=case.body, Metadata=case.metadata
    )


def _queues_idle(local: LocalDeployment) -> bool:
    assert local.resources is not None
    sqs = local.emulator.client("sqs")
    for url in (local.resources.ingest_queue_url, local.resources.completion_queue_url):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if any(int(n) for n in attributes.values()):
            return False
    return True


def dead_letters(local: LocalDeployment) -> dict[str, int]:
    assert local.resources is not None
    sqs = local.emulator.client("sqs")
    counts = {}
    for url in (local.resources.ingest_dlq_url, local.resources.completion_dlq_url):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        counts[url.rsplit("/", 1)[-1]] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return counts


def handler_failures(local: LocalDeployment) -> dict[str, int]:
    """Failed records and failed invocations per Lambda of local mode's SQS event sources. Nothing in
    the corpus may make a handler fail (no job waits for a slot either: there are 20 and the corpus
    starts at most 8 jobs)."""
    sources = [part for part in local._parts if isinstance(part, SqsEventSource)]
    assert len(sources) == 2, sources
    return {
        s.function.name: s.stats.failed_items + s.stats.errors
        for s in sources
        if s.stats.failed_items + s.stats.errors
    }


def _done(video: Item) -> bool:
    """Final, with every started job's end recorded (a FAILED video may await its other job)."""
    document = {k: value(v) for k, v in video.items()}
    if document["status"] not in FINAL:
        return False
    return all(not job.get("job_id") or job.get("ended_at") for job in document.get("jobs", {}).values())


def _new_videos(before: Stored, now: Stored) -> dict[str, list[Item]]:
    by_key: dict[str, list[Item]] = {}
    for (pk, _), item in now.items.items():
        if pk.startswith("VIDEO#") and (pk, "VIDEO") not in before.items:
            by_key.setdefault(item["key"]["S"], []).append(item)
    return by_key


def wait_until_idle(local: LocalDeployment, before: Stored, keys: list[str]) -> Stored:
    """The snapshot once a new video of each key is done, the queues are empty and two snapshots a
    second apart agree (nothing is still being written)."""
    deadline = time.monotonic() + TIMEOUT_S
    previous: Stored | None = None
    missing: list[str] = []
    while time.monotonic() < deadline:
        if any(dead_letters(local).values()):
            raise AssertionError(f"messages in a dead-letter queue: {dead_letters(local)}")
        if failures := handler_failures(local):
            # A crashed record would only come back after the queue's visibility timeout: fail now.
            raise AssertionError(f"handler invocations failed: {failures}; see {local.options.data_dir}")
        current = snapshot(local)
        videos = _new_videos(before, current)
        missing = [key for key in keys if not any(_done(v) for v in videos.get(key, []))]
        if not missing and _queues_idle(local) and current == previous:
            return current
        previous = current
        time.sleep(1.0)
    raise AssertionError(f"the pipeline did not settle in {TIMEOUT_S:.0f} s; not done: {missing}")


@pytest.fixture(scope="package")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    root: Path = tmp_path_factory.mktemp("bad-input")
    options = LocalOptions(
        data_dir=root / "data",
        drop_dir=root / "drop",
        port=0,
        api_key=API_KEY,
        sample_fps=2.0,  # the baseline needs analysed footage, not accuracy: fewer frames, less CPU
        extra_env={"DS_MAX_VIDEO_BYTES": str(MAX_VIDEO_BYTES)},
    )
    with LocalEnvironment(), LocalDeployment(options) as local:
        assert local.resources is not None
        s3 = local.emulator.client("s3")
        empty = snapshot(local)
        for key, body in BASELINE.items():
            s3.put_object(Bucket=local.resources.bucket, Key=key, Body=body)
        before = wait_until_idle(local, empty, list(BASELINE))

        for case in UPLOADS:
            _upload(local, case)
        answers = {
            case.id: send(
                local,
                case.method,
                case.target,
                key=case.key,
                body=case.body,
                content_type=case.content_type if case.body is not None else None,
            )
            for case in REQUESTS
        }
        after = wait_until_idle(local, before, [c.key for c in UPLOADS if c.outcome is not Outcome.IGNORED])
        new = _new_videos(before, after)
        yield CorpusRun(
            local=local,
            before=before,
            after=after,
            answers=answers,
            videos={case.name: new.get(case.key, []) for case in UPLOADS},
            dead_letters=dead_letters(local),
            handler_failures=handler_failures(local),
        )
