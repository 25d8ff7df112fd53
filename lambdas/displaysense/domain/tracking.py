"""Links Person boxes and faces across timestamps into passes.

Rekognition's label detection gives boxes with no identity from one timestamp to the next
(people pathing was discontinued), so DisplaySense tracks them itself: a constant-velocity
prediction per track, then an optimal assignment on overlap (IoU), falling back to the distance a
person can walk in the time between two samples.

Why hand-written: the assignment libraries (scipy's linear_sum_assignment, lap) would add numpy
and scipy, about 130 MB unzipped and a platform-specific bundling step, to every Lambda, for a
problem of a handful of people per timestamp; a 40-line Hungarian method solves it exactly.

Faces attach to the track whose box holds the face's centre in its upper half (PRODUCT.md §3); a
face keeps its track alive while the person detector misses the body; faces with no person
form face-only tracks, which a Person box that later contains them adopts. A person hidden behind
another (their predicted box covered by someone's detected box) stays the same pass for up to
`occlusion_gap_s`, not just `track_gap_s`.
"""

from __future__ import annotations

import math
from collections import deque

from displaysense.domain.detections import Box, FaceSample
from displaysense.domain.faces import FaceStats
from displaysense.domain.settings import EngineSettings

# Where a head sits in a person's box: horizontally centred, this far down (share of the height).
_HEAD_Y = 0.12
# Slack around a person box when placing a face in it (share of the box width), for box jitter.
_FACE_SLACK = 0.1
# Two boxes of one track differ at most this much in height between samples.
_MAX_HEIGHT_RATIO = 2.0
# Weight of the newest motion in the velocity estimate.
_VELOCITY_ALPHA = 0.5
_HISTORY = 8
# Detector jitter of a box position, in body widths.
_JITTER_WIDTHS = 0.3
# A face is about this many times narrower than the body under it.
_BODY_PER_FACE = 2.5
# Below this pace (body widths per second) a track may be standing and drifting with jitter.
_WALKING_WIDTHS_PER_S = 0.5
# A box this close to a side of the frame may belong to someone walking in from that side...
_EDGE = 0.02
# ...at a walking pace: about 1.4 m/s for a body about 0.5 m wide, some 2 box widths a second.
_ENTRY_WIDTHS_PER_MS = 2.0 / 1000
# A walker whose predicted box has less than this share inside the frame is leaving it.
_LEAVING_SHARE = 0.5
# A missing person counts as hidden when this share of their predicted box is under another's.
_HIDDEN_SHARE = 0.4


