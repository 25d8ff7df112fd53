"""Rekognition job slots: at most `capacity` jobs of this stack run at once (max_concurrent_jobs).

Items `pk=SLOTS`, `sk=<n>`; a slot with a `holder` ("<video id>#<kind>") is taken until its
`lease_until` (epoch seconds). Taking one is a conditional write, so two racing ingest Lambdas
cannot both win, and a holder that asks again gets the slot it holds. A completion that never
arrives cannot leak a slot: its lease runs out. docs/architecture.md, "Job slots", says more.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.dynamodb import is_conditional_failure
from displaysense.domain.timeutil import iso_s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SLOTS_PK = "SLOTS"
# Longer than any stored-video job should take (Rekognition analyses at most 6 hours of footage, well
# faster than real time), short enough that a lost completion frees its slot the same day.
DEFAULT_LEASE_S = 12 * 3600


@dataclass(frozen=True)
class Slot:
    index: int
    holder: str | None
    lease_until: int

    def free_at(self, now: float) -> bool:
        return self.holder is None or self.lease_until < now


class JobSlots:
    def __init__(
        self,
        table: Table,
        *,
        capacity: int,
        lease_s: int = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._table = table
        self.capacity = capacity
        self.lease_s = lease_s
        self._clock = clock

    def slots(self) -> list[Slot]:
        """Every slot item, in index order (free slots that were never taken have no item)."""
        items: list[dict[str, Any]] = []
        start_key: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": SLOTS_PK},
                "ConsistentRead": True,
            }
            if start_key:
                request["ExclusiveStartKey"] = start_key
            answer = self._table.query(**request)
            items.extend(answer.get("Items", []))
            start_key = answer.get("LastEvaluatedKey")
            if not start_key:
                break
        slots = [
            Slot(
                index=int(item["sk"]),
                holder=str(item["holder"]) if item.get("holder") else None,
                lease_until=int(item.get("lease_until", 0)),
            )
            for item in items
        ]
        return sorted(slots, key=lambda s: s.index)

    def in_use(self) -> int:
        now = self._clock()
        return sum(1 for s in self.slots() if not s.free_at(now))

    def acquire(self, holder: str) -> int | None:
        """The index of the slot `holder` now holds, or None when all `capacity` slots are taken."""
        now = self._clock()
        known = {s.index: s for s in self.slots()}
        for held in known.values():
            # Already ours (a retried message): renew the lease rather than take a second slot.
            if held.holder == holder and self._take(held.index, holder, now, renew=True):
                return held.index
        # Start at a position derived from the holder so concurrent acquirers try different slots
        # first instead of all racing for slot 0.
        first = zlib.crc32(holder.encode()) % self.capacity
        for step in range(self.capacity):
            index = (first + step) % self.capacity
            slot = known.get(index)
            if slot is not None and not slot.free_at(now):
                continue
            if self._take(index, holder, now, renew=False):
                return index
        return None

    def _take(self, index: int, holder: str, now: float, *, renew: bool) -> bool:
        condition = (
            "#holder = :holder"
            if renew
            else "attribute_not_exists(pk) OR attribute_not_exists(#holder) OR #lease < :now"
        )
        values: dict[str, Any] = {
            ":holder": holder,
            ":lease": int(now) + self.lease_s,
            ":at": iso_s(int(now)),
        }
        if not renew:
            values[":now"] = int(now)
        try:
            self._table.update_item(
                Key={"pk": SLOTS_PK, "sk": str(index)},
                UpdateExpression="SET #holder = :holder, #lease = :lease, acquired_at = :at",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#holder": "holder", "#lease": "lease_until"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def release(self, holder: str) -> bool:
        """Frees the slot `holder` holds; False when it holds none (released before, or its lease
        ran out and another job took the slot: that one's hold stays)."""
        released = False
        for slot in self.slots():
            if slot.holder != holder:
                continue
            try:
                self._table.delete_item(
                    Key={"pk": SLOTS_PK, "sk": str(slot.index)},
                    ConditionExpression="#holder = :holder",
                    ExpressionAttributeNames={"#holder": "holder"},
                    ExpressionAttributeValues={":holder": holder},
                )
                released = True
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise
        return released
