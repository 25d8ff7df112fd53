"""Raw Rekognition result pages in S3, gzip JSON, one object per page:

    results/<video id>/<labels|faces>/page-00000.json.gz, page-00001.json.gz, ...

The archive is what the engine reads (so a crash after paging never calls Get* again), what a
resumed aggregation continues from, and what recomputes metrics later when definitions change
(kept `results_retention_days`: docs/security.md). A page is written whole or not at all (one
PutObject), and writing page n again writes the same page, so retries need no clean-up.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from displaysense.domain.video import JobKind
from displaysense.resources import RESULTS_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_PAGE_NAME = re.compile(r"page-(\d{5,})\.json\.gz$")


def stream_prefix(video_id: str, kind: JobKind) -> str:
    return f"{RESULTS_PREFIX}{video_id}/{kind.value}/"


def page_key(video_id: str, kind: JobKind, index: int) -> str:
    return f"{stream_prefix(video_id, kind)}page-{index:05d}.json.gz"


class ResultsArchive:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def put_page(self, video_id: str, kind: JobKind, index: int, page: Mapping[str, Any]) -> str:
        # mtime=0: the same page always compresses to the same bytes (and the same ETag).
        body = gzip.compress(json.dumps(page, separators=(",", ":"), default=str).encode("utf-8"), mtime=0)
        key = page_key(video_id, kind, index)
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ContentEncoding="gzip",
        )
        return key

    def get_page(self, video_id: str, kind: JobKind, index: int) -> dict[str, Any]:
        answer = self._s3.get_object(Bucket=self.bucket, Key=page_key(video_id, kind, index))
        page = json.loads(gzip.decompress(answer["Body"].read()))
        if not isinstance(page, dict):
            raise ValueError(f"{page_key(video_id, kind, index)} is not a result page")
        return page

    def list_pages(self, video_id: str, kind: JobKind) -> list[int]:
        """Indices of the pages archived for one job, ascending."""
        found: list[int] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for answer in paginator.paginate(Bucket=self.bucket, Prefix=stream_prefix(video_id, kind)):
            for entry in answer.get("Contents", []):
                match = _PAGE_NAME.search(entry.get("Key", ""))
                if match:
                    found.append(int(match.group(1)))
        return sorted(found)

    def pages(
        self, video_id: str, kind: JobKind, count: int, before_page: Callable[[], None] | None = None
    ) -> ArchivedPages:
        return ArchivedPages(self, video_id, kind, count, before_page)


class ArchivedPages:
    """Pages 0..count-1 of one job, fetched one at a time: memory holds a single page.

    Re-iterable (each `iter()` starts at page 0), which the engine needs to sort input that is
    out of order beyond its window in a second pass. Pages past `count` (left by an earlier run
    that was restarted from the first page) are never read. `before_page` runs before each read
    and may raise to stop the reader (the results handler's time check).
    """

    def __init__(
        self,
        archive: ResultsArchive,
        video_id: str,
        kind: JobKind,
        count: int,
        before_page: Callable[[], None] | None = None,
    ) -> None:
        self._archive = archive
        self.video_id = video_id
        self.kind = kind
        self.count = count
        self.reads = 0
        self._before_page = before_page

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self.count):
            if self._before_page is not None:
                self._before_page()
            self.reads += 1
            yield self._archive.get_page(self.video_id, self.kind, index)
