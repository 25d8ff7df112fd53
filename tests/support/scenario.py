"""Synthetic storefront scenes with known truth, rendered as Rekognition Video result pages.

A scene is a plan per person (when they enter, which way they walk, where and how long they stop,
when they look at the window, who they are); `render` samples it the way Rekognition Video does
(label and face jobs at their own instants) and adds the noise real detections have: missed
boxes, occlusion when paths cross, box jitter, short false positives, wrong genders on some
frames, age ranges around the true age, faces lost in profile. `truth` measures the same plan
without noise, on the same definitions (docs/metrics.md), so tests compare like with like.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

EMOTIONS = ("HAPPY", "CALM", "SAD", "ANGRY", "SURPRISED", "CONFUSED", "DISGUSTED", "FEAR")
# A person counts as in view (detectable) while this share of their box is inside the frame.
VISIBLE_SHARE = 0.4


@dataclass(frozen=True)
class Person:
    enter_s: float
    direction: int  # +1 walks left to right, -1 right to left
    speed: float  # frame widths per second while walking
    top: float
    height: float
    width: float
    stop_at: float | None  # centre x where they stop
    stop_s: float  # time standing still
    looks: tuple[tuple[float, float], ...]  # (start, end) in seconds from entering, facing the camera
    gender: str  # Female | Male
    age: int
    mood: str
    eyeglasses: bool
    # Where the face sits in the box: its centre this far down (share of the height) and this far
    # off the box's centre line (share of the width), and its height (share of the box height).
    head_y: float = 0.11
    head_dx: float = 0.0
    face_height: float = 0.13
    ramp_s: float = 0.5  # time to slow from walking to standing, and to get going again

    def _phases(self) -> tuple[float, float, float, float, float]:
        """(distance to the stop, start slowing, standing, start walking, walking again), seconds
        from entering; without a stop everything is at infinity."""
        if self.stop_at is None:
            inf = float("inf")
            return (inf, inf, inf, inf, inf)
        d_stop = (
            (self.stop_at + self.width / 2) if self.direction > 0 else (1 - self.stop_at + self.width / 2)
        )
        ramp = min(self.ramp_s, 2 * d_stop / self.speed)  # someone stopping just inside slows sooner
        slow = (d_stop - self.speed * ramp / 2) / self.speed
        return (d_stop, slow, slow + ramp, slow + ramp + self.stop_s, slow + 2 * ramp + self.stop_s)

    def travelled(self, elapsed: float) -> float:
        """Distance walked since entering: constant pace, easing into the stop and out of it."""
        d_stop, slow, standing, going, walking = self._phases()
        v = self.speed
        if elapsed <= slow:
            return v * elapsed
        ramp = standing - slow
        if elapsed <= standing:
            e = elapsed - slow
            return v * slow + v * e - v / ramp * e * e / 2
        if elapsed <= going:
            return d_stop
        if elapsed <= walking:
            e = elapsed - going
            return d_stop + v / ramp * e * e / 2
        return d_stop + v * ramp / 2 + v * (elapsed - walking)

    def walk_s(self) -> float:
        return (1 + self.width) / self.speed

    def exit_s(self) -> float:
        d_stop, slow, standing, _, walking = self._phases()
        if self.stop_at is None:
            return self.enter_s + self.walk_s()
        ramp = standing - slow
        return self.enter_s + walking + (1 + self.width - d_stop - self.speed * ramp / 2) / self.speed

    def left_at(self, t: float) -> float | None:
        """Left edge of the box at absolute time t, or None when not in the scene."""
        if t < self.enter_s or t > self.exit_s():
            return None
        travelled = self.travelled(t - self.enter_s)
        if self.direction > 0:
            return -self.width + travelled
        return 1 - travelled

    def visible_s(self) -> tuple[float, float]:
        """The absolute times between which the person is in view (detectable)."""
        # inside share >= VISIBLE_SHARE while the walked distance is within these bounds
        lo, hi = VISIBLE_SHARE * self.width, 1 + self.width - VISIBLE_SHARE * self.width
        return (self._time_at(lo), self._time_at(hi))

    def _time_at(self, distance: float) -> float:
        low, high = self.enter_s, self.exit_s()
        for _ in range(60):  # the walked distance never decreases: bisection
            mid = (low + high) / 2
            if self.travelled(mid - self.enter_s) < distance:
                low = mid
            else:
                high = mid
        return high

    def looking_at(self, t: float) -> bool:
        elapsed = t - self.enter_s
        return any(a <= elapsed < b for a, b in self.looks)

    def looking_s(self) -> float:
        """True time spent facing the camera while in view."""
        first, last = self.visible_s()
        total = 0.0
        for a, b in self.looks:
            total += max(0.0, min(last, self.enter_s + b) - max(first, self.enter_s + a))
        return total


@dataclass
class Scene:
    duration_s: float
    people: list[Person]
    label_interval_ms: int = 500
    label_offset_ms: int = 0
    face_interval_ms: int = 200
    face_offset_ms: int = 67


@dataclass(frozen=True)
class Noise:
    miss_person: float = 0.08  # chance a visible person's box is missing at a timestamp
    miss_face: float = 0.15
    jitter: float = 0.03  # box position noise, share of the box size
    false_positives_per_min: float = 2.0
    wrong_gender: float = 0.15  # share of face samples with the wrong gender (at low confidence)
    occlusion_miss: float = 0.7  # chance the farther of two crossing people is not detected
    profile_yaw: float = 70.0  # faces turned further than this are not detected


QUIET = Noise(0, 0, 0, 0, 0, 0, 90.0)


def make_scene(seed: int, duration_s: float = 600.0, per_minute: float = 6.0, **scene_options: Any) -> Scene:
    """A storefront: walkers both ways, some stop and look, groups of two or three, crossing paths.

    Geometry varies from person to person (box size and shape, walking pace in body widths a
    second, where the face sits in the box, how quickly they stop), so the tracker is not checked
    against one set of proportions.
    """
    rng = random.Random(seed)
    people: list[Person] = []
    t = rng.expovariate(per_minute / 60)
    while t < duration_s - 20:
        group = 1 if rng.random() < 0.75 else rng.choice((2, 2, 3))
        direction = rng.choice((-1, 1))
        height = rng.uniform(0.45, 0.82)
        top = 0.92 - height + rng.uniform(-0.04, 0.04)
        width = height * rng.uniform(0.18, 0.32)
        # 0.8 to 1.8 m/s for someone 1.7 m tall in a 16:9 frame (frame widths a second)
        speed = height * rng.uniform(0.25, 0.6)
        stops = rng.random() < 0.3
        stop_at = rng.uniform(0.25, 0.75) if stops else None
        stop_s = rng.uniform(5.0, 30.0) if rng.random() < 0.7 else rng.uniform(1.0, 4.5)
        for member in range(group):
            # Group members walk abreast: the same speed, boxes partly overlapping.
            offset = member * width * rng.uniform(0.7, 0.95) / speed
            member_stop = (
                None if stop_at is None else min(0.9, max(0.1, stop_at + member * width * 0.8 * -direction))
            )
            person = Person(
                enter_s=t + offset,
                direction=direction,
                speed=speed,
                top=top + rng.uniform(-0.02, 0.02),
                height=height * rng.uniform(0.95, 1.05),
                width=width,
                stop_at=member_stop,
                stop_s=stop_s,
                looks=(),
                gender=rng.choice(("Female", "Male")),
                age=int(min(85, max(8, rng.gauss(38, 15)))),
                mood=rng.choices(EMOTIONS, weights=(30, 40, 6, 3, 8, 8, 2, 3))[0],
                eyeglasses=rng.random() < 0.3,
                head_y=rng.uniform(0.07, 0.15),
                head_dx=rng.gauss(0, 0.06),
                face_height=rng.uniform(0.1, 0.14),
                ramp_s=rng.uniform(0.5, 1.2),
            )
            people.append(replace(person, looks=_looks(rng, person)))
        t += rng.expovariate(per_minute / 60) * group
    return Scene(duration_s=duration_s, people=people, **scene_options)


def _looks(rng: random.Random, person: Person) -> tuple[tuple[float, float], ...]:
    looks: list[tuple[float, float]] = []
    if person.stop_at is not None and rng.random() < 0.8:
        # Stoppers mostly turn to the window: a look that fits inside the stop.
        _, _, arrive, leave, _ = person._phases()
        stop_s = leave - arrive
        start = arrive + rng.uniform(0.2, max(0.3, stop_s * 0.3))
        looks.append((start, start + rng.uniform(0.3, 1.0) * max(0.8, stop_s - (start - arrive))))
    elif rng.random() < 0.25:
        # A head turn while walking by: long enough to count, or a glance too short to.
        start = rng.uniform(0.2, 0.6) * person.walk_s()
        looks.append(
            (start, start + (rng.uniform(1.0, 2.5) if rng.random() < 0.7 else rng.uniform(0.1, 0.25)))
        )
    return tuple(looks)


def _box(person: Person, left: float) -> dict[str, float]:
    return {"Width": person.width, "Height": person.height, "Left": left, "Top": person.top}


def _visible(person: Person, left: float) -> bool:
    inside = min(1.0, left + person.width) - max(0.0, left)
    return inside >= VISIBLE_SHARE * person.width


def _label_times(scene: Scene) -> Iterator[int]:
    return iter(range(scene.label_offset_ms, int(scene.duration_s * 1000), scene.label_interval_ms))


def _face_times(scene: Scene) -> Iterator[int]:
    return iter(range(scene.face_offset_ms, int(scene.duration_s * 1000), scene.face_interval_ms))


def _covered_share(a: tuple[float, float, float, float], by: tuple[float, float, float, float]) -> float:
    w = min(a[0] + a[2], by[0] + by[2]) - max(a[0], by[0])
    h = min(a[1] + a[3], by[1] + by[3]) - max(a[1], by[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / (a[2] * a[3])


class _InView:
    """People in view at increasing times, without rescanning everyone who came before."""

    def __init__(self, by_enter: list[Person]) -> None:
        self.people = by_enter
        self.next = 0
        self.present: list[Person] = []

    def at(self, t_ms: int) -> list[tuple[Person, float]]:
        t = t_ms / 1000
        while self.next < len(self.people) and self.people[self.next].enter_s <= t:
            self.present.append(self.people[self.next])
            self.next += 1
        self.present = [p for p in self.present if p.exit_s() >= t]
        found = []
        for p in self.present:
            left = p.left_at(t)
            if left is not None and _visible(p, left):
                found.append((p, left))
        return found


@dataclass
class Rendered:
    label_entries: list[dict[str, Any]] = field(default_factory=list)
    face_entries: list[dict[str, Any]] = field(default_factory=list)


def render(scene: Scene, noise: Noise, seed: int) -> Rendered:
    rng = random.Random(seed * 7919 + 1)
    out = Rendered()
    by_enter = sorted(scene.people, key=lambda p: p.enter_s)
    # Short false positives, indexed by the label timestamps they appear at.
    false_positives: dict[int, list[dict[str, float]]] = {}
    n_fp = int(scene.duration_s / 60 * noise.false_positives_per_min)
    for _ in range(n_fp):
        start = rng.randrange(0, int(scene.duration_s * 1000))
        h = rng.uniform(0.2, 0.5)
        box = {"Width": h * 0.4, "Height": h, "Left": rng.uniform(0, 0.9), "Top": rng.uniform(0.1, 0.5)}
        end = start + rng.choice((0, scene.label_interval_ms))
        step, offset = scene.label_interval_ms, scene.label_offset_ms
        t = offset + -(-(start - offset) // step) * step
        while t <= end:
            false_positives.setdefault(t, []).append(box)
            t += step

    label_view, face_view = _InView(by_enter), _InView(by_enter)

    for t_ms in _label_times(scene):
        present = label_view.at(t_ms)
        rects = [(left, p.top, p.width, p.height) for p, left in present]
        instances: list[dict[str, Any]] = []
        for i, (p, left) in enumerate(present):
            if rng.random() < noise.miss_person:
                continue
            # Half hidden behind someone nearer the camera (a taller box): often not detected.
            occluded = any(
                j != i and rects[j][3] > rects[i][3] and _covered_share(rects[i], rects[j]) >= 0.5
                for j in range(len(rects))
            )
            if occluded and rng.random() < noise.occlusion_miss:
                continue
            jitter = noise.jitter
            box = {
                "Width": p.width * (1 + rng.gauss(0, jitter)),
                "Height": p.height * (1 + rng.gauss(0, jitter)),
                "Left": left + rng.gauss(0, jitter) * p.width,
                "Top": p.top + rng.gauss(0, jitter) * p.height * 0.5,
            }
            instances.append({"BoundingBox": box, "Confidence": round(rng.uniform(80, 99.9), 3)})
        for box in false_positives.get(t_ms, ()):
            instances.append({"BoundingBox": box, "Confidence": round(rng.uniform(50, 70), 3)})
        if instances:
            out.label_entries.append(
                {
                    "Timestamp": t_ms,
                    "Label": {
                        "Name": "Person",
                        "Confidence": max(float(i["Confidence"]) for i in instances),
                        "Instances": instances,
                        "Parents": [],
                        "Aliases": [{"Name": "Human"}],
                        "Categories": [{"Name": "Person Description"}],
                    },
                }
            )

    for t_ms in _face_times(scene):
        for p, left in face_view.at(t_ms):
            looking = p.looking_at(t_ms / 1000)
            if looking:
                yaw, pitch = rng.gauss(0, 8), rng.gauss(-3, 6)
            else:
                yaw = p.direction * rng.uniform(40, 95) * (1 if rng.random() < 0.85 else -1)
                pitch = rng.gauss(0, 10)
            if abs(yaw) > noise.profile_yaw or rng.random() < noise.miss_face:
                continue
            out.face_entries.append({"Timestamp": t_ms, "Face": _face(p, left, yaw, pitch, noise, rng)})
    return out


def _face(
    person: Person, left: float, yaw: float, pitch: float, noise: Noise, rng: random.Random
) -> dict[str, Any]:
    fh = person.height * person.face_height
    fw = fh * 9 / 16 * 0.9
    cx = left + person.width * (0.5 + person.head_dx) + rng.gauss(0, noise.jitter) * person.width
    cy = person.top + person.head_y * person.height + rng.gauss(0, noise.jitter) * fh
    wrong = rng.random() < noise.wrong_gender
    gender = ("Male" if person.gender == "Female" else "Female") if wrong else person.gender
    spread = rng.randint(3, 7)
    centre = person.age + rng.gauss(0, 3)
    dominant = rng.uniform(55, 92)
    others = [m for m in EMOTIONS if m != person.mood]
    rest = [rng.random() for _ in others]
    total = sum(rest)
    emotions = [{"Type": person.mood, "Confidence": dominant}] + [
        {"Type": m, "Confidence": (100 - dominant) * r / total} for m, r in zip(others, rest, strict=True)
    ]
    rng.shuffle(emotions)

    def flag(value: bool, p_wrong: float = 0.1) -> dict[str, Any]:
        shown = (not value) if rng.random() < p_wrong else value
        return {"Value": shown, "Confidence": rng.uniform(70, 99.9)}

    return {
        "BoundingBox": {"Width": fw, "Height": fh, "Left": cx - fw / 2, "Top": cy - fh / 2},
        "AgeRange": {"Low": max(0, round(centre - spread)), "High": round(centre + spread)},
        "Smile": flag(person.mood == "HAPPY"),
        "Eyeglasses": flag(person.eyeglasses),
        "Sunglasses": flag(False, 0.02),
        "Gender": {"Value": gender, "Confidence": rng.uniform(51, 80) if wrong else rng.uniform(85, 99.9)},
        "Beard": flag(False, 0.05),
        "Mustache": flag(False, 0.05),
        "EyesOpen": flag(True),
        "MouthOpen": flag(False),
        "Emotions": emotions,
        "Landmarks": [
            {"Type": name, "X": cx + dx * fw, "Y": cy + dy * fh}
            for name, dx, dy in (
                ("eyeLeft", -0.2, -0.15),
                ("eyeRight", 0.2, -0.15),
                ("mouthLeft", -0.15, 0.25),
                ("mouthRight", 0.15, 0.25),
                ("nose", 0.0, 0.05),
            )
        ],
        "Pose": {"Roll": rng.gauss(0, 5), "Yaw": yaw, "Pitch": pitch},
        "Quality": {"Brightness": rng.uniform(30, 80), "Sharpness": rng.uniform(40, 99)},
        "Confidence": rng.uniform(90, 99.99),
    }


def _video_metadata(scene: Scene) -> dict[str, Any]:
    return {
        "Codec": "h264",
        "DurationMillis": int(scene.duration_s * 1000),
        "Format": "QuickTime / MOV",
        "FrameRate": 29.97,
        "FrameHeight": 1080,
        "FrameWidth": 1920,
        "ColorRange": "LIMITED",
    }


def label_pages(scene: Scene, rendered: Rendered, page_size: int = 1000) -> list[dict[str, Any]]:
    return _pages(scene, rendered.label_entries, "Labels", page_size)


def face_pages(scene: Scene, rendered: Rendered, page_size: int = 1000) -> list[dict[str, Any]]:
    return _pages(scene, rendered.face_entries, "Faces", page_size)


def _pages(scene: Scene, entries: list[dict[str, Any]], key: str, page_size: int) -> list[dict[str, Any]]:
    pages = []
    chunks = [entries[i : i + page_size] for i in range(0, len(entries), page_size)] or [[]]
    for n, chunk in enumerate(chunks):
        page: dict[str, Any] = {"JobStatus": "SUCCEEDED", "VideoMetadata": _video_metadata(scene), key: chunk}
        if key == "Labels":
            page["LabelModelVersion"] = "3.0"
            page["GetRequestMetadata"] = {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}
        if n + 1 < len(chunks):
            page["NextToken"] = f"token-{n + 1}"
        pages.append(page)
    return pages


@dataclass(frozen=True)
class Truth:
    foot_traffic: int
    impressions: int
    dwell_s_total: float
    attention_s_total: float
    gender_share: dict[str, float]  # of the passes with a face
    age_share: dict[str, float]


def _seen_on(times: range, person: Person, first_s: float, last_s: float) -> tuple[int, int] | None:
    """The first and last instants of a sampling grid at which the person is in view."""
    step = times.step
    low = max(times.start, times.start + (int((first_s * 1000 - times.start) // step) - 1) * step)
    high = min(times.stop, int(last_s * 1000) + 2 * step)
    seen = [
        t
        for t in range(low, high, step)
        if (left := person.left_at(t / 1000)) is not None and _visible(person, left)
    ]
    return (seen[0], seen[-1]) if seen else None


def truth(scene: Scene, min_pass_s: float = 0.5, min_attention_s: float = 0.5) -> Truth:
    """The metrics of the plan itself, independent of the engine's rules.

    A pass is a person in view at sampling instants at least `min_pass_s` apart (the detections
    a perfect detector would give; dwell is their first to last instant, as defined). Attention
    is the true time the person faced the camera while in view, not anything measured from
    samples, so the engine's sampling rule is checked rather than copied.
    """
    from displaysense.domain.metrics import age_bucket

    passes = impressions = 0
    dwell_total = attention_total = 0.0
    genders: dict[str, int] = {}
    ages: dict[str, int] = {}
    label_grid = range(scene.label_offset_ms, int(scene.duration_s * 1000), scene.label_interval_ms)
    face_grid = range(scene.face_offset_ms, int(scene.duration_s * 1000), scene.face_interval_ms)
    for p in scene.people:
        first_s, last_s = p.visible_s()
        spans = [s for grid in (label_grid, face_grid) if (s := _seen_on(grid, p, first_s, last_s))]
        if not spans:
            continue
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        if (end - start) / 1000 < min_pass_s:
            continue
        passes += 1
        dwell_total += (end - start) / 1000
        looking = p.looking_s()
        attention_total += looking
        impressions += looking >= min_attention_s
        # Walkers show a face often enough (yaw within the detectable range) that every true
        # pass has one; shares are compared over all true passes.
        genders[p.gender.lower()] = genders.get(p.gender.lower(), 0) + 1
        bucket = age_bucket(p.age)
        ages[bucket] = ages.get(bucket, 0) + 1
    with_face = sum(genders.values()) or 1
    return Truth(
        foot_traffic=passes,
        impressions=impressions,
        dwell_s_total=dwell_total,
        attention_s_total=attention_total,
        gender_share={k: v / with_face for k, v in genders.items()},
        age_share={k: v / with_face for k, v in ages.items()},
    )


@dataclass(frozen=True)
class Score:
    """The engine's errors on one scene: relative for the totals (signed), in share points for
    the largest gender or age share error of the passes with a face."""

    true_passes: int
    foot_traffic: float
    impressions: float
    dwell: float
    attention: float
    share_points: float


def score(
    seed: int, per_minute: float, label_interval_ms: int, face_interval_ms: int, duration_s: float
) -> Score:
    """Render a scene, run the engine on its pages and compare with the truth."""
    from displaysense.domain.engine import analyze
    from displaysense.domain.metrics import AGE_BUCKETS, summarize
    from displaysense.domain.settings import EngineSettings

    scene = make_scene(
        seed,
        duration_s=duration_s,
        per_minute=per_minute,
        label_interval_ms=label_interval_ms,
        face_interval_ms=face_interval_ms,
    )
    rendered = render(scene, Noise(), seed)
    s = summarize(
        analyze(
            labels=label_pages(scene, rendered), faces=face_pages(scene, rendered), settings=EngineSettings()
        ).summary
    )
    t = truth(scene)
    # the truth has no "unknown" gender or age, so that bucket is left out
    shares = [
        abs(s[field][key] / s["faces"] - true.get(key, 0.0))
        for field, true, keys in (
            ("gender", t.gender_share, ("female", "male")),
            ("age", t.age_share, [b for b in AGE_BUCKETS if b != "unknown"]),
        )
        for key in keys
    ]
    return Score(
        true_passes=t.foot_traffic,
        foot_traffic=s["foot_traffic"] / t.foot_traffic - 1,
        impressions=s["impressions"] / t.impressions - 1,
        dwell=s["dwell_s_total"] / t.dwell_s_total - 1,
        attention=s["attention_s_total"] / t.attention_s_total - 1,
        share_points=max(shares),
    )


# Scene length per density in the accuracy test and report: 600 to 900 true passes each, so
# that a 5 % bound is several times a scene's own noise (impressions are about a third of them).
ACCURACY_DURATION_S = {2.0: 21_600.0, 5.0: 9_000.0, 10.0: 4_800.0}
ACCURACY_CASES = [  # (arrivals a minute, labels every, faces every)
    (per_minute, labels, faces)
    for labels, faces in ((200, 200), (500, 200), (500, 500))
    for per_minute in (2.0, 5.0, 10.0)
]


def _report(first_seed: int, last_seed: int) -> None:
    """Per case, the range and mean of each error over the seeds (docs/metrics.md)."""
    seeds = range(first_seed, last_seed + 1)
    print(f"seeds {first_seed}-{last_seed}; errors min..max (mean); shares: largest error in points")
    for per_minute, labels, faces in ACCURACY_CASES:
        scores = [score(s, per_minute, labels, faces, ACCURACY_DURATION_S[per_minute]) for s in seeds]

        def spread(name: str, scores: list[Score] = scores) -> str:
            values = [100 * getattr(x, name) for x in scores]
            return f"{min(values):+.1f}..{max(values):+.1f} ({sum(values) / len(values):+.1f})"

        passes = [x.true_passes for x in scores]
        print(
            f"{per_minute:g}/min labels {labels} ms faces {faces} ms | passes {min(passes)}-{max(passes)} | "
            f"foot traffic {spread('foot_traffic')} | impressions {spread('impressions')} | "
            f"dwell {spread('dwell')} | attention {spread('attention')} | "
            f"shares <= {100 * max(x.share_points for x in scores):.1f}"
        )


if __name__ == "__main__":  # python -m tests.support.scenario [FIRST_SEED LAST_SEED]
    import sys

    first, last = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1, 16)
    _report(first, last)
