"""Synthesize the stack once per session and configuration: synth with cdk-nag takes seconds."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# `infra` is not an installed package: it lives next to app.py, which is where the CDK CLI runs it.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # a list of major versions

from aws_cdk.assertions import Annotations, Template  # noqa: E402 - after the jsii switches above

from infra.application import BuiltApp, build_app  # noqa: E402

# A second configuration exercising every switch away from its default.
VARIANT_CONTEXT: Mapping[str, Any] = {
    "stack_name": "DisplaySense-dev",
    "retain_data": False,
    "footage_retention_days": 0,
    "footage_safety_net_days": 3,
    "results_retention_days": 45,
    "api_auth": "IAM",
    "cors_origins": "https://dashboard.example.com",
    "alarm_email": "ops@example.com",
    "faces_only": "true",
    "stuck_analyzing_minutes": "60",
    "watchdog_interval_minutes": 10,
    "dwell_s": 8,
    "metrics_namespace": "DisplaySenseDev",
}


@dataclass(frozen=True)
class Synthesized:
    built: BuiltApp
    template: Template
    annotations: Annotations
    template_json: dict[str, Any]
    assembly_dir: Path

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template_json["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one(self, resource_type: str, logical_prefix: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            v for k, v in self.of_type(resource_type).items() if k.startswith(logical_prefix)
        ]
        assert len(found) == 1, f"{resource_type} {logical_prefix}*: {len(found)} found"
        return found[0]


def _synth(tmp: Path, overrides: Mapping[str, Any] | None) -> Synthesized:
    built = build_app(overrides, outdir=str(tmp))
    assembly = built.app.synth()
    template = Template.from_stack(built.stack)
    return Synthesized(
        built=built,
        template=template,
        annotations=Annotations.from_stack(built.stack),
        template_json=dict(template.to_json()),
        assembly_dir=Path(assembly.directory),
    )


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield _synth(tmp_path_factory.mktemp("cdk-default"), None)


@pytest.fixture(scope="session")
def variant_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield _synth(tmp_path_factory.mktemp("cdk-variant"), VARIANT_CONTEXT)


def env_of(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
