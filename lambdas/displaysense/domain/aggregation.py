"""One video's aggregation: who may run it (the claim) and how far it got (the checkpoint).

The results Lambda pages Rekognition's results into the archive and then runs the engine. Only the
holder of a video's claim does so; its checkpoint lets a fresh invocation continue where one that
ran low on time stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from displaysense.domain.video import JobKind, Video


class ClaimLostError(RuntimeError):
    """Another invocation holds the aggregation claim now (this one's lease ran out)."""


@dataclass
class StreamCheckpoint:
    """How far the results of one job are archived."""

    pages: int = 0  # pages archived: 0 .. pages - 1
    next_token: str | None = None  # NextToken for page `pages`; None with done=False: first page
    done: bool = False
    restarts: int = 0  # paging restarted from the first page (InvalidPaginationTokenException)

    def restart(self) -> None:
        self.pages = 0
        self.next_token = None
        self.done = False
        self.restarts += 1

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"pages": self.pages, "done": self.done, "restarts": self.restarts}
        if self.next_token is not None:
            item["next_token"] = self.next_token
        return item

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StreamCheckpoint:
        token = raw.get("next_token")
        return cls(
            pages=int(raw.get("pages", 0)),
            next_token=str(token) if token is not None else None,
            done=bool(raw.get("done", False)),
            restarts=int(raw.get("restarts", 0)),
        )


@dataclass
class Checkpoint:
    """Progress of one video's aggregation, saved under the claim so a fresh invocation resumes."""

    streams: dict[JobKind, StreamCheckpoint] = field(default_factory=dict)
    continuations: int = 0  # fresh invocations started because time ran low

    def stream(self, kind: JobKind) -> StreamCheckpoint:
        return self.streams.setdefault(kind, StreamCheckpoint())

    def pages(self, kinds: Iterable[JobKind]) -> int:
        """Pages archived so far for these jobs."""
        return sum(self.stream(kind).pages for kind in kinds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": {kind.value: s.to_dict() for kind, s in self.streams.items()},
            "continuations": self.continuations,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Checkpoint:
        if not raw:
            return cls()
        streams = {JobKind(k): StreamCheckpoint.from_dict(v) for k, v in (raw.get("streams") or {}).items()}
        return cls(streams=streams, continuations=int(raw.get("continuations", 0)))


@dataclass
class Claim:
    """The aggregation claim of one video, held by `owner` until `lease_until` (epoch seconds)."""

    video: Video
    owner: str
    lease_until: int
    checkpoint: Checkpoint
