"""schemathesis against the OpenAPI document local mode serves, and the key on every data route.

Local mode runs as users start it (`displaysense local up`, a separate process, tests/e2e/
local_process.py) with the sample analysed under store-001/cam-01 and a rejected upload under
store-001/cam-02: the spec's examples (store-001, cam-01, store-001/cam-02) then meet real data,
and the stateful phase reuses the video ids the API lists, so successful answers are checked
against their schemas too, not only refusals.

schemathesis runs through its command line, as docs/reliability.md tells a developer to run it,
with a fixed seed and a bounded number of examples per operation (CI has 2 cores). The figures of
the run (requests, statuses, checks, failures) are printed and kept in the test's report folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_process import LocalMode

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SAMPLE = Path(__file__).parents[2] / "local" / "displaysense_local" / "samples" / "storefront-walkby.mp4"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
# Per operation and phase; 50 keeps the run near a minute on 2 cores. Raise it for a longer hunt:
# DS_SCHEMATHESIS_MAX_EXAMPLES=500 .venv/bin/pytest tests/e2e/test_schemathesis.py -s
MAX_EXAMPLES = int(os.environ.get("DS_SCHEMATHESIS_MAX_EXAMPLES", "50"))
SEED = int(os.environ.get("DS_SCHEMATHESIS_SEED", "20261124"))
STORE = "store-001"  # the spec's examples name it


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    root = tmp_path_factory.mktemp("schemathesis")
    running = LocalMode(root / "data", root / "drop", api_key="schemathesis-key").start()
    try:
        # Yesterday: inside the API's default ranges (metrics: 7 days, compare: 7 days).
        when = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%dT%H0000Z")
        for camera, content in (("cam-01", None), ("cam-02", b"not footage\n")):
            target = running.drop_dir / STORE / camera / f"{when}.mp4"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")  # written aside, then renamed: one upload
            if content is None:
                shutil.copyfile(SAMPLE, partial)
            else:
                partial.write_bytes(content)
            partial.rename(target)
        assert running.wait_for(STORE, f"uploads/{STORE}/cam-01/{when}.mp4")["status"] == "SUCCEEDED"
        assert running.wait_for(STORE, f"uploads/{STORE}/cam-02/{when}.mp4")["status"] == "REJECTED"
        yield running
    finally:
        running.kill()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(local: LocalMode, tmp_path: Path) -> None:
    reports = tmp_path / "schemathesis"
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        local.url + "openapi.json",
        "--header",
        f"x-api-key: {local.api_key}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--report",
        "json,har",
        "--report-dir",
        str(reports),
        "--output-sanitize",
        "false",  # keep the key in the HAR, to count the requests sent without it
        "--no-color",
    ]
    # Run in the test's folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    tail = done.stdout[-6000:]
    [summary_file] = reports.glob("json-*.json")
    [har_file] = reports.glob("har-*.json")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    entries = json.loads(har_file.read_text(encoding="utf-8"))["log"]["entries"]
    figures = _figures(summary, entries, local.api_key)
    print(json.dumps(figures, indent=1))  # the numbers docs/reliability.md reports (pytest -s)
    (reports / "figures.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")

    assert done.returncode == 0, tail
    assert summary["failures"] == [] and summary["errors"] == [], tail
    assert summary["operations"]["tested"] == summary["operations"]["total"] == 6, summary["operations"]
    assert all(p["status"] == "success" for p in summary["phases"].values()), summary["phases"]
    # Not a vacuous pass: every operation answered successfully at least once (its 200 schema
    # checked), refusals were exercised, and requests without a valid key were sent and refused.
    assert set(figures["operations_with_200"]) == {
        "GET /compare",
        "GET /stores",
        "GET /stores/{store}/metrics",
        "GET /videos",
        "GET /videos/{video_id}",
        "POST /uploads",
    }, figures
    assert figures["status_5xx"] == 0
    assert figures["requests"] >= 6 * MAX_EXAMPLES, figures
    assert figures["without_or_with_a_wrong_key"] >= 6, figures
    assert figures["without_or_with_a_wrong_key_not_403"] == 0, figures


def _operation(method: str, url: str, base: str) -> str:
    path = url.split("?", 1)[0].removeprefix(base.rstrip("/"))
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "stores" and parts[3] == "metrics":
        path = "/stores/{store}/metrics"
    elif len(parts) == 3 and parts[1] == "videos":
        path = "/videos/{video_id}"
    return f"{method} {path}"


def _figures(summary: dict[str, Any], entries: list[dict[str, Any]], key: str) -> dict[str, Any]:
    base = entries[0]["request"]["url"].split("/v1/", 1)[0] + "/v1" if entries else ""
    statuses: Counter[int] = Counter()
    with_200: set[str] = set()
    keyless = keyless_not_403 = 0
    for entry in entries:
        status = int(entry["response"]["status"])
        statuses[status] += 1
        method = entry["request"]["method"]
        if status == 200:
            with_200.add(_operation(method, entry["request"]["url"], base))
        sent = [h["value"] for h in entry["request"]["headers"] if h["name"].lower() == "x-api-key"]
        if sent != [key]:
            keyless += 1
            keyless_not_403 += status != 403
    return {
        "schemathesis": summary["schemathesis_version"],
        "seed": summary["seed"],
        "max_examples": MAX_EXAMPLES,
        "checks": list(CHECKS),
        "running_time_s": round(summary["running_time"], 1),
        "operations": summary["operations"]["tested"],
        "test_cases": summary["test_cases"],
        "requests": len(entries),
        "statuses": dict(sorted(statuses.items())),
        "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "operations_with_200": sorted(with_200),
        "without_or_with_a_wrong_key": keyless,
        "without_or_with_a_wrong_key_not_403": keyless_not_403,
        "failures": summary["failures"],
        "warnings": {k: v for k, v in summary["warnings"].items() if v},
    }


def _spec_operations(local: LocalMode) -> list[tuple[str, str]]:
    """(method, path with example values) of every operation in the served spec: all data routes."""
    with urllib.request.urlopen(local.url + "openapi.json", timeout=30) as response:
        document = json.loads(response.read())
    examples = {"{store}": STORE, "{video_id}": "0" * 32}
    found: list[tuple[str, str]] = []
    for template, item in document["paths"].items():
        path = template
        for placeholder, example in examples.items():
            path = path.replace(placeholder, example)
        found.extend((method.upper(), path.lstrip("/")) for method in item)
    return found


def _call(local: LocalMode, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    body = b"{}" if method == "POST" else None
    request = urllib.request.Request(
        local.url + path, method=method, data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "wrong-key"},
        {"x-api-key": ""},
        {"x-api-key": "schemathesis-ke"},
        {"x-api-key": "SCHEMATHESIS-KEY"},
        {"Authorization": "Bearer schemathesis-key"},
        {"x-api-key-x": "schemathesis-key"},
    ],
    ids=[
        "no key",
        "wrong key",
        "empty key",
        "key cut short",
        "key in capitals",
        "as bearer",
        "other header",
    ],
)
def test_every_data_route_refuses_requests_without_the_key(local: LocalMode, headers: dict[str, str]) -> None:
    operations = _spec_operations(local)
    assert len(operations) == 6
    for method, path in operations:
        status, body = _call(local, method, path, headers)
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"}), (method, path)
        # The same request with the key reaches the handler: the refusal was the key's doing.
        allowed, _ = _call(local, method, path, {"x-api-key": local.api_key})
        assert allowed != 403, (method, path)
