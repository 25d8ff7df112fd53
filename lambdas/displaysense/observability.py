"""Logs, traces and CloudWatch metrics of every function: one service name, one namespace.

Business metrics (foot traffic, impressions, ...) are `domain.metrics`; what is published here is
about the service itself (videos queued, jobs started, messages handed back) and feeds the alarms.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from displaysense.config import ObservabilitySettings

SETTINGS = ObservabilitySettings.from_env()

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)
telemetry = Metrics(service=SETTINGS.service_name, namespace=SETTINGS.metrics_namespace)

# Count metric published for each start or Get* Rekognition refused; an alarm watches it.
REFUSALS_METRIC = "RekognitionRefusals"
# Published by the watchdog on every run, 0 included; the stuck-video alarm watches it.
STUCK_METRIC = "StuckAnalyzingVideos"


def count(name: str, value: int = 1) -> None:
    """Adds `value` to the count metric `name` of this invocation."""
    telemetry.add_metric(name=name, unit=MetricUnit.Count, value=value)
