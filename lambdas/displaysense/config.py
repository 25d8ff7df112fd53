"""Settings of the deployed service, read and validated once when a Lambda starts.

The CDK stack sets these environment variables from `cdk.json` context; local mode sets the same
ones. Thresholds of the metric definitions are `EngineSettings` (domain/settings.py), read from the
same environment with the same `DS_` prefix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from displaysense.domain.settings import EngineSettings, SettingsError

GIB = 1024**3
# How API Gateway guards the data routes (CDK context `api_auth`). Only the API Lambda is told
# (`DS_API_AUTH`, set by infra/constructs/api_construct.py): its dashboard page can send an API
# key but cannot sign requests, and says so rather than asking for a key in vain.
ApiAuth = Literal["API_KEY", "IAM"]
API_AUTH_MODES: tuple[ApiAuth, ...] = ("API_KEY", "IAM")
API_AUTH_ENV = "DS_API_AUTH"


@dataclass(frozen=True)
class ServiceSettings:
    table_name: str
    bucket_name: str
    # Where Rekognition announces finished jobs, and the role it assumes to do so (ingest).
    completion_topic_arn: str = ""
    rekognition_role_arn: str = ""
    # Results aggregation that runs low on time continues through this queue.
    completion_queue_url: str = ""
    # Skip label detection: half the Rekognition bill, passes come from faces alone.
    faces_only: bool = False
    max_video_bytes: int = 10 * GIB
    # 0 deletes the footage right after a successful analysis.
    footage_retention_days: int = 7
    max_concurrent_jobs: int = 20
    upload_url_ttl_s: int = 900
    cors_origins: tuple[str, ...] = ()
    engine: EngineSettings = field(default_factory=EngineSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        missing = [name for name in ("DS_TABLE_NAME", "DS_BUCKET_NAME") if not env.get(name)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        defaults = cls(table_name="", bucket_name="")
        return cls(
            table_name=env["DS_TABLE_NAME"],
            bucket_name=env["DS_BUCKET_NAME"],
            completion_topic_arn=env.get("DS_COMPLETION_TOPIC_ARN", ""),
            rekognition_role_arn=env.get("DS_REKOGNITION_ROLE_ARN", ""),
            completion_queue_url=env.get("DS_COMPLETION_QUEUE_URL", ""),
            faces_only=_flag(env, "DS_FACES_ONLY", defaults.faces_only),
            max_video_bytes=_positive_int(env, "DS_MAX_VIDEO_BYTES", defaults.max_video_bytes),
            footage_retention_days=_positive_int(
                env, "DS_FOOTAGE_RETENTION_DAYS", defaults.footage_retention_days, allow_zero=True
            ),
            max_concurrent_jobs=_positive_int(env, "DS_MAX_CONCURRENT_JOBS", defaults.max_concurrent_jobs),
            upload_url_ttl_s=_positive_int(env, "DS_UPLOAD_URL_TTL_S", defaults.upload_url_ttl_s),
            cors_origins=tuple(o.strip() for o in env.get("DS_CORS_ORIGINS", "").split(",") if o.strip()),
            engine=EngineSettings.from_env(env),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that `from_env` reads back into these settings."""
        env = {
            "DS_TABLE_NAME": self.table_name,
            "DS_BUCKET_NAME": self.bucket_name,
            "DS_COMPLETION_TOPIC_ARN": self.completion_topic_arn,
            "DS_REKOGNITION_ROLE_ARN": self.rekognition_role_arn,
            "DS_COMPLETION_QUEUE_URL": self.completion_queue_url,
            "DS_FACES_ONLY": "true" if self.faces_only else "false",
            "DS_MAX_VIDEO_BYTES": str(self.max_video_bytes),
            "DS_FOOTAGE_RETENTION_DAYS": str(self.footage_retention_days),
            "DS_MAX_CONCURRENT_JOBS": str(self.max_concurrent_jobs),
            "DS_UPLOAD_URL_TTL_S": str(self.upload_url_ttl_s),
            "DS_CORS_ORIGINS": ",".join(self.cors_origins),
        }
        env.update(self.engine.to_env())
        return env


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: use true or false")


def _positive_int(env: Mapping[str, str], name: str, default: int, *, allow_zero: bool = False) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingsError(f"{name}={value} must be {'0 or more' if allow_zero else 'positive'}")
    return value


def api_auth_from_env(environ: Mapping[str, str] | None = None) -> ApiAuth:
    """`DS_API_AUTH`: API_KEY (the default) or IAM."""
    env = os.environ if environ is None else environ
    raw = env.get(API_AUTH_ENV, "").strip().upper() or API_AUTH_MODES[0]
    if raw not in API_AUTH_MODES:
        raise SettingsError(f"{API_AUTH_ENV}={raw!r}: use one of {', '.join(API_AUTH_MODES)}")
    return raw
