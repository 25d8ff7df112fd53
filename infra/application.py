"""Build the CDK app: `app.py` and the infrastructure tests use the same function.

Context comes from three places, later ones winning: the `context` of `cdk.json` (read here too, so
that `python app.py` without the CDK CLI synthesizes the same stack), the CDK CLI (`cdk.json`,
`cdk.context.json`, `-c key=value`), and `overrides` (tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import DeploymentSettings
from infra.stack import DisplaySenseStack

CDK_JSON: Final = Path(__file__).resolve().parents[1] / "cdk.json"


@dataclass(frozen=True)
class BuiltApp:
    app: cdk.App
    stack: DisplaySenseStack
    settings: DeploymentSettings


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{path}: 'context' must be an object")
    return context


def build_app(overrides: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> BuiltApp:
    """The app with its one stack; raises `ContextError` naming every invalid context key."""
    app = cdk.App(
        context=cdk_json_context(),
        post_cli_context=dict(overrides or {}),
        outdir=outdir,
    )
    settings = DeploymentSettings.from_context(app.node.get_all_context())
    # No env: the stack is environment-agnostic, so synth needs no AWS credentials or lookups; account
    # and region are resolved by CloudFormation at deploy time.
    stack = DisplaySenseStack(app, settings.stack_name, settings=settings)
    if settings.cdk_nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return BuiltApp(app=app, stack=stack, settings=settings)
