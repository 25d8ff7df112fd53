"""Storefront metrics (docs/metrics.md): per-pass records, additive counters and their summary.

Every stored figure is an integer sum (times in milliseconds) or a maximum, so counters of two
cameras, two hours or two videos merge exactly, in any order and grouping. Averages and shares
exist only in `summarize`, derived from the sums each time: no average is ever averaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from displaysense.domain.timeutil import iso_ms

GENDERS = ("female", "male", "unknown")
AGE_BUCKETS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
MOODS = ("HAPPY", "CALM", "SAD", "ANGRY", "SURPRISED", "CONFUSED", "DISGUSTED", "FEAR")
POSITIVE_MOODS = frozenset({"HAPPY"})
NEGATIVE_MOODS = frozenset({"ANGRY", "SAD", "DISGUSTED", "FEAR"})
ACCESSORIES = ("eyeglasses", "sunglasses", "beard", "mustache")
# Attributes a face may or may not carry; counted per pass so a consumer can tell
# "nobody wore glasses" from "glasses were not estimated" (local mode, FaceAttributes=DEFAULT).
ESTIMATED = ("gender", "age", "mood", *ACCESSORIES)

_AGE_UPPER_BOUNDS = ((18, "0-17"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))


def age_bucket(age: float) -> str:
    for upper, name in _AGE_UPPER_BOUNDS:
        if age < upper:
            return name
    return "65+"


@dataclass(frozen=True, slots=True)
class PassRecord:
    """One person's continuous presence in view: anonymous, nothing that identifies anyone."""

    start_ms: int  # from the start of the video
    end_ms: int
    attention_ms: int
    dweller: bool
    impression: bool
    source: str  # "person" (Person boxes, maybe with faces) or "face" (faces only)
    face_samples: int
    gender: str | None  # female | male | unknown; None when no face carried a gender
    age: float | None  # median of AgeRange midpoints
    mood: str | None
    accessories: tuple[tuple[str, bool], ...] = ()  # only the estimated ones

    @property
    def dwell_ms(self) -> int:
        return self.end_ms - self.start_ms

    def to_dict(self, recorded_at_s: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "dwell_s": self.dwell_ms / 1000,
            "attention_s": self.attention_ms / 1000,
            "dweller": self.dweller,
            "impression": self.impression,
            "source": self.source,
            "face_samples": self.face_samples,
            "gender": self.gender,
            "age": self.age,
            "age_bucket": age_bucket(self.age) if self.age is not None else None,
            "mood": self.mood,
            "accessories": dict(self.accessories),
        }
        if recorded_at_s is not None:
            out["start"] = iso_ms(recorded_at_s * 1000 + self.start_ms)
            out["end"] = iso_ms(recorded_at_s * 1000 + self.end_ms)
        return out


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


