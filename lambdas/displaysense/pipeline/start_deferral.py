"""When a start must wait: how long, and how its ingest message waits.

Waiting for one of DisplaySense's own job slots is no failure: the event is queued again as a new
message delayed by about SLOT_WAIT_S (a slot frees as soon as a job ends, so a doubling backoff
would leave videos sleeping long after slots are free). When Rekognition refused the start (quota,
throttling, or a refusal a deployment must fix), the message itself comes back later, with a
backoff that grows with its receive count, and the failure counts towards the dead-letter queue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from displaysense.observability import count, logger
from displaysense.pipeline.job_starts import StartDeferredError

# Backoff of a start that has to wait: doubling from the first retry, capped. With the ingest
# queue's 50 receives (resources.INGEST_QUEUE) a message waits about a day for the quota before it
# reaches the dead-letter queue and an alarm.
QUOTA_BACKOFF_BASE_S = 60
THROTTLE_BACKOFF_BASE_S = 10
MAX_BACKOFF_S = 1800
# A start waiting for one of DisplaySense's own job slots looks again after about this long.
SLOT_WAIT_S = 20


class WaitingMessage(Protocol):
    """The ingest message whose starts wait."""

    @property
    def receive_count(self) -> int: ...

    def send_again(self, delay_s: int) -> bool:
        """The same event as a new message visible after `delay_s`; False when that failed."""
        ...

    def delay(self, delay_s: int) -> None:
        """This message becomes visible again after `delay_s`."""
        ...


def backoff_s(receive_count: int, *, quota: bool) -> int:
    """Visibility timeout for the next attempt: base * 2^(n-1), capped, with ±20 % jitter so
    messages refused together do not all return at the same moment."""
    base = QUOTA_BACKOFF_BASE_S if quota else THROTTLE_BACKOFF_BASE_S
    delay = min(MAX_BACKOFF_S, base * 2 ** (max(1, min(receive_count, 16)) - 1))
    return int(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def defer(message: WaitingMessage, waiting: Sequence[StartDeferredError]) -> None:
    """Makes the message wait for its deferred starts. Returns when the event was queued again as a
    new message (this one is done); raises the first deferral when this message must come back."""
    if not waiting:
        return
    count("StartsDeferred", len(waiting))
    if all(e.slots_full for e in waiting):
        delay = int(SLOT_WAIT_S * random.uniform(0.75, 1.25))  # noqa: S311 - jitter, not security
        if message.send_again(delay):
            logger.info("waiting for a job slot", extra={"reason": str(waiting[0]), "retry_in_s": delay})
            return
    delay = backoff_s(message.receive_count, quota=any(e.quota for e in waiting))
    message.delay(delay)
    logger.info(
        "start deferred",
        extra={"reason": str(waiting[0]), "retry_in_s": delay, "receive_count": message.receive_count},
    )
    raise waiting[0]
