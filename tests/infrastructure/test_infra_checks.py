"""cdk-nag (AwsSolutions) and cfn-lint pass on the synthesized templates; the real CDK CLI synthesizes
offline without AWS credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from .conftest import REPO_ROOT, Synthesized

CDK_CLI = REPO_ROOT / ".venv" / "cdk" / "node_modules" / ".bin" / "cdk"
# CDK emits redundant DependsOn next to GetAtt references (function -> role); see .cfnlintrc.yaml.
CFN_LINT_IGNORED = ["W3005"]
# Regions where the template must be valid (cfn-lint checks resource availability per region).
CFN_LINT_REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]


@pytest.fixture(params=["default", "variant"])
def stack(request: pytest.FixtureRequest) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue(f"{request.param}_stack")
    return synthesized


def test_cdk_nag_reports_no_unsuppressed_errors_or_warnings(stack: Synthesized) -> None:
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    errors = stack.annotations.find_error("*", pattern)
    warnings = stack.annotations.find_warning("*", pattern)
    assert errors == [], [e.entry.data for e in errors]
    assert warnings == [], [w.entry.data for w in warnings]


def test_cdk_nag_actually_ran(stack: Synthesized) -> None:
    """A clean result must come from checks that ran, not from a pack that was never applied."""
    (report,) = stack.assembly_dir.glob(f"AwsSolutions-*{stack.built.stack.artifact_id}-NagReport.csv")
    lines = report.read_text().splitlines()
    assert len(lines) > 50
    assert any('"AwsSolutions-S10"' in line and '"Compliant"' in line for line in lines)
    assert not any('"Non-Compliant"' in line for line in lines)


def suppressions(stack: Synthesized) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for resource in stack.resources.values():
        found.extend(resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []))
    return found


def test_every_suppression_is_justified(stack: Synthesized) -> None:
    found = suppressions(stack)
    assert found
    for suppression in found:
        # A reason a reviewer can check: what is allowed, and why nothing narrower works.
        assert len(suppression["reason"]) >= 60, suppression
    # Wildcard findings are suppressed finding by finding, never for a whole rule.
    for suppression in found:
        if suppression["id"] in ("AwsSolutions-IAM4", "AwsSolutions-IAM5"):
            assert suppression.get("applies_to"), suppression


def test_cfn_lint_passes(stack: Synthesized, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(stack.template_json))
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=CFN_LINT_REGIONS))
    assert [str(m) for m in matches] == []


def test_cfn_lint_is_configured_for_the_project() -> None:
    """`cfn-lint` in the repository root lints cdk.out with the same exceptions as this test."""
    config = (REPO_ROOT / ".cfnlintrc.yaml").read_text()
    assert "cdk.out/*.template.json" in config
    for check in CFN_LINT_IGNORED:
        assert f"- {check}" in config


@pytest.mark.slow
@pytest.mark.skipif(not CDK_CLI.exists(), reason="CDK CLI not installed (make setup)")
def test_cdk_cli_synthesizes_without_aws_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    # Point the SDK at files that do not exist: no profile, no credentials, no region from ~/.aws.
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="1",
    )
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((outdir / "DisplaySense.template.json").read_text())
    assert any(r["Type"] == "AWS::Lambda::Function" for r in template["Resources"].values())
    # Context from the command line reaches the app, and bad values stop the synth with the key named.
    bad = subprocess.run(
        [
            str(CDK_CLI),
            "synth",
            "--quiet",
            "--no-notices",
            "--output",
            str(tmp_path / "bad"),
            "-c",
            "api_auth=NONE",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode != 0
    assert "api_auth='NONE' is not one of API_KEY, IAM" in bad.stdout + bad.stderr
    shutil.rmtree(outdir, ignore_errors=True)
