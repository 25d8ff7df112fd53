"""What the face samples of one pass say about it (PRODUCT.md §3), accumulated in constant memory.

Demographics are per pass, never per frame: a pass seen in 40 frames counts once.
"""

from __future__ import annotations

from collections import Counter

from displaysense.domain.detections import FaceSample
from displaysense.domain.metrics import ACCESSORIES, MOODS
from displaysense.domain.settings import EngineSettings

_NUMBERS = (int, float)
_NOT_ESTIMATED = (None, None, None, None)


class FaceStats:
    __slots__ = (
        "_accessories",
        "_ages",
        "_emotion_samples",
        "_emotion_sums",
        "_female",
        "_gender_samples",
        "_last_looking",
        "_last_ms",
        "_male",
        "attention_ms",
        "samples",
    )

    def __init__(self) -> None:
        self.samples = 0
        self.attention_ms = 0
        self._last_ms: int | None = None
        self._last_looking = False
        self._female = 0.0
        self._male = 0.0
        self._gender_samples = 0
        # AgeRange midpoints take few distinct values, so a counter keeps the median exact
        # without keeping every sample.
        self._ages: Counter[float] = Counter()
        self._emotion_sums: dict[str, float] = dict.fromkeys(MOODS, 0.0)
        self._emotion_samples = 0
        self._accessories: dict[str, list[int]] = {}  # name -> [samples with it, samples where true]

    def add(self, face: FaceSample, settings: EngineSettings) -> None:
        """Add one sample; samples of a pass arrive in time order."""
        looking = (
            face.yaw is not None
            and face.pitch is not None
            and abs(face.yaw) <= settings.looking_yaw_deg
            and abs(face.pitch) <= settings.looking_pitch_deg
        )
        t = face.timestamp_ms
        # Attention is the time covered by consecutive looking samples, bridging no more than the
        # gap a pass itself may bridge: one looking frame alone covers no time.
        if (
            looking
            and self._last_looking
            and self._last_ms is not None
            and 0 < t - self._last_ms <= settings.track_gap_s * 1000
        ):
            self.attention_ms += t - self._last_ms
        if self._last_ms is None or t >= self._last_ms:
            self._last_ms, self._last_looking = t, looking
        self.samples += 1

        if face.gender is not None:
            value, confidence = face.gender
            self._gender_samples += 1
            if value == "Female":
                self._female += confidence
            else:
                self._male += confidence
        if face.age_range is not None:
            self._ages[(face.age_range[0] + face.age_range[1]) / 2] += 1
        if face.emotions is not None:
            sums = self._emotion_sums
            known = False
            for emotion in face.emotions:
                # items as Rekognition gives them; anything malformed is skipped, not trusted
                try:
                    kind, confidence = emotion["Type"], emotion["Confidence"]
                except (KeyError, TypeError):
                    continue
                if kind in sums and confidence.__class__ in _NUMBERS:
                    sums[kind] += confidence
                    known = True
            self._emotion_samples += known
        worn = (face.eyeglasses, face.sunglasses, face.beard, face.mustache)  # ACCESSORIES order
        if worn != _NOT_ESTIMATED:
            for name, value_ in zip(ACCESSORIES, worn, strict=True):
                if value_ is not None:
                    seen = self._accessories.setdefault(name, [0, 0])
                    seen[0] += 1
                    seen[1] += value_

    def gender(self, settings: EngineSettings) -> str | None:
        """Confidence-weighted vote; "unknown" when the two sides are too close to call."""
        if self._gender_samples == 0:
            return None
        total = self._female + self._male
        if total <= 0 or abs(self._female - self._male) / total < settings.gender_min_margin:
            return "unknown"
        return "female" if self._female > self._male else "male"

    def age(self) -> float | None:
        """Median of the AgeRange midpoints (the lower median for an even count)."""
        n = sum(self._ages.values())
        if n == 0:
            return None
        rank = (n - 1) // 2
        for value in sorted(self._ages):
            rank -= self._ages[value]
            if rank < 0:
                return value
        raise AssertionError("unreachable: rank is below the sample count")

    def mood(self) -> str | None:
        """The emotion with the highest mean confidence; ties go to the first in MOODS."""
        if self._emotion_samples == 0:
            return None
        return max(MOODS, key=lambda m: (self._emotion_sums[m], -MOODS.index(m)))

    def accessories(self) -> tuple[tuple[str, bool], ...]:
        """Each estimated accessory, present when a strict majority of samples says so."""
        return tuple(
            (name, 2 * self._accessories[name][1] > self._accessories[name][0])
            for name in ACCESSORIES
            if name in self._accessories
        )