@dataclass(slots=True)
class Counters:
    """Additive counters of one bucket (a minute, an hour, a video, a store...)."""

    foot_traffic: int = 0
    dwellers: int = 0
    impressions: int = 0
    dwell_ms: int = 0
    attention_ms: int = 0
    faces: int = 0  # passes with at least one face sample
    # presence: person-milliseconds in view, and milliseconds of footage observed
    person_ms: int = 0
    observed_ms: int = 0
    occupancy_peak: int = 0  # merged by max, not sum
    gender: dict[str, int] = field(default_factory=lambda: _zeros(GENDERS))
    age: dict[str, int] = field(default_factory=lambda: _zeros(AGE_BUCKETS))
    mood: dict[str, int] = field(default_factory=lambda: _zeros(MOODS))
    accessories: dict[str, int] = field(default_factory=lambda: _zeros(ACCESSORIES))
    estimated: dict[str, int] = field(default_factory=lambda: _zeros(ESTIMATED))

    def add_pass(self, record: PassRecord) -> None:
        self.foot_traffic += 1
        self.dwellers += record.dweller
        self.impressions += record.impression
        self.dwell_ms += record.dwell_ms
        self.attention_ms += record.attention_ms
        if record.face_samples == 0:
            return
        self.faces += 1
        if record.gender is not None:
            self.estimated["gender"] += 1
        self.gender[record.gender or "unknown"] += 1
        if record.age is not None:
            self.estimated["age"] += 1
            self.age[age_bucket(record.age)] += 1
        else:
            self.age["unknown"] += 1
        if record.mood is not None:
            self.estimated["mood"] += 1
            self.mood[record.mood] += 1
        for name, present in record.accessories:
            self.estimated[name] += 1
            self.accessories[name] += present

    def merge(self, other: Counters) -> Counters:
        """A new Counters holding both: sums, and the larger peak."""
        return Counters(
            foot_traffic=self.foot_traffic + other.foot_traffic,
            dwellers=self.dwellers + other.dwellers,
            impressions=self.impressions + other.impressions,
            dwell_ms=self.dwell_ms + other.dwell_ms,
            attention_ms=self.attention_ms + other.attention_ms,
            faces=self.faces + other.faces,
            person_ms=self.person_ms + other.person_ms,
            observed_ms=self.observed_ms + other.observed_ms,
            occupancy_peak=max(self.occupancy_peak, other.occupancy_peak),
            gender=_add(self.gender, other.gender),
            age=_add(self.age, other.age),
            mood=_add(self.mood, other.mood),
            accessories=_add(self.accessories, other.accessories),
            estimated=_add(self.estimated, other.estimated),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form: integers only, read back by `from_dict`."""
        return {
            "foot_traffic": self.foot_traffic,
            "dwellers": self.dwellers,
            "impressions": self.impressions,
            "dwell_ms": self.dwell_ms,
            "attention_ms": self.attention_ms,
            "faces": self.faces,
            "person_ms": self.person_ms,
            "observed_ms": self.observed_ms,
            "occupancy_peak": self.occupancy_peak,
            "gender": dict(self.gender),
            "age": dict(self.age),
            "mood": dict(self.mood),
            "accessories": dict(self.accessories),
            "estimated": dict(self.estimated),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Counters:
        """Reads the stored form (also DynamoDB's Decimals); unknown keys are ignored."""
        c = cls()
        for name in (
            "foot_traffic", "dwellers", "impressions", "dwell_ms", "attention_ms",
            "faces", "person_ms", "observed_ms", "occupancy_peak",
        ):  # fmt: skip
            setattr(c, name, int(raw.get(name, 0)))
        for name, keys in (
            ("gender", GENDERS),
            ("age", AGE_BUCKETS),
            ("mood", MOODS),
            ("accessories", ACCESSORIES),
            ("estimated", ESTIMATED),
        ):
            stored = raw.get(name) or {}
            setattr(c, name, {k: int(stored.get(k, 0)) for k in keys})
        return c


def merge_all(parts: Iterable[Counters]) -> Counters:
    total = Counters()
    for part in parts:
        total = total.merge(part)
    return total


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    keys = [*a, *(k for k in b if k not in a)]
    return {k: a.get(k, 0) + b.get(k, 0) for k in keys}


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def summarize(c: Counters) -> dict[str, Any]:
    """The public summary: the keys the API and the command line show, derived from sums.

    Averages are per pass (`dwell_s_avg`, `attention_s_avg`); shares of accessories are of the
    passes whose faces carried that attribute; mood_index is (positive - negative) over the passes
    with an estimated mood. A ratio with nothing to divide by is null, never 0.
    """
    negative = sum(c.mood[m] for m in NEGATIVE_MOODS)
    positive = sum(c.mood[m] for m in POSITIVE_MOODS)
    return {
        "foot_traffic": c.foot_traffic,
        "passers_by": c.foot_traffic - c.dwellers,
        "dwellers": c.dwellers,
        "impressions": c.impressions,
        "engagement_rate": _ratio(c.impressions, c.foot_traffic),
        "dwell_s_total": round(c.dwell_ms / 1000, 3),
        "dwell_s_avg": _ratio(c.dwell_ms / 1000, c.foot_traffic, 3),
        "attention_s_total": round(c.attention_ms / 1000, 3),
        "attention_s_avg": _ratio(c.attention_ms / 1000, c.foot_traffic, 3),
        "occupancy_peak": c.occupancy_peak,
        "occupancy_mean": _ratio(c.person_ms, c.observed_ms, 3),
        "observed_s": round(c.observed_ms / 1000, 3),
        "faces": c.faces,
        "gender": dict(c.gender),
        "age": dict(c.age),
        "mood": dict(c.mood),
        "mood_index": _ratio(positive - negative, c.estimated["mood"]),
        "accessories": {name: _ratio(c.accessories[name], c.estimated[name]) for name in ACCESSORIES},
        "estimated": dict(c.estimated),
    }
