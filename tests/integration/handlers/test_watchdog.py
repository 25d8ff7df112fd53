"""The watchdog counts videos ANALYZING for too long and publishes the count on every run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from displaysense.handlers import watchdog

from tests.integration.handlers.conftest import Context, Pipeline


def published(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents Powertools printed."""
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" in d and watchdog.STUCK_METRIC in d]


def run(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    capsys.readouterr()
    answer = watchdog.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    [document] = published(capsys.readouterr().out)
    return answer, document


def test_stuck_videos_are_counted_per_store_without_a_scan(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DS_STUCK_ANALYZING_MINUTES", "60")
    answer, document = run(capsys)  # an empty table: 0 is published too
    assert answer["stuck"] == 0
    assert document[watchdog.STUCK_METRIC] == [0.0]

    uploads = [
        pipeline.upload("uploads/store-1/cam-1/20261124T100000Z.mp4"),
        pipeline.upload("uploads/store-2/cam-1/20261124T100000Z.mp4"),
    ]
    for upload in uploads:
        pipeline.expect_starts(upload)
    pipeline.notify(*uploads)
    pipeline.deliver("ingest")
    pipeline.clock.advance(59 * 60)
    assert run(capsys)[0]["stuck"] == 0

    pipeline.clock.advance(2 * 60)
    scans: list[str] = []
    pipeline.table.meta.client.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda **_: scans.append("scan")
    )
    answer, document = run(capsys)
    assert answer == {"stuck": 2, "stores": 2, "threshold_minutes": 60}
    assert document[watchdog.STUCK_METRIC] == [2.0]
    [definition] = document["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "DisplaySense"
    assert definition["Dimensions"] == [["service"]]
    assert definition["Metrics"] == [{"Name": "StuckAnalyzingVideos", "Unit": "Count"}]
    assert document["service"] == "displaysense"
    assert scans == []
