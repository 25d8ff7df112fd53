"""Deployment settings: every CDK context key of `cdk.json`, typed and validated once.

The stack reads nothing else from the context. Defaults of the service (`config.ServiceSettings`) and of
the metric thresholds (`domain.settings.EngineSettings`) come from those classes, so there is one place
where a default lives; `cdk.json` repeats them for devops to see and edit, and a test keeps the two
equal.

Values arrive typed from `cdk.json` and as strings from `cdk deploy -c key=value`; both are accepted.
Every problem names the context key, and all problems are reported at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, cast

from displaysense import resources
from displaysense.config import API_AUTH_MODES, GIB, ApiAuth, ServiceSettings
from displaysense.domain.settings import EngineSettings, SettingsError

_SERVICE_DEFAULTS: Final = ServiceSettings(table_name="", bucket_name="")
_ENGINE_DEFAULTS: Final = EngineSettings()

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Rekognition keeps job results 7 days: a video stuck longer than that can only be re-analysed, so a
# later alarm would be useless.
MAX_STUCK_MINUTES: Final = 7 * 24 * 60
# A presigned URL signed with the Lambda's temporary credentials dies with them, whatever its expiry.
MAX_UPLOAD_URL_TTL_S: Final = 12 * 3600
# Rekognition Video accepts at most 10 GB per file.
MAX_VIDEO_BYTES: Final = 10 * GIB

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")
_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")


class ContextError(ValueError):
    """One or more CDK context values are invalid; the message names every offending key."""


@dataclass(frozen=True)
class DeploymentSettings:
    # --- stack --------------------------------------------------------------------------------------
    # CloudFormation stack name; deploy a second copy (dev, staging) under another name.
    stack_name: str = "DisplaySense"
    # true: table and buckets survive `cdk destroy` (deletion protection, RETAIN). false: dev stacks
    # whose data may go with them.
    retain_data: bool = True
    # Run the cdk-nag AwsSolutions checks on every synth.
    cdk_nag: bool = True

    # --- storage and privacy (docs/security.md) ----------------------------------------------------------
    # Days raw footage under uploads/ is kept; 0 = the results Lambda deletes it after a successful
    # analysis (then footage_safety_net_days applies to footage that is never analysed).
    footage_retention_days: int = _SERVICE_DEFAULTS.footage_retention_days
    footage_safety_net_days: int = resources.FOOTAGE_SAFETY_NET_DAYS
    # Days raw Rekognition result pages under results/ are kept (to recompute metrics).
    results_retention_days: int = resources.RESULTS_RETENTION_DAYS
    # Days S3 server access logs of the data bucket are kept.
    access_log_retention_days: int = 90
    # Days CloudWatch log groups (Lambdas, API access log) are kept.
    log_retention_days: int = 30

    # --- service (config.ServiceSettings) ------------------------------------------------------------
    faces_only: bool = _SERVICE_DEFAULTS.faces_only
    max_video_bytes: int = _SERVICE_DEFAULTS.max_video_bytes
    max_concurrent_jobs: int = _SERVICE_DEFAULTS.max_concurrent_jobs
    upload_url_ttl_s: int = _SERVICE_DEFAULTS.upload_url_ttl_s
    # Browser origins allowed to call the API and to PUT presigned uploads into the bucket.
    cors_origins: tuple[str, ...] = _SERVICE_DEFAULTS.cors_origins
    log_level: str = "INFO"

    # --- Lambda ---------------------------------------------------------------------------------------
    # Empty: the official Powertools layer of the version requirements.txt pins, found through
    # Powertools' public SSM parameter at deploy time. An ARN: that layer instead, for regions and
    # partitions without the parameter (it must hold the same Powertools version, python3.13, arm64).
    powertools_layer_arn: str = ""
    # At most this many ingest / results Lambdas poll their queue at once (SQS event source
    # MaximumConcurrency; 2 is the lowest AWS allows).
    ingest_max_concurrency: int = 2
    results_max_concurrency: int = 5

    # --- monitoring -----------------------------------------------------------------------------------
    metrics_namespace: str = "DisplaySense"
    # A video in ANALYZING longer than this is "stuck" and raises the alarm.
    stuck_analyzing_minutes: int = 180
    watchdog_interval_minutes: int = 15
    # Alarm notifications go to this address (empty: alarms only go to the alarm topic).
    alarm_email: str = ""

    # --- API ------------------------------------------------------------------------------------------
    api_auth: ApiAuth = "API_KEY"
    api_throttle_rate_limit: float = 20.0
    api_throttle_burst_limit: int = 40

    # --- metric thresholds (domain.settings.EngineSettings, one context key per field) ---------------
    engine: EngineSettings = field(default_factory=EngineSettings)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> DeploymentSettings:
        """Settings from the CDK context (`node.get_all_context()`), defaults for absent keys."""
        reader = _Reader(context)
        own: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "engine":
                continue
            default = f.default
            parse = _PARSERS[f.name]
            value = reader.read(f.name, default, parse)
            if value is not _MISSING:
                own[f.name] = value

        engine_overrides: dict[str, float] = {}
        for f in fields(EngineSettings):
            value = reader.read(f.name, getattr(_ENGINE_DEFAULTS, f.name), _as_float)
            if value is not _MISSING:
                engine_overrides[f.name] = cast(float, value)
        engine = _ENGINE_DEFAULTS
        try:
            engine = dataclasses.replace(_ENGINE_DEFAULTS, **engine_overrides)
        except SettingsError as exc:
            # EngineSettings names the field, and each field is a context key of the same name.
            reader.errors.append(f"context: {exc}")

        reader.check_unknown(set(context_defaults()))
        settings = cls(**own, engine=engine) if not reader.errors else None
        if settings is not None:
            reader.errors.extend(settings._cross_checks())
        if reader.errors or settings is None:
            raise ContextError("invalid CDK context:\n  " + "\n  ".join(reader.errors))
        return settings

    def _cross_checks(self) -> list[str]:
        errors = []
        if self.stuck_analyzing_minutes < self.watchdog_interval_minutes:
            errors.append(
                f"context stuck_analyzing_minutes={self.stuck_analyzing_minutes} is shorter than "
                f"watchdog_interval_minutes={self.watchdog_interval_minutes}: the watchdog could not see it"
            )
        return errors

    def service_settings(
        self,
        *,
        table_name: str,
        bucket_name: str,
        completion_topic_arn: str,
        rekognition_role_arn: str,
        completion_queue_url: str,
    ) -> ServiceSettings:
        """What the Lambdas read at cold start; resource names are CloudFormation tokens here."""
        return ServiceSettings(
            table_name=table_name,
            bucket_name=bucket_name,
            completion_topic_arn=completion_topic_arn,
            rekognition_role_arn=rekognition_role_arn,
            completion_queue_url=completion_queue_url,
            faces_only=self.faces_only,
            max_video_bytes=self.max_video_bytes,
            footage_retention_days=self.footage_retention_days,
            max_concurrent_jobs=self.max_concurrent_jobs,
            upload_url_ttl_s=self.upload_url_ttl_s,
            cors_origins=self.cors_origins,
            engine=self.engine,
        )


def context_defaults() -> dict[str, Any]:
    """Every context key with its default, as JSON values (what `cdk.json` holds)."""
    defaults = DeploymentSettings()
    out: dict[str, Any] = {}
    for f in fields(DeploymentSettings):
        if f.name == "engine":
            continue
        value = getattr(defaults, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    for f in fields(EngineSettings):
        out[f.name] = getattr(defaults.engine, f.name)
    return out


# --- parsing ------------------------------------------------------------------------------------------

_MISSING: Final = object()


class _Invalid(ValueError):
    """A value does not fit; the message completes "context <key>=<value> ..."."""


class _Reader:
    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.errors: list[str] = []

    def read(self, key: str, default: object, parse: Callable[[object], object]) -> object:
        raw = self.context.get(key)
        if raw is None:
            return _MISSING
        try:
            value = parse(raw)
            _VALIDATORS.get(key, _accept)(value)
        except _Invalid as exc:
            self.errors.append(f"context {key}={raw!r} {exc} (default: {default!r})")
            return _MISSING
        return value

    def check_unknown(self, known: set[str]) -> None:
        # CDK's own keys carry a prefix ("@aws-cdk/...", "aws:cdk:...", lookups with ":"); a plain key
        # we do not know is a typo that would otherwise be silently ignored.
        for key in self.context:
            if key.startswith("@") or ":" in key or key in known:
                continue
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            self.errors.append(f"context {key} is not a DisplaySense setting{suggestion}")


def _as_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise _Invalid("is not true or false")


def _as_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise _Invalid("is not a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    raise _Invalid("is not a whole number")


def _as_float(raw: object) -> float:
    if isinstance(raw, bool):
        raise _Invalid("is not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise _Invalid("is not a number")


def _as_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise _Invalid("is not a string")


def _as_str_tuple(raw: object) -> tuple[str, ...]:
    # A list in cdk.json, or a comma-separated string from `-c cors_origins=https://a,https://b`.
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return tuple(item.strip() for item in raw if item.strip())
    raise _Invalid("is not a list of strings")


def _as_api_auth(raw: object) -> ApiAuth:
    value = _as_str(raw).upper()
    for mode in API_AUTH_MODES:
        if value == mode:
            return mode
    raise _Invalid(f"is not one of {', '.join(API_AUTH_MODES)}")


def _as_log_level(raw: object) -> str:
    value = _as_str(raw).upper()
    if value not in LOG_LEVELS:
        raise _Invalid(f"is not one of {', '.join(LOG_LEVELS)}")
    return value


_PARSERS: Final[dict[str, Callable[[object], object]]] = {
    "stack_name": _as_str,
    "retain_data": _as_bool,
    "cdk_nag": _as_bool,
    "footage_retention_days": _as_int,
    "footage_safety_net_days": _as_int,
    "results_retention_days": _as_int,
    "access_log_retention_days": _as_int,
    "log_retention_days": _as_int,
    "faces_only": _as_bool,
    "max_video_bytes": _as_int,
    "max_concurrent_jobs": _as_int,
    "upload_url_ttl_s": _as_int,
    "cors_origins": _as_str_tuple,
    "log_level": _as_log_level,
    "powertools_layer_arn": _as_str,
    "ingest_max_concurrency": _as_int,
    "results_max_concurrency": _as_int,
    "metrics_namespace": _as_str,
    "stuck_analyzing_minutes": _as_int,
    "watchdog_interval_minutes": _as_int,
    "alarm_email": _as_str,
    "api_auth": _as_api_auth,
    "api_throttle_rate_limit": _as_float,
    "api_throttle_burst_limit": _as_int,
}


# --- validation ---------------------------------------------------------------------------------------


def _accept(_: object) -> None:
    return None


def _in_range(low: float, high: float | None = None, why: str = "") -> Callable[[object], None]:
    def check(value: object) -> None:
        number = cast(float, value)
        if number < low or (high is not None and number > high):
            bounds = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
            raise _Invalid(f"must be {bounds}{': ' + why if why else ''}")

    return check


def _matches(pattern: re.Pattern[str], what: str, *, allow_empty: bool = False) -> Callable[[object], None]:
    def check(value: object) -> None:
        text = cast(str, value)
        if allow_empty and text == "":
            return
        if not pattern.fullmatch(text):
            raise _Invalid(f"is not {what}")

    return check


def _check_log_retention(value: object) -> None:
    if value not in LOG_RETENTION_DAYS:
        raise _Invalid(
            f"is not a CloudWatch Logs retention period ({', '.join(map(str, LOG_RETENTION_DAYS))})"
        )


def _check_namespace(value: object) -> None:
    _matches(_NAMESPACE, "a CloudWatch namespace (letters, digits, . - _ / # :)")(value)
    if cast(str, value).startswith("AWS/"):
        raise _Invalid("must not start with AWS/ (reserved for AWS services)")


def _check_origins(value: object) -> None:
    for origin in cast(tuple[str, ...], value):
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise _Invalid(
                f"has {origin!r}, which is not '*' or an origin like https://dashboard.example.com"
            )


_VALIDATORS: Final[dict[str, Callable[[object], None]]] = {
    "stack_name": _matches(_STACK_NAME, "a CloudFormation stack name (letter, then letters, digits, -)"),
    "footage_retention_days": _in_range(0),
    "footage_safety_net_days": _in_range(1),
    "results_retention_days": _in_range(1),
    "access_log_retention_days": _in_range(1),
    "log_retention_days": _check_log_retention,
    "max_video_bytes": _in_range(1, MAX_VIDEO_BYTES, "Rekognition Video accepts at most 10 GB"),
    "max_concurrent_jobs": _in_range(1),
    "upload_url_ttl_s": _in_range(
        60, MAX_UPLOAD_URL_TTL_S, "the URL is signed with the Lambda's temporary credentials"
    ),
    "cors_origins": _check_origins,
    "powertools_layer_arn": _matches(
        _LAYER_ARN,
        "a Lambda layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<n>)",
        allow_empty=True,
    ),
    "ingest_max_concurrency": _in_range(2, 1000, "the SQS event source allows 2 to 1000"),
    "results_max_concurrency": _in_range(2, 1000, "the SQS event source allows 2 to 1000"),
    "metrics_namespace": _check_namespace,
    "stuck_analyzing_minutes": _in_range(1, MAX_STUCK_MINUTES, "Rekognition keeps results 7 days"),
    "watchdog_interval_minutes": _in_range(1, 24 * 60),
    "alarm_email": _matches(_EMAIL, "an e-mail address", allow_empty=True),
    "api_throttle_rate_limit": _in_range(0.001),
    "api_throttle_burst_limit": _in_range(1),
}
