"""Watchdog Lambda (scheduled): how many videos have been ANALYZING for too long.

A video stays ANALYZING when a completion message was lost or the results Lambda keeps failing. On
every run this publishes the metric the stuck-video alarm watches (infra/constructs/
monitoring_construct.py), 0 included:

    namespace POWERTOOLS_METRICS_NAMESPACE, name StuckAnalyzingVideos, unit Count,
    dimension service=displaysense

It reads only: the stores from the camera registry (pk=STORES), then per store one Query of the
by_store_status index (<store>#ANALYZING) filtered on the time the status was entered. No Scan.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from displaysense.domain.settings import SettingsError
from displaysense.domain.timeutil import iso_ms
from displaysense.domain.video import VideoStatus
from displaysense.handlers import wiring

logger = Logger(service=wiring.SERVICE_NAME)
tracer = Tracer(service=wiring.SERVICE_NAME)
metrics = Metrics(service=wiring.SERVICE_NAME, namespace=wiring.METRICS_NAMESPACE)

STUCK_METRIC = "StuckAnalyzingVideos"
THRESHOLD_ENV = "DS_STUCK_ANALYZING_MINUTES"
DEFAULT_THRESHOLD_MINUTES = 180
MAX_LOGGED_IDS = 50


def threshold_minutes() -> int:
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD_MINUTES
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{THRESHOLD_ENV}={raw!r} is not a whole number of minutes") from None
    if value <= 0:
        raise SettingsError(f"{THRESHOLD_ENV}={value} must be positive")
    return value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = wiring.services()
    minutes = threshold_minutes()
    before = iso_ms(int((services.clock() - minutes * 60) * 1000))
    stores = sorted({camera.store for camera in services.registry.list_cameras()})
    stuck: list[str] = []
    for store in stores:
        stuck.extend(services.registry.videos_in_status_since(store, VideoStatus.ANALYZING, before))
    metrics.add_metric(name=STUCK_METRIC, unit=MetricUnit.Count, value=len(stuck))
    if stuck:
        logger.warning(
            "videos stuck in ANALYZING",
            extra={"count": len(stuck), "threshold_minutes": minutes, "video_ids": stuck[:MAX_LOGGED_IDS]},
        )
    else:
        logger.info("no stuck videos", extra={"stores": len(stores), "threshold_minutes": minutes})
    return {"stuck": len(stuck), "stores": len(stores), "threshold_minutes": minutes}
