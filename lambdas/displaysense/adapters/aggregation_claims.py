"""The aggregation claim of a video and its checkpoint, kept on the video's table item.

    agg_owner, agg_lease_until, agg_claimed_at   who aggregates the video, until when
    checkpoint                                   how far its result pages are archived

Taking the claim is a conditional update (nobody holds it, its lease ran out, or the taker holds it
already), so two results Lambdas never aggregate one video at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.dynamodb import is_conditional_failure
from displaysense.adapters.video_items import video_from_item, video_key
from displaysense.adapters.video_records import VideoRecords
from displaysense.domain.aggregation import Checkpoint, Claim, ClaimLostError
from displaysense.domain.metrics import Counters
from displaysense.domain.timeutil import iso_ms
from displaysense.domain.video import ACTIVE, Transition, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class AggregationClaims:
    def __init__(self, table: Table, videos: VideoRecords, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._videos = videos
        self._clock = clock

    def get(self, video_id: str) -> Claim | None:
        """The video with its claim and checkpoint, or None when it does not exist."""
        item = self._videos.get_item(video_id)
        return None if item is None else _claim_from_item(item)

    def claim(self, video_id: str, owner: str, lease_s: int) -> Claim | None:
        """Takes the right to aggregate a video that is still QUEUED or ANALYZING.

        Succeeds when nobody holds the claim, its lease ran out (the holder died), or `owner` holds
        it already. None means another invocation is aggregating, or the video is final.
        """
        now = int(self._clock())
        try:
            answer = self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression="SET #owner = :owner, #lease = :lease, #claimed = :now_iso",
                ConditionExpression=(
                    "attribute_exists(pk) AND #status IN (:queued, :analyzing) AND "
                    "(attribute_not_exists(#owner) OR #lease < :now OR #owner = :owner)"
                ),
                ExpressionAttributeNames={
                    "#owner": "agg_owner",
                    "#lease": "agg_lease_until",
                    "#claimed": "agg_claimed_at",
                    "#status": "status",
                },
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":lease": now + lease_s,
                    ":now": now,
                    ":now_iso": iso_ms(int(self._clock() * 1000)),
                    ":queued": VideoStatus.QUEUED.value,
                    ":analyzing": VideoStatus.ANALYZING.value,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return _claim_from_item(answer["Attributes"])

    def save_checkpoint(self, video_id: str, owner: str, checkpoint: Checkpoint, lease_s: int) -> None:
        """Saves progress and extends the lease; ClaimLostError when `owner` no longer holds it."""
        now = int(self._clock())
        try:
            self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression="SET #cp = :cp, #lease = :lease",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#cp": "checkpoint",
                    "#lease": "agg_lease_until",
                    "#owner": "agg_owner",
                },
                ExpressionAttributeValues={
                    ":cp": checkpoint.to_dict(),
                    ":lease": now + lease_s,
                    ":owner": owner,
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise ClaimLostError(video_id) from None
            raise

    def release(self, video_id: str, owner: str) -> bool:
        """Gives the claim up (a continuation or a retry may take it at once); False if not held."""
        try:
            self._table.update_item(
                Key=video_key(video_id),
                UpdateExpression="REMOVE #owner, #lease",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "agg_owner", "#lease": "agg_lease_until"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def complete(
        self,
        video_id: str,
        owner: str,
        *,
        summary: Counters,
        duration_ms: int | None,
        passes: int,
    ) -> Transition:
        """SUCCEEDED with the summary, only while `owner` holds the claim (ClaimLostError)."""
        extra: dict[str, Any] = {
            "summary": summary.to_dict(),
            "analyzed_at": iso_ms(int(self._clock() * 1000)),
            "passes": passes,
        }
        if duration_ms is not None:
            extra["duration_ms"] = duration_ms
        return self._videos.transition(
            video_id, VideoStatus.SUCCEEDED, allowed_from=ACTIVE, owner=owner, extra=extra
        )


def _claim_from_item(item: Mapping[str, Any]) -> Claim:
    return Claim(
        video=video_from_item(item),
        owner=str(item.get("agg_owner") or ""),
        lease_until=int(item.get("agg_lease_until", 0)),
        checkpoint=Checkpoint.from_dict(item.get("checkpoint")),
    )
