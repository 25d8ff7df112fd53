"""One factory for every DisplaySense Lambda: same code asset, runtime, layer, logging and tracing.

The asset is the `lambdas/` folder as it is in the repository (the package `displaysense`); nothing is
built or installed, so packaging needs no Docker. boto3 comes with the Lambda runtime, Powertools and
pydantic with the official Powertools layer of exactly the Powertools version that requirements.txt pins
(and the tests run): CloudFormation resolves its ARN at deploy time from the public SSM parameter
Powertools publishes for each release, so synth stays offline.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final, cast

import tzdata
from aws_cdk import Duration, RemovalPolicy, Stage
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from displaysense.config import ObservabilitySettings
from displaysense.resources import FunctionDefinition

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
LAMBDA_SOURCE: Final = REPO_ROOT / "lambdas"
REQUIREMENTS: Final = REPO_ROOT / "requirements.txt"
# Build and test debris that must not be uploaded (and must not change the asset hash).
ASSET_EXCLUDES: Final = (
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/*.egg-info",
    "**/.DS_Store",
)

RUNTIME: Final = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
# One service name for all functions: Powertools puts it on every log line and as the `service`
# dimension of every metric, and the alarms match on it.
SERVICE_NAME: Final = ObservabilitySettings().service_name

# cdk-nag AwsSolutions-IAM5 findings ("appliesTo") that functions justify, and why.
AppliesTo = str | dict[str, str]
Wildcard = tuple[AppliesTo, str]
ANY_RESOURCE: Final = "Resource::*"
TABLE_INDEXES: Final = {"regex": "/^Resource::<.*Table[0-9A-F]+\\.Arn>\\/index\\/\\*$/"}
TABLE_INDEXES_REASON: Final = (
    "DynamoDB grants include <table ARN>/index/*: the table's own three GSIs (by_store_time, "
    "by_store_status, by_time), which the Query access patterns need; no other table."
)
XRAY_REASON: Final = (
    "Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so AWS requires Resource '*'."
)


def pinned_version(package: str, requirements: Path = REQUIREMENTS) -> str:
    """The version requirements.txt pins for `package` (`name[extras]==version`): the one place it is
    written, for the tests' virtualenv and for the layer the stack deploys alike."""
    pattern = re.compile(rf"^{re.escape(package)}(\[[^\]]*\])?==([^\s;#]+)", re.IGNORECASE)
    for line in requirements.read_text(encoding="utf-8").splitlines():
        found = pattern.match(line.strip())
        if found:
            return found.group(2)
    raise ValueError(f"{requirements}: no '{package}==<version>' pin")


POWERTOOLS_VERSION: Final = pinned_version("aws-lambda-powertools")


def powertools_layer_parameter(version: str = POWERTOOLS_VERSION) -> str:
    """Powertools' public SSM parameter holding the regional ARN of the layer of one release
    (`/aws/service/powertools/python/<arch>/<runtime>/<version>`, in the regions it publishes to)."""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


def bucket_prefix(prefix: str) -> dict[str, str]:
    """The IAM5 finding for objects under one prefix of the data bucket (`<bucket ARN>/prefix*`)."""
    escaped = prefix.replace("/", "\\/")
    return {"regex": f"/^Resource::<.*DataBucket[0-9A-F]+\\.Arn>\\/{escaped}\\*$/"}


class LambdaPackage(Construct):
    """The shared code asset and layer, and a `function()` factory with one role per function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        powertools_layer_arn: str,
        metrics_namespace: str,
        log_level: str,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = dict(environment)
        self._metrics_namespace = metrics_namespace
        self._log_level = log_level
        self._log_retention_days = log_retention_days
        self._removal_policy = removal_policy
        self.code = lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=list(ASSET_EXCLUDES))
        # A template parameter of type AWS::SSM::Parameter::Value<String>: CloudFormation reads it in
        # the stack's region at deploy time, so synth needs no credentials and the stack stays
        # environment-agnostic. An explicit ARN is for regions and partitions without the parameter.
        self.powertools_layer_arn = powertools_layer_arn or ssm.StringParameter.value_for_string_parameter(
            self, powertools_layer_parameter()
        )
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", self.powertools_layer_arn
        )
        self.time_zone_layer = lambda_.LayerVersion(
            self,
            "TimeZoneLayer",
            code=lambda_.Code.from_asset(str(_time_zone_layer_source(_assembly_dir(self)))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"IANA time zones (tzdata {tzdata.IANA_VERSION}) for zoneinfo",
            removal_policy=RemovalPolicy.DESTROY,
        )

    def function(
        self,
        scope: Construct,
        construct_id: str,
        definition: FunctionDefinition,
        *,
        description: str,
        extra_environment: dict[str, str] | None = None,
        wildcards: Sequence[Wildcard] = (),
        time_zones: bool = False,
    ) -> lambda_.Function:
        """A function with its own role (logs and X-Ray only, callers grant the rest) and log group.

        `wildcards` justifies, finding by finding, the wildcard resources the caller's grants add;
        `time_zones` adds the tzdata layer for code that converts times to named zones.
        """
        log_group = logs.LogGroup(scope, f"{construct_id}Logs", removal_policy=self._removal_policy)
        # RetentionDays is an enum of names; the validated number goes straight into the template.
        cast(logs.CfnLogGroup, log_group.node.default_child).retention_in_days = self._log_retention_days

        # An explicit role instead of the default one: the default attaches the managed policy
        # AWSLambdaBasicExecutionRole, which may write to every log group of the account.
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"DisplaySense {definition.name} Lambda",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        environment = {
            **self._environment,
            **(extra_environment or {}),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": self._metrics_namespace,
            "LOG_LEVEL": self._log_level,
        }
        function = lambda_.Function(
            scope,
            construct_id,
            description=description,
            code=self.code,
            handler=definition.handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=definition.memory_mb,
            timeout=Duration.seconds(definition.timeout_s),
            layers=[self.powertools_layer, *([self.time_zone_layer] if time_zones else [])],
            environment=environment,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )
        reasons: dict[str, tuple[AppliesTo, list[str]]] = {ANY_RESOURCE: (ANY_RESOURCE, [XRAY_REASON])}
        for applies_to, reason in wildcards:
            reasons.setdefault(str(applies_to), (applies_to, []))[1].append(reason)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(id="AwsSolutions-IAM5", reason=" ".join(texts), applies_to=[applies_to])
                for applies_to, texts in reasons.values()
            ],
            apply_to_children=True,
        )
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason=(
                        "Pinned to python3.13 on purpose: the Powertools layer is built per Python "
                        "version (its SSM parameter names python3.13) and the code is tested on 3.13; "
                        "Lambda supports python3.13 until mid-2029. Moving to a newer runtime is a "
                        "deliberate change of RUNTIME, which also selects the matching layer."
                    ),
                )
            ],
        )
        return function


def _assembly_dir(scope: Construct) -> str:
    stage = Stage.of(scope)
    if stage is None:
        raise RuntimeError("the Lambda package must be part of a CDK app")
    return stage.outdir


def _time_zone_layer_source(outdir: str) -> Path:
    """The installed `tzdata` package laid out as a Python layer (`python/tzdata/...`), staged in
    the cloud assembly folder. A copy of files already on disk: no Docker, no network, and the
    same bytes (so the same asset hash) on every synth with the pinned tzdata."""
    source = Path(tzdata.__file__).parent
    target = Path(outdir) / ".layer-sources" / f"tzdata-{tzdata.IANA_VERSION}"
    package = target / "python" / "tzdata"
    if not package.exists():
        shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target