class Track:
    __slots__ = (
        "box",
        "box_ms",
        "face_box",
        "face_ms",
        "faces",
        "first_ms",
        "fvx",
        "fvy",
        "hidden_ms",
        "history",
        "last_ms",
        "moving",
        "vx",
        "vy",
    )

    def __init__(self, t: int) -> None:
        self.first_ms = t
        self.last_ms = t
        self.hidden_ms: int | None = None  # last time the person was missing behind someone
        self.box: Box | None = None  # last Person box
        self.box_ms = t
        self.vx = 0.0  # velocity of the Person box, frame ratios per ms
        self.vy = 0.0
        self.moving = False  # whether vx, vy come from two boxes yet
        self.history: deque[tuple[int, Box]] = deque(maxlen=_HISTORY)
        self.face_box: Box | None = None
        self.face_ms = t
        self.fvx = 0.0
        self.fvy = 0.0
        self.faces = FaceStats()

    @property
    def had_person(self) -> bool:
        return self.box is not None

    def alive_at(self, t: int, gap_ms: int, occlusion_gap_ms: int) -> bool:
        if t - self.last_ms <= gap_ms:
            return True
        return (
            self.hidden_ms is not None
            and t - self.hidden_ms <= gap_ms
            and t - self.last_ms <= occlusion_gap_ms
        )

    def seen(self, t: int) -> None:
        self.first_ms = min(self.first_ms, t)
        self.last_ms = max(self.last_ms, t)

    def predicted_box(self, t: int) -> Box:
        assert self.box is not None
        if self.face_box is not None and self.face_ms > self.box_ms:
            # The body was missed since the face was last seen: the face says where it went.
            w, h = self.box.width, self.box.height
            dt = t - self.face_ms
            return Box(
                self.face_box.center_x - w / 2 + self.vx * dt,
                self.face_box.center_y - _HEAD_Y * h + self.vy * dt,
                w,
                h,
            )
        dt = t - self.box_ms
        return self.box.shifted(self.vx * dt, self.vy * dt)

    def predictions(self, t: int) -> tuple[Box, ...]:
        """Where the person may be at time t. A track seen once has no velocity yet: it may be
        standing, or, at a frame edge, walking in from that edge."""
        assert self.box is not None
        if self.moving or (self.face_box is not None and self.face_ms > self.box_ms):
            return (self.predicted_box(t),)
        box, dt = self.box, t - self.box_ms
        step = _ENTRY_WIDTHS_PER_MS * box.width * dt
        if box.left <= _EDGE:
            return (box, box.shifted(step, 0.0))
        if box.right >= 1 - _EDGE:
            return (box, box.shifted(-step, 0.0))
        return (box,)

    def turns_back(self, box: Box, t: int) -> bool:
        """Whether a walker leaving the frame would have to walk back to reach `box` at time t.

        A box appearing behind a walker who is stepping out of view is someone else: typically a
        person entering at the edge where the walker just left. Inside the frame, where people
        stop, mill about and swap places in a crowd, the rule does not apply. The heading is taken
        over the recent boxes, so one wrong link does not turn it round.
        """
        if self.box is None or len(self.history) < 3:
            return False
        predicted = self.predicted_box(t)
        visible = min(1.0, predicted.right) - max(0.0, predicted.left)
        if visible >= _LEAVING_SHARE * predicted.width:
            return False
        (t0, first), (t1, last) = self.history[0], self.history[-1]
        if t1 <= t0:
            return False
        vx = (last.center_x - first.center_x) / (t1 - t0)
        vy = (last.center_y - first.center_y) / (t1 - t0)
        speed = math.hypot(vx, vy)
        if speed * 1000 < _WALKING_WIDTHS_PER_S * last.width:
            return False
        ux, uy = vx / speed, vy / speed
        lead = max(b.center_x * ux + b.center_y * uy for _, b in self.history)
        return box.center_x * ux + box.center_y * uy < lead - _JITTER_WIDTHS * last.width

    def box_near(self, t: int, tolerance_ms: int) -> Box:
        """The Person box at time t: the observation nearest in time, moved along the motion."""
        best: tuple[int, Box] | None = None
        best_gap = tolerance_ms + 1
        for observed_ms, box in reversed(self.history):
            gap = abs(observed_ms - t)
            if gap < best_gap:
                best, best_gap = (observed_ms, box), gap
            elif observed_ms < t:
                break  # the history is in time order: older boxes are further away
        if best is None:
            return self.predicted_box(t)
        dt = t - best[0]
        return best[1].shifted(self.vx * dt, self.vy * dt)

    def predicted_face(self, t: int) -> Box:
        assert self.face_box is not None
        dt = t - self.face_ms
        return self.face_box.shifted(self.fvx * dt, self.fvy * dt)

    def update_box(self, t: int, box: Box) -> None:
        if self.box is not None and t > self.box_ms:
            dt = t - self.box_ms
            vx, vy = (box.center_x - self.box.center_x) / dt, (box.center_y - self.box.center_y) / dt
            self.vx = _blend(self.vx, vx) if self.moving else vx
            self.vy = _blend(self.vy, vy) if self.moving else vy
            self.moving = True
        if self.box is None or t >= self.box_ms:
            self.box, self.box_ms = box, t
        self.history.append((t, box))
        self.hidden_ms = None
        self.seen(t)

    def update_face(self, face: FaceSample, settings: EngineSettings) -> None:
        t = face.timestamp_ms
        if self.face_box is not None and t > self.face_ms:
            dt = t - self.face_ms
            self.fvx = _blend(self.fvx, (face.box.center_x - self.face_box.center_x) / dt)
            self.fvy = _blend(self.fvy, (face.box.center_y - self.face_box.center_y) / dt)
        if self.face_box is None or t >= self.face_ms:
            self.face_box, self.face_ms = face.box, t
        self.faces.add(face, settings)
        self.seen(t)


def _blend(old: float, new: float) -> float:
    return (1 - _VELOCITY_ALPHA) * old + _VELOCITY_ALPHA * new


