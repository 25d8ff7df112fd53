"""In local mode the API function runs beside the pipeline, as on AWS: a request is answered while a
results invocation is still running (the pipeline's own invocations run one at a time)."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from displaysense_local.local_mode.deployment import LocalDeployment, LocalOptions

from tests.support.local_environment import LocalEnvironment

KEY = "concurrency-key"
HOLD = "a results invocation that takes its time"
TIMEOUT_S = 60.0


def test_the_api_answers_while_a_results_invocation_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from displaysense.handlers import results

    running, release = threading.Event(), threading.Event()
    real_handler = results.handler

    def long_invocation(event: dict[str, Any], context: Any) -> Any:
        if any(record["body"] == HOLD for record in event["Records"]):
            running.set()
            release.wait(TIMEOUT_S)
            running.clear()
            return {"batchItemFailures": []}
        return real_handler(event, context)

    # Local mode hands the results handler to its event source at start-up.
    monkeypatch.setattr(results, "handler", long_invocation)
    options = LocalOptions(data_dir=tmp_path / "data", drop_dir=tmp_path / "drop", port=0, api_key=KEY)
    with LocalEnvironment(), LocalDeployment(options) as local:
        assert local.resources is not None
        local.emulator.client("sqs").send_message(
            QueueUrl=local.resources.completion_queue_url, MessageBody=HOLD
        )
        try:
            assert running.wait(TIMEOUT_S), "the completion was not delivered"
            stores = _get(local, "stores")
            videos = _get(local, "videos")
            assert running.is_set(), "the results invocation ended before the API answered"
        finally:
            release.set()
    assert stores["stores"] == []
    assert videos["videos"] == []


def _get(local: LocalDeployment, path: str) -> Any:
    request = urllib.request.Request(local.api_url + path, headers={"x-api-key": KEY})
    # Far less than the held invocation: an API waiting for the pipeline would time out here.
    with urllib.request.urlopen(request, timeout=TIMEOUT_S / 3) as answer:
        assert answer.status == 200
        return json.loads(answer.read())
