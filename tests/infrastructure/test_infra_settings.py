"""DeploymentSettings: context parsing, validation messages that name the key, defaults in one place."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from displaysense.config import ServiceSettings
from displaysense.domain.settings import EngineSettings

from infra.application import CDK_JSON, build_app, cdk_json_context
from infra.settings import ContextError, DeploymentSettings, context_defaults


def settings_from(**context: Any) -> DeploymentSettings:
    return DeploymentSettings.from_context(context)


def error_for(**context: Any) -> str:
    with pytest.raises(ContextError) as info:
        DeploymentSettings.from_context(context)
    return str(info.value)


def test_no_context_gives_the_service_and_engine_defaults() -> None:
    settings = settings_from()
    service = ServiceSettings(table_name="", bucket_name="")
    assert settings.engine == EngineSettings()
    assert settings.footage_retention_days == service.footage_retention_days == 7
    assert settings.faces_only is service.faces_only
    assert settings.max_video_bytes == service.max_video_bytes
    assert settings.max_concurrent_jobs == service.max_concurrent_jobs
    assert settings.upload_url_ttl_s == service.upload_url_ttl_s
    assert settings.cors_origins == service.cors_origins
    assert settings.results_retention_days == 30
    assert settings.api_auth == "API_KEY"


def test_cdk_json_lists_every_setting_with_its_default() -> None:
    """cdk.json shows devops every key; it must not drift from the defaults in code."""
    context = cdk_json_context()
    ours = {k: v for k, v in context.items() if not k.startswith("@")}
    defaults = context_defaults()
    missing = {k: v for k, v in defaults.items() if ours.get(k, object()) != v}
    assert not missing, f"set in cdk.json 'context': {json.dumps(missing)}"
    assert set(ours) == set(defaults), f"not settings: {sorted(set(ours) - set(defaults))}"
    # Every ServiceSettings option and every EngineSettings threshold is configurable.
    service_options = {f.name for f in fields(ServiceSettings)} - {
        "table_name",
        "bucket_name",
        "completion_topic_arn",
        "rekognition_role_arn",
        "completion_queue_url",
        "engine",
    }
    assert service_options <= set(ours)
    assert {f.name for f in fields(EngineSettings)} <= set(ours)


def test_the_deployment_guide_documents_every_setting() -> None:
    """Every DisplaySense key of cdk.json has a row in docs/deploy.md's context reference, which the
    README names as the complete reference."""
    guide = (CDK_JSON.parent / "docs" / "deploy.md").read_text()
    keys = [key for key in cdk_json_context() if not key.startswith("@")]
    assert set(keys) == set(context_defaults())
    undocumented = [key for key in keys if f"\n| `{key}` |" not in guide]
    assert undocumented == []
    readme = (CDK_JSON.parent / "README.md").read_text()
    assert "[docs/deploy.md](docs/deploy.md) is the complete reference" in readme


def test_cdk_json_runs_the_app_with_the_project_venv_when_there_is_one() -> None:
    app_command = json.loads(CDK_JSON.read_text())["app"]
    assert ".venv/bin/python app.py" in app_command
    assert "python3 app.py" in app_command  # fallback: an activated or system interpreter


def test_strings_from_the_command_line_are_parsed() -> None:
    settings = settings_from(
        footage_retention_days="0",
        faces_only="true",
        retain_data="no",
        cors_origins="https://a.example.com, https://b.example.com:8443",
        dwell_s="7.5",
        api_auth="iam",
        log_level="debug",
        api_throttle_rate_limit="12.5",
    )
    assert settings.footage_retention_days == 0
    assert settings.faces_only is True
    assert settings.retain_data is False
    assert settings.cors_origins == ("https://a.example.com", "https://b.example.com:8443")
    assert settings.engine.dwell_s == 7.5
    assert settings.engine.track_gap_s == EngineSettings().track_gap_s
    assert settings.api_auth == "IAM"
    assert settings.log_level == "DEBUG"
    assert settings.api_throttle_rate_limit == 12.5


def test_json_null_means_default() -> None:
    assert settings_from(footage_retention_days=None).footage_retention_days == 7


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"footage_retention_days": -1}, "footage_retention_days=-1 must be at least 0"),
        ({"footage_retention_days": "seven"}, "footage_retention_days='seven' is not a whole number"),
        ({"results_retention_days": 0}, "results_retention_days=0 must be at least 1"),
        ({"log_retention_days": 10}, "log_retention_days=10 is not a CloudWatch Logs retention period"),
        ({"faces_only": "maybe"}, "faces_only='maybe' is not true or false"),
        ({"max_video_bytes": 11 * 1024**3}, "max_video_bytes=11811160064 must be between 1 and"),
        ({"upload_url_ttl_s": 86400}, "upload_url_ttl_s=86400 must be between 60 and 43200"),
        ({"cors_origins": "ftp://files.example.com"}, "cors_origins='ftp://files.example.com' has"),
        ({"cors_origins": "https://a.example.com/"}, "is not '*' or an origin"),
        ({"ingest_max_concurrency": 1}, "ingest_max_concurrency=1 must be between 2 and 1000"),
        ({"api_auth": "COGNITO"}, "api_auth='COGNITO' is not one of API_KEY, IAM"),
        ({"alarm_email": "ops-at-example"}, "alarm_email='ops-at-example' is not an e-mail address"),
        ({"metrics_namespace": "AWS/Lambda"}, "metrics_namespace='AWS/Lambda' must not start with AWS/"),
        ({"stuck_analyzing_minutes": 20000}, "stuck_analyzing_minutes=20000 must be between 1 and 10080"),
        ({"stack_name": "1st stack"}, "stack_name='1st stack' is not a CloudFormation stack name"),
        ({"log_level": "VERBOSE"}, "log_level='VERBOSE' is not one of DEBUG"),
        ({"powertools_layer_arn": "AWSLambdaPowertoolsPythonV3:27"}, "is not a Lambda layer version ARN"),
        ({"powertools_layer_version": 27}, "powertools_layer_version is not a DisplaySense setting"),
        # Engine thresholds: EngineSettings' own validation, under the same name as the context key.
        ({"track_gap_s": 0}, "track_gap_s must be positive"),
        ({"min_iou": 2}, "min_iou is a share between 0 and 1"),
        ({"dwell_s": "long"}, "dwell_s='long' is not a number"),
    ],
)
def test_invalid_values_name_the_context_key(context: dict[str, Any], expected: str) -> None:
    assert expected in error_for(**context)


def test_all_problems_are_reported_at_once() -> None:
    message = error_for(footage_retention_days=-1, api_auth="x", dwell_s="y")
    assert "footage_retention_days" in message
    assert "api_auth" in message
    assert "dwell_s" in message


def test_a_misspelt_key_is_an_error_with_a_suggestion() -> None:
    message = error_for(footage_retention_day=3)
    assert "footage_retention_day is not a DisplaySense setting; did you mean 'footage_retention_days'?" in (
        message
    )


def test_cdk_own_context_keys_are_ignored() -> None:
    settings_from(**{"@aws-cdk/core:target-partitions": ["aws"], "aws:cdk:enable-path-metadata": True})


def test_the_stuck_threshold_must_cover_a_watchdog_interval() -> None:
    message = error_for(stuck_analyzing_minutes=10, watchdog_interval_minutes=15)
    assert "stuck_analyzing_minutes=10 is shorter than watchdog_interval_minutes=15" in message


def test_service_settings_round_trip_through_the_lambda_environment() -> None:
    """What the stack puts into the environment is exactly what the Lambdas read back."""
    settings = settings_from(
        faces_only=True, footage_retention_days=0, cors_origins=["https://a.example.com"]
    )
    service = settings.service_settings(
        table_name="t",
        bucket_name="b",
        completion_topic_arn="arn:aws:sns:eu-west-1:123456789012:topic",
        rekognition_role_arn="arn:aws:iam::123456789012:role/r",
        completion_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )
    assert ServiceSettings.from_env(service.to_env()) == service
    assert service.engine == settings.engine
    assert service.faces_only is True
    assert service.footage_retention_days == 0


def test_the_app_refuses_invalid_context_before_building_anything() -> None:
    with pytest.raises(ContextError, match="results_retention_days"):
        build_app({"results_retention_days": -5})
