"""What the face samples of one pass say about it (docs/metrics.md, "Per pass"), accumulated in
constant memory.

Demographics are per pass, never per frame: a pass seen in 40 frames counts once.
"""

from __future__ import annotations

from displaysense.domain.detections import FaceSample
from displaysense.domain.metrics import ACCESSORIES, MOODS
from displaysense.domain.settings import EngineSettings

_NOT_ESTIMATED = (None, None, None, None)


class FaceStats:
    __slots__ = (
        "_accessories",
        "_ages",
        "_emotion_samples",
        "_emotion_sums",
        "_female",
        "_first_looking",
        "_first_ms",
        "_gender_samples",
        "_last_looking",
        "_last_ms",
        "_male",
        "_run_ms",
        "_runs",
        "samples",
    )

    def __init__(self) -> None:
        self.samples = 0
        self._first_ms: int | None = None
        self._first_looking = False
        self._last_ms: int | None = None
        self._last_looking = False
        # looking runs: consecutive looking samples no further apart than track_gap_s; the time
        # between the samples of each run, and the number of runs
        self._run_ms = 0
        self._runs = 0
        self._female = 0.0
        self._male = 0.0
        self._gender_samples = 0
        # AgeRange midpoints take few distinct values, so a counter keeps the median exact
        # without keeping every sample.
        self._ages: dict[float, int] = {}
        self._emotion_sums: dict[str, float] = dict.fromkeys(MOODS, 0.0)
        self._emotion_samples = 0
        # per accessory, in ACCESSORIES order: samples that carried it, and samples where it was true
        self._accessories = [0, 0, 0, 0, 0, 0, 0, 0]

    def add(self, face: FaceSample, settings: EngineSettings) -> None:
        """Add one sample; samples of a pass arrive in time order."""
        (t, _, yaw, pitch, gender, age_range, emotions, eyeglasses, sunglasses, beard, mustache) = face
        looking = (
            yaw is not None
            and pitch is not None
            and abs(yaw) <= settings.looking_yaw_deg
            and abs(pitch) <= settings.looking_pitch_deg
        )
        last_ms = self._last_ms
        if last_ms is None:
            self._first_ms, self._first_looking = t, looking
            self._runs += looking
            self._last_ms, self._last_looking = t, looking
        elif t > last_ms:
            if looking:
                if self._last_looking and t - last_ms <= settings.track_gap_s * 1000:
                    self._run_ms += t - last_ms
                else:
                    self._runs += 1
            self._last_ms, self._last_looking = t, looking
        self.samples += 1

        if gender is not None:
            self._gender_samples += 1
            if gender[0] == "Female":
                self._female += gender[1]
            else:
                self._male += gender[1]
        if age_range is not None:
            ages = self._ages
            mid = (age_range[0] + age_range[1]) / 2
            ages[mid] = ages.get(mid, 0) + 1
        if emotions is not None:
            sums = self._emotion_sums
            known = False
            for emotion in emotions:
                # items as Rekognition gives them; anything malformed is skipped, not trusted
                try:
                    kind, confidence = emotion["Type"], emotion["Confidence"]
                    if confidence.__class__ is float or confidence.__class__ is int:
                        sums[kind] += confidence  # KeyError for a kind that is not a mood
                        known = True
                except (KeyError, TypeError):
                    continue
            self._emotion_samples += known
        worn = (eyeglasses, sunglasses, beard, mustache)  # ACCESSORIES order
        if worn != _NOT_ESTIMATED:
            acc = self._accessories
            for i, value in enumerate(worn):
                if value is not None:
                    acc[2 * i] += 1
                    acc[2 * i + 1] += value

    def merge(self, earlier: FaceStats, settings: EngineSettings) -> None:
        """Add the samples of `earlier`, the same person's faces seen before these (a face-only
        track that turned out to belong to this body)."""
        if earlier.samples == 0:
            return
        self.samples += earlier.samples
        self._run_ms += earlier._run_ms
        self._runs += earlier._runs
        if self._first_ms is None or self._last_ms is None:
            self._first_ms, self._first_looking = earlier._first_ms, earlier._first_looking
            self._last_ms, self._last_looking = earlier._last_ms, earlier._last_looking
        else:
            assert earlier._first_ms is not None and earlier._last_ms is not None
            gap = self._first_ms - earlier._last_ms
            if earlier._last_looking and self._first_looking and 0 < gap <= settings.track_gap_s * 1000:
                # the earlier run and this one are one look
                self._runs -= 1
                self._run_ms += gap
            if earlier._first_ms < self._first_ms:
                self._first_ms, self._first_looking = earlier._first_ms, earlier._first_looking
            if earlier._last_ms > self._last_ms:
                self._last_ms, self._last_looking = earlier._last_ms, earlier._last_looking
        self._female += earlier._female
        self._male += earlier._male
        self._gender_samples += earlier._gender_samples
        for age, count in earlier._ages.items():
            self._ages[age] = self._ages.get(age, 0) + count
        for mood, total in earlier._emotion_sums.items():
            self._emotion_sums[mood] += total
        self._emotion_samples += earlier._emotion_samples
        for i, count in enumerate(earlier._accessories):
            self._accessories[i] += count

    def attention_ms(self, period_ms: int) -> int:
        """The time covered by the looking samples, given the face job's sampling interval.

        Each looking sample stands for one sampling interval of video around it, so a run of
        consecutive looking samples covers from half an interval before its first sample to half
        an interval after its last: the time between them plus one interval. A lone looking sample
        covers one interval, and the same look gives about the same time whether faces are
        sampled every 200 ms or every 500 ms. A face missed inside a run (up to `track_gap_s`)
        does not break it.
        """
        return self._run_ms + self._runs * period_ms

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
        acc = self._accessories
        return tuple(
            (name, 2 * acc[2 * i + 1] > acc[2 * i]) for i, name in enumerate(ACCESSORIES) if acc[2 * i]
        )
