"""Settings of the deployed functions, read from the environment and validated once at start-up.

The CDK stack writes the environment (`ServiceSettings.to_env`, plus a function's own variables);
local mode writes the same. This module is the only reader of the environment under `lambdas/`:
each function takes its own typed model (`IngestSettings`, `ResultsSettings`, `ApiSettings`,
`WatchdogSettings`, `ObservabilitySettings`) from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from displaysense.domain.settings import EngineSettings, SettingsError

GIB = 1024**3
# How API Gateway guards the data routes (CDK context `api_auth`). Only the API function is told
# (its dashboard page can send an API key but cannot sign requests, and says so).
ApiAuth = Literal["API_KEY", "IAM"]
API_AUTH_MODES: tuple[ApiAuth, ...] = ("API_KEY", "IAM")
API_AUTH_ENV = "DS_API_AUTH"
# Only the watchdog function is told how long ANALYZING may last before a video counts as stuck.
STUCK_THRESHOLD_ENV = "DS_STUCK_ANALYZING_MINUTES"
DEFAULT_STUCK_MINUTES = 180
# Powertools reads these itself on AWS; local mode and tests set neither.
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


@dataclass(frozen=True)
class ServiceSettings:
    """The environment every function of the stack gets."""

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
        env = _environ(environ)
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

    def ingest(self) -> IngestSettings:
        return IngestSettings(
            faces_only=self.faces_only,
            max_video_bytes=self.max_video_bytes,
            max_concurrent_jobs=self.max_concurrent_jobs,
            notifies=bool(self.completion_topic_arn and self.rekognition_role_arn),
        )

    def results(self) -> ResultsSettings:
        return ResultsSettings(
            engine=self.engine,
            footage_retention_days=self.footage_retention_days,
            can_continue=bool(self.completion_queue_url),
        )


@dataclass(frozen=True)
class IngestSettings:
    """What the ingest function decides with."""

    faces_only: bool
    max_video_bytes: int
    max_concurrent_jobs: int
    notifies: bool  # a completion topic and role are configured: finished jobs are announced


@dataclass(frozen=True)
class ResultsSettings:
    """What the results function decides with."""

    engine: EngineSettings
    footage_retention_days: int
    can_continue: bool  # a completion queue is configured: work that runs low on time continues


@dataclass(frozen=True)
class ApiSettings:
    service: ServiceSettings
    api_auth: ApiAuth = "API_KEY"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = _environ(environ)
        return cls(service=ServiceSettings.from_env(env), api_auth=api_auth_from_env(env))


@dataclass(frozen=True)
class WatchdogSettings:
    stuck_analyzing_minutes: int = DEFAULT_STUCK_MINUTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WatchdogSettings:
        env = _environ(environ)
        minutes = _positive_int(env, STUCK_THRESHOLD_ENV, DEFAULT_STUCK_MINUTES)
        return cls(stuck_analyzing_minutes=minutes)


@dataclass(frozen=True)
class ObservabilitySettings:
    """Service name (the metrics' `service` dimension) and metrics namespace of every function."""

    service_name: str = "displaysense"
    metrics_namespace: str = "DisplaySense"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ObservabilitySettings:
        env = _environ(environ)
        defaults = cls()
        return cls(
            service_name=env.get(SERVICE_NAME_ENV) or defaults.service_name,
            metrics_namespace=env.get(METRICS_NAMESPACE_ENV) or defaults.metrics_namespace,
        )


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
    env = _environ(environ)
    raw = env.get(API_AUTH_ENV, "").strip().upper() or API_AUTH_MODES[0]
    if raw not in API_AUTH_MODES:
        raise SettingsError(f"{API_AUTH_ENV}={raw!r}: use one of {', '.join(API_AUTH_MODES)}")
    return raw
