"""The camera registry: every store and camera that received an upload, with the range of its
recording times and how many of its videos are in each status.

    STORES / <store>#<camera>   first_recorded_at, last_recorded_at, n_<STATUS> counters

The counters change only inside the transaction that changes a video's status (`count_change`
gives that transaction its second item), so they stay exact however often a message is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.dynamodb import is_conditional_failure, opt_str, query_pages
from displaysense.adapters.video_items import STORES_PK, camera_sk
from displaysense.domain.video import VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class CameraEntry:
    store: str
    camera: str
    first_recorded_at: str | None  # None while the camera has only uploads with no known time
    last_recorded_at: str | None
    counts: dict[str, int]  # every VideoStatus value -> number of videos in it


class CameraRegistry:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.query_count = 0  # Query requests made (benchmarks and tests count them)

    def list_cameras(self) -> list[CameraEntry]:
        """Every store and camera that received an upload, sorted by store and camera."""
        cameras: list[CameraEntry] = []
        request = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": STORES_PK}}
        for answer in query_pages(self._table, request):
            self.query_count += 1
            cameras.extend(_camera_from_item(item) for item in answer.get("Items", []))
        return cameras

    def count_change(
        self, store: str, camera: str, from_status: VideoStatus | None, to: VideoStatus
    ) -> dict[str, Any]:
        """The transaction item that moves one video of the camera from one status count to
        another (from None: a new video)."""
        names = {"#store": "store", "#camera": "camera", "#to": f"n_{to.value}"}
        values: dict[str, Any] = {":store": store, ":camera": camera, ":one": 1}
        adds = ["#to :one"]
        if from_status is not None:
            names["#from"] = f"n_{from_status.value}"
            values[":minus"] = -1
            adds.append("#from :minus")
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": STORES_PK, "sk": camera_sk(store, camera)},
                "UpdateExpression": "SET #store = :store, #camera = :camera ADD " + ", ".join(adds),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def widen_bounds(self, store: str, camera: str, recorded_at: str) -> None:
        """Makes the camera's first/last recording time include `recorded_at`; idempotent."""
        key = {"pk": STORES_PK, "sk": camera_sk(store, camera)}
        for attribute, comparison in (("first_recorded_at", ">"), ("last_recorded_at", "<")):
            try:
                # The names too: this may create the camera's item, which `list_cameras` (the API)
                # can read before the registration's transaction adds the first count.
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET #a = :t, #store = :store, #camera = :camera",
                    ConditionExpression=f"attribute_not_exists(#a) OR #a {comparison} :t",
                    ExpressionAttributeNames={"#a": attribute, "#store": "store", "#camera": "camera"},
                    ExpressionAttributeValues={":t": recorded_at, ":store": store, ":camera": camera},
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise


def _camera_from_item(item: Mapping[str, Any]) -> CameraEntry:
    return CameraEntry(
        store=str(item["store"]),
        camera=str(item["camera"]),
        first_recorded_at=opt_str(item.get("first_recorded_at")),
        last_recorded_at=opt_str(item.get("last_recorded_at")),
        counts={s.value: int(item.get(f"n_{s.value}", 0)) for s in VideoStatus},
    )
