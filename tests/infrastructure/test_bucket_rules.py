"""The data bucket's CORS and lifecycle rules in the template are resources.py's, the definitions
local mode's bucket is given too (tests/unit/local_mode/test_emulator.py)."""

from __future__ import annotations

from typing import Any

from displaysense import resources

from infra.settings import DeploymentSettings

from .conftest import VARIANT_CONTEXT, Synthesized


def test_the_lifecycle_rules_are_resources_py(default_stack: Synthesized, variant_stack: Synthesized) -> None:
    defaults = DeploymentSettings()
    for stack, footage_days, results_days in (
        (default_stack, defaults.footage_retention_days, defaults.results_retention_days),
        (
            variant_stack,
            VARIANT_CONTEXT["footage_safety_net_days"],
            VARIANT_CONTEXT["results_retention_days"],
        ),
    ):
        rules = _data_bucket(stack)["LifecycleConfiguration"]["Rules"]
        expected = resources.data_bucket_lifecycle(footage_days=footage_days, results_days=results_days)
        assert rules == [_cloudformation(rule) for rule in expected]


def test_the_cors_rule_is_resources_py(variant_stack: Synthesized) -> None:
    rules = _data_bucket(variant_stack)["CorsConfiguration"]["CorsRules"]
    cors = resources.UPLOAD_CORS
    assert rules == [
        {
            "AllowedHeaders": list(cors.allowed_headers),
            "AllowedMethods": list(cors.allowed_methods),
            "AllowedOrigins": [VARIANT_CONTEXT["cors_origins"]],
            "ExposedHeaders": list(cors.exposed_headers),
            "MaxAge": cors.max_age_s,
        }
    ]


def _data_bucket(stack: Synthesized) -> dict[str, Any]:
    properties: dict[str, Any] = stack.one("AWS::S3::Bucket", "StorageDataBucket")["Properties"]
    return properties


def _cloudformation(rule: resources.LifecycleRule) -> dict[str, Any]:
    """A rule as AWS::S3::Bucket LifecycleConfiguration writes it."""
    out: dict[str, Any] = {"Id": rule.id, "Status": "Enabled"}
    if rule.prefix is not None:
        out["Prefix"] = rule.prefix
    if rule.expiration_days is not None:
        out["ExpirationInDays"] = rule.expiration_days
    if rule.noncurrent_version_expiration_days is not None:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule.noncurrent_version_expiration_days}
    if rule.abort_incomplete_multipart_upload_days is not None:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": rule.abort_incomplete_multipart_upload_days
        }
    if rule.expired_object_delete_marker:
        out["ExpiredObjectDeleteMarker"] = True
    return out
