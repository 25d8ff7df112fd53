from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.adapters.upload_presigner import S3Presigner
from displaysense.api.service import ApiService
from displaysense.handlers.api import create_app
from displaysense_local.api_gateway import rest_event
from moto import mock_aws

from tests.integration.api.seeding import BUCKET, Seeder, create_table
from tests.support.tables import TableAdapters

TABLE_NAME = "displaysense-api-test"
# The seeded footage is from the week of Monday 2026-11-23; "now" is the Monday after.
NOW = 1_795_996_800


@dataclass
class World:
    seeder: Seeder
    table: Any
    s3: Any
    app: Any
    operations: Counter[str] = field(default_factory=Counter)

    def call(
        self,
        method: str,
        path: str,
        query: dict[str, str] | Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], str]:
        pairs = list(query.items()) if isinstance(query, dict) else list(query)
        raw = self.app.resolve(
            rest_event(method=method, resource_path=path, query=pairs, headers=headers, body=body), None
        )
        headers_out = dict(raw.get("headers") or {})
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            headers_out[name] = ", ".join(values)
        return raw["statusCode"], headers_out, raw.get("body") or ""

    def get(self, path: str, query: dict[str, str] | None = None) -> Any:
        status, _, body = self.call("GET", path, query or {})
        assert status == 200, body
        return json.loads(body)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def world(aws: None) -> World:
    table = create_table(TABLE_NAME)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    tables = TableAdapters(table)
    store = MetricsStore(table)
    service = ApiService(
        videos=tables.videos,
        listing=tables.listing,
        cameras=tables.cameras,
        buckets=store,
        presigner=S3Presigner(s3, BUCKET),
        max_video_bytes=10 * 1024**3,
        upload_url_ttl_s=600,
        clock=lambda: NOW,
    )
    world = World(Seeder(tables, store), table, s3, create_app(lambda: service))

    def count(event_name: str, **_: Any) -> None:
        world.operations[event_name.rsplit(".", 1)[-1]] += 1

    table.meta.client.meta.events.register("before-call.dynamodb.*", count)
    return world