def _link_score(
    predicted: Box, observed: Box, dt_ms: int, settings: EngineSettings, body_scale: float = 1.0
) -> float | None:
    """How well an observation continues a track, or None when it cannot be the same person.

    Overlap scores in [min_iou, 1]. Otherwise the centres may be as far apart as a person could
    have strayed from the prediction in the time between (stopping, starting, turning), plus box
    jitter; such a match scores below min_iou, so any overlap is preferred to any distance match.
    `body_scale` turns the box width into a body width (faces are narrower than bodies).
    """
    ratio = observed.height / predicted.height
    if not 1 / _MAX_HEIGHT_RATIO <= ratio <= _MAX_HEIGHT_RATIO:
        return None
    iou = predicted.iou(observed)
    if iou >= settings.min_iou:
        return iou
    body = body_scale * max(predicted.width, observed.width)
    limit = body * (_JITTER_WIDTHS + settings.max_speed_widths_per_s * abs(dt_ms) / 1000)
    distance = math.hypot(predicted.center_x - observed.center_x, predicted.center_y - observed.center_y)
    if limit <= 0 or distance > limit:
        return None
    return settings.min_iou * (1 - distance / limit) * 0.999


def _head_score(person: Box, face: Box) -> float | None:
    """Closeness of a face to the head position of a person box; None when outside its upper half."""
    slack = _FACE_SLACK * person.width
    cx, cy = face.center_x, face.center_y
    if not (person.left - slack <= cx <= person.right + slack):
        return None
    if not (person.top - slack <= cy <= person.top + person.height / 2):
        return None
    dx = (cx - person.center_x) / person.width
    dy = (cy - (person.top + _HEAD_Y * person.height)) / person.height
    return -(dx * dx + dy * dy)


def _covered(box: Box, by: Box) -> bool:
    w = min(box.right, by.right) - max(box.left, by.left)
    h = min(box.bottom, by.bottom) - max(box.top, by.top)
    return w > 0 and h > 0 and w * h >= _HIDDEN_SHARE * box.width * box.height


