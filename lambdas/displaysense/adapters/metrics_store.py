"""Counters and per-pass records of analysed videos in the single table.

    METRICS#<store>#<camera>#<grain> / <bucket start ISO>#<video id>   one video's counters in one
                                                                       bucket (grain 1m, 15m, 1h,
                                                                       1h+15m, 1h+30m)
    PASSES#<video id> / <index, 6 digits>                              one anonymous pass

Every item is keyed by the video, and written with a plain PutItem: a retry writes the same items
with the same values, so nothing is ever counted twice. Readers merge the videos of a bucket
(`Counters.merge`), which is exact because every counter is a sum or a maximum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from displaysense.adapters.dynamodb import from_dynamo, to_dynamo
from displaysense.domain.engine import VideoMetrics
from displaysense.domain.metrics import Counters, PassRecord
from displaysense.domain.rollup import STORED_GRAINS, grain_phase, roll_up
from displaysense.domain.timeutil import iso_s, parse_iso
from displaysense.domain.video import Video

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def metrics_pk(store: str, camera: str, grain: str) -> str:
    return f"METRICS#{store}#{camera}#{grain}"


def passes_pk(video_id: str) -> str:
    return f"PASSES#{video_id}"


def pass_sk(index: int) -> str:
    return f"{index:06d}"


@dataclass(frozen=True)
class WriteStats:
    buckets: dict[str, int]  # grain -> bucket items written
    passes: int
    stale_passes_deleted: int


class MetricsStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.query_count = 0  # Query requests made (each page counts): benchmarks read this

    def write_video(self, video: Video, metrics: VideoMetrics, passes: list[PassRecord]) -> WriteStats:
        """Writes a video's buckets at every stored grain and its pass records; idempotent.

        Pass items beyond `len(passes)` (left by an earlier run with more passes, e.g. under other
        thresholds) are deleted, so the stored passes are exactly this run's.
        """
        recorded_at_s = int(parse_iso(video.recorded_at).timestamp())
        written: dict[str, int] = {}
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for grain, grain_s in STORED_GRAINS.items():
                buckets = roll_up(metrics.series, grain_s, grain_phase(grain))
                pk = metrics_pk(video.store, video.camera, grain)
                for start_s, counters in sorted(buckets.items()):
                    batch.put_item(
                        Item={
                            "pk": pk,
                            "sk": f"{iso_s(start_s)}#{video.video_id}",
                            "video_id": video.video_id,
                            "store": video.store,
                            "camera": video.camera,
                            "grain": grain,
                            "bucket_start": iso_s(start_s),
                            "counters": counters.to_dict(),
                        }
                    )
                written[grain] = len(buckets)
            for index, record in enumerate(passes):
                batch.put_item(
                    Item={
                        "pk": passes_pk(video.video_id),
                        "sk": pass_sk(index),
                        "video_id": video.video_id,
                        "index": index,
                        "record": to_dynamo(record.to_dict(recorded_at_s)),
                    }
                )
        stale = self._stale_pass_keys(video.video_id, len(passes))
        if stale:
            with self._table.batch_writer() as batch:
                for key in stale:
                    batch.delete_item(Key=key)
        return WriteStats(buckets=written, passes=len(passes), stale_passes_deleted=len(stale))

    def _stale_pass_keys(self, video_id: str, count: int) -> list[dict[str, Any]]:
        names = {"#pk": "pk", "#sk": "sk"}
        condition = "#pk = :pk"
        values: dict[str, Any] = {":pk": passes_pk(video_id)}
        if count > 0:
            condition += " AND #sk > :last"
            values[":last"] = pass_sk(count - 1)
        return [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self._query_all(
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ProjectionExpression="#pk, #sk",
            )
        ]

    def read_buckets(
        self, *, store: str, camera: str, grain: str, start_s: int, end_s: int
    ) -> dict[int, Counters]:
        """Counters of one camera per bucket start (epoch seconds), every video merged, for the
        buckets that start in [start_s, end_s). One Query (followed over its pages)."""
        if grain not in STORED_GRAINS:
            raise ValueError(f"grain {grain!r} is not stored; use one of {', '.join(STORED_GRAINS)}")
        if end_s <= start_s:
            return {}
        merged: dict[int, Counters] = {}
        # "<start ISO>#<video>" sorts after "<start ISO>" and before "<end ISO>": keys of buckets
        # that start at end_s are "<end ISO>#..." and sort after the upper bound, so it is exclusive.
        for item in self._query_all(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": metrics_pk(store, camera, grain),
                ":lo": iso_s(start_s),
                ":hi": iso_s(end_s),
            },
            ProjectionExpression="bucket_start, counters",
        ):
            start = int(parse_iso(str(item["bucket_start"])).timestamp())
            counters = Counters.from_dict(item.get("counters") or {})
            found = merged.get(start)
            merged[start] = counters if found is None else found.merge(counters)
        return dict(sorted(merged.items()))

    def read_passes(self, video_id: str) -> list[dict[str, Any]]:
        """The pass records of a video in index order, as `PassRecord.to_dict` wrote them."""
        return [
            from_dynamo(item["record"])
            for item in self._query_all(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": passes_pk(video_id)},
            )
        ]

    def _query_all(self, **request: Any) -> Iterable[Mapping[str, Any]]:
        while True:
            answer = self._table.query(**request)
            self.query_count += 1
            yield from answer.get("Items", [])
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last
