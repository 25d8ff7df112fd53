"""Watchdog Lambda (scheduled): how many videos have been ANALYZING for too long.

A video stays ANALYZING when a completion message was lost or the results Lambda keeps failing.
Every run publishes the metric the stuck-video alarm watches (`observability.STUCK_METRIC`, 0
included), from one Query of the camera registry and one Query per store of the by_store_status
index (`pipeline.stuck_videos`). No Scan.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from displaysense.config import WatchdogSettings
from displaysense.handlers import wiring
from displaysense.observability import STUCK_METRIC, count, logger, telemetry, tracer
from displaysense.pipeline.stuck_videos import stuck_videos

MAX_LOGGED_IDS = 50


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@telemetry.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = wiring.services()
    minutes = WatchdogSettings.from_env().stuck_analyzing_minutes
    stuck, stores = stuck_videos(services.cameras, services.listing, now_s=services.clock(), minutes=minutes)
    count(STUCK_METRIC, len(stuck))
    if stuck:
        logger.warning(
            "videos stuck in ANALYZING",
            extra={"count": len(stuck), "threshold_minutes": minutes, "video_ids": stuck[:MAX_LOGGED_IDS]},
        )
    else:
        logger.info("no stuck videos", extra={"stores": stores, "threshold_minutes": minutes})
    return {"stuck": len(stuck), "stores": stores, "threshold_minutes": minutes}