def _assign(pairs: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """The assignment with the most links and, among those, the highest total score.

    Hungarian method (Kuhn-Munkres, O(n^2 m)) on the few detections and tracks of one timestamp.
    Greedy best-first is not enough: when one person stops beside a walking companion, the
    walker's prediction overlaps the stopper best, and greedy would hand it over and lose a track.
    """
    if len(pairs) <= 1:
        return [(a, b) for _, a, b in pairs]
    rows = sorted({a for _, a, _ in pairs})
    cols = sorted({b for _, _, b in pairs})
    row_at = {a: i for i, a in enumerate(rows)}
    col_at = {b: j for j, b in enumerate(cols)}
    if len(rows) == 1 or len(cols) == 1:
        # one detection or one track: the single best pair is the assignment
        best = max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
        return [(best[1], best[2])]
    forbidden = 1e6  # a pair that may not link: used only when nothing else is left
    transpose = len(rows) > len(cols)
    n, m = (len(cols), len(rows)) if transpose else (len(rows), len(cols))
    cost = [[forbidden] * m for _ in range(n)]
    for score, a, b in pairs:
        i, j = row_at[a], col_at[b]
        if transpose:
            i, j = j, i
        cost[i][j] = -score
    chosen = []
    for i, j in _hungarian(cost):
        if cost[i][j] < forbidden:
            chosen.append((rows[j], cols[i]) if transpose else (rows[i], cols[j]))
    return sorted(chosen)


def _hungarian(cost: list[list[float]]) -> list[tuple[int, int]]:
    """Minimum-cost assignment of every row to a distinct column (rows <= columns)."""
    n, m = len(cost), len(cost[0])
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: row (1-based) assigned to column j, 0 for none
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = owner[j0], inf, 0
            row = cost[i0 - 1]
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = row[j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    return [(owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j]]


class Tracker:
    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.gap_ms = round(settings.track_gap_s * 1000)
        self.occlusion_gap_ms = max(self.gap_ms, round(settings.occlusion_gap_s * 1000))
        self.tolerance_ms = round(settings.face_match_tolerance_s * 1000)
        self.active: list[Track] = []

    def _alive(self, t: int) -> list[Track]:
        gap, hidden_gap = self.gap_ms, self.occlusion_gap_ms
        return [tr for tr in self.active if t - tr.last_ms <= gap or tr.alive_at(t, gap, hidden_gap)]

    def observe_persons(self, t: int, boxes: list[Box]) -> None:
        alive = self._alive(t)
        with_box = [tr for tr in alive if tr.box is not None]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(with_box):
            predictions = track.predictions(t)
            dt = t - track.box_ms
            for bi, box in enumerate(boxes):
                if track.turns_back(box, t):
                    continue
                scores = [s for p in predictions if (s := _link_score(p, box, dt, self.settings)) is not None]
                if scores:
                    pairs.append((max(scores), bi, ti))
        matched = _assign(pairs)
        for bi, ti in matched:
            with_box[ti].update_box(t, boxes[bi])
        linked = {ti for _, ti in matched}
        for ti, track in enumerate(with_box):
            if ti not in linked and any(_covered(track.predicted_box(t), box) for box in boxes):
                track.hidden_ms = t
        unmatched = sorted(set(range(len(boxes))) - {bi for bi, _ in matched})
        if not unmatched:
            return
        # A face seen before the body was detected: the body's box adopts that face-only track.
        face_only = [tr for tr in alive if tr.box is None and tr.face_box is not None]
        adopt: list[tuple[float, int, int]] = []
        for ti, track in enumerate(face_only):
            face = track.predicted_face(t)
            for bi in unmatched:
                score = _head_score(boxes[bi], face)
                if score is not None:
                    adopt.append((score, bi, ti))
        adopted = _assign(adopt)
        for bi, ti in adopted:
            face_only[ti].update_box(t, boxes[bi])
        taken = {bi for bi, _ in adopted}
        for bi in unmatched:
            if bi not in taken:
                track = Track(t)
                track.update_box(t, boxes[bi])
                self.active.append(track)

    def observe_faces(self, t: int, faces: list[FaceSample]) -> None:
        alive = self._alive(t)
        # First by body: the face's centre in the upper half of a tracked person's box.
        # A track that began after this face (beyond the match tolerance) cannot be its body.
        bodies = [
            tr
            for tr in alive
            if tr.box is not None
            and t - tr.box_ms <= self.occlusion_gap_ms
            and tr.first_ms <= t + self.tolerance_ms
        ]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(bodies):
            box = track.box_near(t, self.tolerance_ms)
            for fi, face in enumerate(faces):
                score = _head_score(box, face.box)
                if score is not None:
                    pairs.append((score, fi, ti))
        matched = _assign(pairs)
        for fi, ti in matched:
            bodies[ti].update_face(faces[fi], self.settings)
        done = {fi for fi, _ in matched}
        left = [fi for fi in range(len(faces)) if fi not in done]
        if not left:
            return
        # Then by the face's own motion, for faces whose body box is missing or misplaced.
        taken = {id(bodies[ti]) for _, ti in matched}
        by_face = [
            tr
            for tr in alive
            if tr.face_box is not None and id(tr) not in taken and tr.first_ms <= t + self.tolerance_ms
        ]
        pairs = []
        for ti, track in enumerate(by_face):
            predicted = track.predicted_face(t)
            for fi in left:
                score = _link_score(
                    predicted, faces[fi].box, t - track.face_ms, self.settings, _BODY_PER_FACE
                )
                if score is not None:
                    pairs.append((score, fi, ti))
        linked = _assign(pairs)
        for fi, ti in linked:
            by_face[ti].update_face(faces[fi], self.settings)
        done |= {fi for fi, _ in linked}
        for fi in left:
            if fi not in done:
                track = Track(t)
                track.update_face(faces[fi], self.settings)
                self.active.append(track)

    def expire(self, now: int) -> list[Track]:
        """Tracks no longer alive at `now`: their pass is over."""
        gap, hidden_gap = self.gap_ms, self.occlusion_gap_ms
        ended = [tr for tr in self.active if now - tr.last_ms > gap and not tr.alive_at(now, gap, hidden_gap)]
        if ended:
            gone = {id(tr) for tr in ended}
            self.active = [tr for tr in self.active if id(tr) not in gone]
        return ended

    def flush(self) -> list[Track]:
        ended, self.active = self.active, []
        return ended

    def earliest_start(self) -> int | None:
        return min((tr.first_ms for tr in self.active), default=None)
