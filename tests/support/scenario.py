"""Synthetic storefront scenes with known truth, rendered as Rekognition Video result pages.

A scene is a plan per person (when they enter, which way they walk, where and how long they stop,
when they look at the window, who they are); `render` samples it the way Rekognition Video does
(label and face jobs at their own instants) and adds the noise real detections have: missed
boxes, occlusion when paths cross, box jitter, short false positives, wrong genders on some
frames, age ranges around the true age, faces lost in profile. `truth` measures the same plan
without noise, on the same definitions (PRODUCT.md §3), so tests compare like with like.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

EMOTIONS = ("HAPPY", "CALM", "SAD", "ANGRY", "SURPRISED", "CONFUSED", "DISGUSTED", "FEAR")
# A person counts as in view (detectable) while this share of their box is inside the frame.
VISIBLE_SHARE = 0.4


@dataclass(frozen=True)
class Person:
    enter_s: float
    direction: int  # +1 walks left to right, -1 right to left
    speed: float  # frame widths per second
    top: float
    height: float
    width: float
    stop_at: float | None  # centre x where they stop
    stop_s: float
    looks: tuple[tuple[float, float], ...]  # (start, end) in seconds from entering, facing the camera
    gender: str  # Female | Male
    age: int
    mood: str
    eyeglasses: bool

    def walk_s(self) -> float:
        return (1 + self.width) / self.speed

    def exit_s(self) -> float:
        return self.enter_s + self.walk_s() + (self.stop_s if self.stop_at is not None else 0.0)

    def left_at(self, t: float) -> float | None:
        """Left edge of the box at absolute time t, or None when not in the scene."""
        if t < self.enter_s or t > self.exit_s():
            return None
        elapsed = t - self.enter_s
        travelled = elapsed * self.speed
        if self.stop_at is not None:
            stop_travel = (
                (self.stop_at + self.width / 2) if self.direction > 0 else (1 - self.stop_at + self.width / 2)
            )
            if travelled > stop_travel:
                travelled = max(stop_travel, (elapsed - self.stop_s) * self.speed)
        if self.direction > 0:
            return -self.width + travelled
        return 1 - travelled

    def looking_at(self, t: float) -> bool:
        elapsed = t - self.enter_s
        return any(a <= elapsed < b for a, b in self.looks)


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
    """A storefront: walkers both ways, some stop and look, groups of two or three, crossing paths."""
    rng = random.Random(seed)
    people: list[Person] = []
    t = rng.expovariate(per_minute / 60)
    while t < duration_s - 20:
        group = 1 if rng.random() < 0.75 else rng.choice((2, 2, 3))
        direction = rng.choice((-1, 1))
        speed = rng.uniform(0.18, 0.35)
        height = rng.uniform(0.55, 0.8)
        top = 0.9 - height + rng.uniform(-0.03, 0.03)
        width = height * rng.uniform(0.22, 0.3)
        stops = rng.random() < 0.3
        stop_at = rng.uniform(0.25, 0.75) if stops else None
        stop_s = rng.uniform(5.0, 30.0) if rng.random() < 0.7 else rng.uniform(1.0, 4.5)
        for member in range(group):
            # Group members walk abreast: the same speed, boxes partly overlapping.
            offset = member * width * rng.uniform(0.7, 0.95) / speed
            looks = _looks(rng, width, speed, stop_at, stop_s)
            people.append(
                Person(
                    enter_s=t + offset,
                    direction=direction,
                    speed=speed,
                    top=top + rng.uniform(-0.02, 0.02),
                    height=height * rng.uniform(0.95, 1.05),
                    width=width,
                    stop_at=None
                    if stop_at is None
                    else min(0.9, stop_at + member * width * 0.8 * -direction),
                    stop_s=stop_s,
                    looks=looks,
                    gender=rng.choice(("Female", "Male")),
                    age=int(min(85, max(8, rng.gauss(38, 15)))),
                    mood=rng.choices(EMOTIONS, weights=(30, 40, 6, 3, 8, 8, 2, 3))[0],
                    eyeglasses=rng.random() < 0.3,
                )
            )
        t += rng.expovariate(per_minute / 60) * group
    return Scene(duration_s=duration_s, people=people, **scene_options)


def _looks(
    rng: random.Random, width: float, speed: float, stop_at: float | None, stop_s: float
) -> tuple[tuple[float, float], ...]:
    walk = (1 + width) / speed
    looks: list[tuple[float, float]] = []
    if stop_at is not None and rng.random() < 0.8:
        # Stoppers mostly turn to the window: a look that fits inside the stop.
        arrive = (stop_at + width / 2) / speed
        start = arrive + rng.uniform(0.2, max(0.3, stop_s * 0.3))
        looks.append((start, start + rng.uniform(0.3, 1.0) * max(0.8, stop_s - (start - arrive))))
    elif rng.random() < 0.25:
        # A head turn while walking by: long enough to count, or a glance too short to.
        start = rng.uniform(0.2, 0.6) * walk
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
    fh = person.height * 0.13
    fw = fh * 9 / 16 * 0.9
    cx = left + person.width / 2 + rng.gauss(0, noise.jitter) * person.width
    cy = person.top + 0.11 * person.height + rng.gauss(0, noise.jitter) * fh
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
    gender_share: dict[str, float]  # of the passes with a face
    age_share: dict[str, float]


def truth(scene: Scene, min_pass_s: float = 0.5, min_attention_s: float = 0.5) -> Truth:
    """The metrics of the plan itself, sampled on the same grids with no noise."""
    from displaysense.domain.metrics import age_bucket

    passes = impressions = 0
    dwell_total = 0.0
    genders: dict[str, int] = {}
    ages: dict[str, int] = {}
    for p in scene.people:
        label_seen = [
            t for t in _label_times(scene) if (left := p.left_at(t / 1000)) is not None and _visible(p, left)
        ]
        face_seen = [
            t for t in _face_times(scene) if (left := p.left_at(t / 1000)) is not None and _visible(p, left)
        ]
        seen = sorted(label_seen + face_seen)
        if not seen or (seen[-1] - seen[0]) / 1000 < min_pass_s:
            continue
        passes += 1
        dwell_total += (seen[-1] - seen[0]) / 1000
        looking = [t for t in face_seen if p.looking_at(t / 1000)]
        attention = sum(
            b - a for a, b in itertools.pairwise(looking) if b - a <= 1000
        )  # consecutive looking samples
        impressions += attention / 1000 >= min_attention_s
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
        gender_share={k: v / with_face for k, v in genders.items()},
        age_share={k: v / with_face for k, v in ages.items()},
    )
