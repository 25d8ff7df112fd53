"""One invocation's turn at aggregating a video: the claim it holds, the checkpoint it advances,
and the two ways its turn ends early (handing the work to a fresh invocation, or failing the
video with a reason)."""

from __future__ import annotations

from dataclasses import dataclass

from displaysense.domain.aggregation import Checkpoint
from displaysense.domain.video import ACTIVE, Video, VideoStatus
from displaysense.observability import count, logger
from displaysense.pipeline.ports import ResultsPorts, TimeBudget
from displaysense.resources import RESULTS_FUNCTION

# The claim outlives the invocation that took it by a minute: a holder that died (timeout, crash)
# blocks nobody for long, and its own message returns only after the queue's visibility timeout
# (6 x the function timeout), when the lease is long gone.
CLAIM_LEASE_S = RESULTS_FUNCTION.timeout_s + 60


@dataclass
class AggregationRun:
    video: Video
    owner: str
    checkpoint: Checkpoint
    ports: ResultsPorts
    budget: TimeBudget

    @property
    def video_id(self) -> str:
        return self.video.video_id

    def save(self) -> None:
        """Saves the checkpoint and extends the lease (ClaimLostError when the claim is gone)."""
        self.ports.claims.save_checkpoint(self.video_id, self.owner, self.checkpoint, CLAIM_LEASE_S)

    def hand_off(self, at: str, delay_s: int = 0) -> bool:
        """Save, give up the claim, and continue in a fresh invocation through the completion queue
        (after `delay_s`, for a throttled Get*).

        False (and the work goes on here) when no completion queue is configured: better to try to
        finish in this invocation than to stop a video for good.
        """
        continuations = self.ports.continuations
        if continuations is None:
            logger.warning(
                "time low but DS_COMPLETION_QUEUE_URL is not set: going on", extra={"video_id": self.video_id}
            )
            return False
        self.checkpoint.continuations += 1
        self.save()
        # Release first, then send: if sending fails, this message fails and its retry claims again;
        # the other order could leave a continuation waiting on a claim nobody releases.
        self.ports.claims.release(self.video_id, self.owner)
        continuations.send(self.video_id, delay_s)
        count("AggregationContinuations")
        logger.info(
            "time low: continuing in a fresh invocation",
            extra={
                "video_id": self.video_id,
                "at": at,
                "continuations": self.checkpoint.continuations,
                "delay_s": delay_s,
            },
        )
        return True

    def fail(self, reason: str) -> None:
        result = self.ports.videos.transition(
            self.video_id, VideoStatus.FAILED, allowed_from=ACTIVE, reason=reason, owner=self.owner
        )
        if result.changed:
            count("VideosFailed")
        logger.warning("video failed", extra={"video_id": self.video_id})
