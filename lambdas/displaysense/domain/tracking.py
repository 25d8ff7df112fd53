"""Links Person boxes and faces across timestamps into passes.

Rekognition gives boxes with no identity from one timestamp to the next, so each track predicts
where its person goes (constant velocity), gates how far they can stray, and takes the optimal
assignment on overlap within the gate (a small Hungarian method: scipy would add 130 MB to every
Lambda for a handful of people per timestamp). Faces join the track whose box holds their centre
in its upper half; docs/metrics.md, "Passes", has every rule.
"""

from __future__ import annotations

import math
from collections import Counter, deque

from displaysense.domain.detections import Box, FaceSample, new_box
from displaysense.domain.faces import FaceStats
from displaysense.domain.settings import EngineSettings

# Where a face sits in a person box before the track's own faces say otherwise: horizontally
# centred, this far down (share of the height; a head is about a seventh of a standing body).
_HEAD_Y = 0.1
# Weight of each new face in a track's estimate of where its face sits in its box.
_HEAD_ALPHA = 0.2
# Slack around a person box when placing a face in it (share of the box width), for box jitter:
# the face's centre may lie this far left, right or above the box, and down to half its height.
_FACE_SLACK = 0.1
# Two boxes of one track differ at most this much in height between samples.
_MAX_HEIGHT_RATIO = 2.0
# Weight of the newest box in a track's estimate of the body's size.
_SIZE_ALPHA = 0.3
# Weight of the newest motion in the velocity estimate.
_VELOCITY_ALPHA = 0.5
_HISTORY = 8
# Detector jitter of a box position: in body widths across, in body heights up and down (a
# box's height changes with the legs' stride and whatever hides the feet).
_JITTER_WIDTHS = 0.3
_JITTER_HEIGHTS = 0.15
# The fastest a walker changes pace: about 4 m/s^2 (a hard stop from 1.5 m/s in under half a
# second) for a body about 0.5 m wide.
_MAX_ACCEL_WIDTHS_PER_S2 = 8.0
# A face is about this many times narrower (and shorter) than the body under it, at the least;
# the gate of a face-only track is scaled by it, so it errs on the tight side.
_BODY_PER_FACE = 2.5
# Overlap (IoU with the prediction) that makes a link clear; see Tracker.observe_persons.
_CLEAR_IOU = 0.3
# Added to a link whose box holds the track's current face in its head (a clear link then).
_FACE_BONUS = 0.5
# Below this pace (body widths per second) a track may be standing and drifting with jitter.
_WALKING_WIDTHS_PER_S = 0.5
# A box within this distance of a side of the frame reaches that edge.
_EDGE = 0.01
# A walker whose predicted box has less than this share inside the frame is leaving it.
_LEAVING_SHARE = 0.5
# A missing person counts as hidden when this share of their predicted box is under another's.
_HIDDEN_SHARE = 0.4
# Distinct gaps between face timestamps remembered to find the face job's sampling interval.
_PERIOD_KEYS = 32
_box = new_box


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
        "head_x",
        "head_y",
        "height",
        "hidden_ms",
        "history",
        "last_ms",
        "moving",
        "vx",
        "vy",
        "width",
    )

    def __init__(self, t: int) -> None:
        self.first_ms = t
        self.last_ms = t
        self.hidden_ms: int | None = None  # last time the person was missing behind someone
        self.box: Box | None = None  # last Person box
        self.box_ms = t
        # the body's size, smoothed over its boxes: one box of someone else passing close does
        # not make the track that person's size
        self.width = 0.0
        self.height = 0.0
        self.vx = 0.0  # velocity of the Person box, frame ratios per ms
        self.vy = 0.0
        self.moving = False  # whether vx, vy come from two boxes yet
        self.history: deque[tuple[int, Box]] = deque(maxlen=_HISTORY)
        self.face_box: Box | None = None
        self.face_ms = t
        self.fvx = 0.0
        self.fvy = 0.0
        self.faces = FaceStats()
        # where this person's face sits in their box (shares of its width and height)
        self.head_x = 0.5
        self.head_y = _HEAD_Y

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

    @property
    def led_by_face(self) -> bool:
        """Whether the face was seen after the body: the body was missed since."""
        return self.face_box is not None and self.face_ms > self.box_ms

    @property
    def velocity(self) -> tuple[float, float]:
        """The person's motion: the body's once it has two boxes, unless the face has been seen
        since (faces are often sampled more often) or the body has no velocity yet."""
        if self.faces.samples > 1 and (self.led_by_face or not self.moving):
            return (self.fvx, self.fvy)
        return (self.vx, self.vy)

    @property
    def knows_velocity(self) -> bool:
        return self.moving or self.faces.samples > 1

    def predicted_box(self, t: int) -> Box:
        assert self.box is not None
        vx, vy = self.velocity
        if self.led_by_face:
            assert self.face_box is not None
            # The body was missed since the face was last seen: the face says where it went.
            w, h = self.width, self.height
            dt = t - self.face_ms
            fl, ft, fw, fh = self.face_box
            cx, cy = fl + fw / 2 + vx * dt, ft + fh / 2 + vy * dt
            return _box((cx - self.head_x * w, cy - self.head_y * h, w, h))
        dt = t - self.box_ms
        bl, bt, bw, bh = self.box
        w, h = self.width, self.height
        return _box((bl + (bw - w) / 2 + vx * dt, bt + (bh - h) / 2 + vy * dt, w, h))

    def last_seen_ms(self) -> int:
        """When the prediction was last anchored to an observation (body, or face leading it)."""
        return self.face_ms if self.led_by_face else self.box_ms

    def leaving(self, predicted: Box) -> tuple[float, float] | None:
        """For a walker leaving the frame (predicted at `predicted` now), the boxes it cannot take:
        (ux, behind), those whose centre x satisfies ux * x < behind, where ux is the heading
        (+1 right, -1 left) and behind is +inf once the walker's predicted box is wholly outside.
        None when the walker is not leaving.

        A box appearing behind a walker who is stepping out of view is someone else: typically a
        person entering at the edge where the walker just left; and a walker whose predicted box
        is wholly outside the frame has left it (a pass is continuous presence in view). Inside
        the frame, where people stop, mill about and swap places in a crowd, the rule does not
        apply. The heading is taken over the recent boxes, so one wrong link does not turn it
        round, and across only: people leave through the side edges, and the centres of the
        boxes also move up and down as their heights change, which would tilt the line.
        """
        if self.box is None or len(self.history) < 3:
            return None
        (t0, first), (t1, last) = self.history[0], self.history[-1]
        left, _, width, _ = predicted
        inside = left > 0 and left + width < 1 and last.left > _EDGE and last.right < 1 - _EDGE
        # in the frame, and so is the prediction: the common case, decided cheaply
        if inside or t1 <= t0:
            return None
        vx = (last.center_x - first.center_x) / (t1 - t0)
        if abs(vx) * 1000 < _WALKING_WIDTHS_PER_S * last.width:
            return None
        visible = min(1.0, predicted.right) - max(0.0, predicted.left)
        # Leaving: most of the predicted box is out of the frame, or the last box already reaches
        # the edge it is heading for (detectors that clip boxes at the frame edge report a person
        # stepping out as a box that shrinks there instead of one that moves out).
        at_edge = last.left <= _EDGE if vx < 0 else last.right >= 1 - _EDGE
        if visible >= _LEAVING_SHARE * predicted.width and not at_edge:
            return None
        ux = 1.0 if vx > 0 else -1.0
        if visible <= 0:
            return (ux, math.inf)
        lead = max(b.center_x * ux for _, b in self.history)
        return (ux, lead - _JITTER_WIDTHS * last.width)

    def box_near(self, t: int, tolerance_ms: int) -> tuple[Box, bool]:
        """The Person box at time t: the observation nearest in time, moved along the motion, and
        whether it is a close estimate (observed then, or moved along a known velocity)."""
        best: tuple[int, Box] | None = None
        best_gap = tolerance_ms + 1
        for observed_ms, box in reversed(self.history):
            gap = abs(observed_ms - t)
            if gap < best_gap:
                best, best_gap = (observed_ms, box), gap
            elif observed_ms < t:
                break  # the history is in time order: older boxes are further away
        if best is None:
            return (self.predicted_box(t), False)
        dt = t - best[0]
        vx, vy = self.velocity
        return (best[1].shifted(vx * dt, vy * dt), dt == 0 or self.knows_velocity)

    def predicted_face(self, t: int) -> Box:
        """Where the face will be: moved by its own motion, or the body's until it has one.

        The body lends only its motion across: its vertical velocity comes from boxes whose ends
        jitter by a share of the body's height, more than the face gate (in face sizes) allows,
        and a walker's head hardly moves up or down.
        """
        assert self.face_box is not None
        dt = t - self.face_ms
        fl, ft, fw, fh = self.face_box
        if self.faces.samples < 2 and self.moving:
            return _box((fl + self.vx * dt, ft, fw, fh))
        return _box((fl + self.fvx * dt, ft + self.fvy * dt, fw, fh))

    def update_box(self, t: int, box: Box) -> None:
        if self.box is not None and t > self.box_ms:
            dt = t - self.box_ms
            (nl, nt, nw, nh), (ol, ot, ow, oh) = box, self.box
            # Up and down, the person moves as the end of the box that moved less: a detector's
            # box changes height at one end (legs in a stride, feet hidden or cut off by the
            # frame, an upper-body window) while the person hardly moves vertically; the centre
            # would move by half of that change and send the prediction off.
            dtop, dbottom = nt - ot, nt + nh - ot - oh
            vx, vy = (nl - ol + (nw - ow) / 2) / dt, (dtop if abs(dtop) <= abs(dbottom) else dbottom) / dt
            if self.moving:
                vx += (1 - _VELOCITY_ALPHA) * (self.vx - vx)
                vy += (1 - _VELOCITY_ALPHA) * (self.vy - vy)
            self.vx, self.vy = vx, vy
            self.moving = True
        if self.box is None:
            self.width, self.height = box.width, box.height
        else:
            self.width += _SIZE_ALPHA * (box.width - self.width)
            self.height += _SIZE_ALPHA * (box.height - self.height)
        if self.box is None or t >= self.box_ms:
            self.box, self.box_ms = box, t
        self.history.append((t, box))
        self.hidden_ms = None
        self.seen(t)

    def update_face(self, face: FaceSample, settings: EngineSettings, body: Box | None = None) -> None:
        """Add a face; `body` is the person box it was placed in, if any."""
        t = face.timestamp_ms
        fl, ft, fw, fh = face.box
        cx, cy = fl + fw / 2, ft + fh / 2
        if self.face_box is not None and t > self.face_ms:
            dt = t - self.face_ms
            ol, ot, ow, oh = self.face_box
            self.fvx += _VELOCITY_ALPHA * ((cx - ol - ow / 2) / dt - self.fvx)
            self.fvy += _VELOCITY_ALPHA * ((cy - ot - oh / 2) / dt - self.fvy)
        if self.face_box is None or t >= self.face_ms:
            self.face_box, self.face_ms = face.box, t
        if body is not None:
            self.head_x += _HEAD_ALPHA * ((cx - body.left) / body.width - self.head_x)
            self.head_y += _HEAD_ALPHA * ((cy - body.top) / body.height - self.head_y)
        self.faces.add(face, settings)
        self.seen(t)

    def absorb(self, other: Track, settings: EngineSettings) -> None:
        """Take over a face-only track that turned out to be this person's face."""
        self.faces.merge(other.faces, settings)
        if other.face_box is not None and (self.face_box is None or other.face_ms > self.face_ms):
            self.face_box, self.face_ms = other.face_box, other.face_ms
            self.fvx, self.fvy = other.fvx, other.fvy
        self.first_ms = min(self.first_ms, other.first_ms)
        self.last_ms = max(self.last_ms, other.last_ms)


def _reach_of_box(track: Track, t: int) -> float:
    """How far from its last box's centre a face of this track's person can be at time t, across:
    half the box and the slack, plus the walk since (a loose bound, to skip far bodies cheaply)."""
    assert track.box is not None
    dt = abs(t - min(track.box_ms, track.face_ms if track.face_box is not None else track.box_ms))
    walk = max(abs(track.vx), abs(track.fvx)) * dt + track.box.width * 4 * dt / 1000
    return track.box.width * (0.5 + _FACE_SLACK) + track.width + walk


class _Gate:
    """Where a track's next observation may lie, and how well one that does continues it.

    The observation must lie within the distance a person could have strayed from the prediction
    in the time between, plus box jitter. With no velocity yet (a track seen once), that is
    anywhere a brisk walk reaches (`max_speed_widths_per_s`). With a velocity, a person cannot
    change it faster than a hard stop or a quick start does, so the stray grows with the square
    of the time: a walker does not turn, from one sample to the next, into someone walking the
    other way, which is what an exit and an entry at one edge, or two people passing close, look
    like. Within the gate, overlap scores in [min_iou, 1]; a match without overlap scores below
    min_iou, so any overlap is preferred. Jitter scales with the box itself; the stray with the
    body, `body_scale` times the box's width (faces are narrower than bodies, and move with them).
    A person box of another height than the prediction (`partial`: body gates, not faces) also
    continues the track when its top is where the prediction puts it: a detector's box of one
    person loses or regains the legs from one sample to the next (hidden behind someone or
    something, cut off by the frame, an upper-body window) and keeps the head, while its centre
    moves by half the part. The bottom is no such evidence: everyone at about the same distance
    stands on the same floor line, whatever their height.
    Built once per track and timestamp: `score` is the tracker's innermost loop.
    """

    __slots__ = ("cx", "cy", "height", "left", "min_iou", "partial", "reach_x", "reach_y", "top", "width")

    def __init__(
        self,
        predicted: Box,
        dt_ms: int,
        settings: EngineSettings,
        body_scale: float = 1.0,
        known_velocity: bool = False,
        partial: bool = False,
    ) -> None:
        self.left, self.top, self.width, self.height = predicted
        self.partial = partial
        self.cx, self.cy = self.left + self.width / 2, self.top + self.height / 2
        self.min_iou = settings.min_iou
        dt = abs(dt_ms) / 1000
        stray = settings.max_speed_widths_per_s * dt
        if known_velocity:
            # the velocity itself lags the person by about one sampling interval (taken as dt),
            # so a change of pace shows as a * dt * (dt + dt / 2)
            stray = min(stray, 1.5 * _MAX_ACCEL_WIDTHS_PER_S2 * dt * dt)
        # in the track's own sizes: a bigger box passing by is not easier to take for it
        body = body_scale * self.width
        # Across: jitter plus the walk, which a face shares with its body. Up and down: jitter
        # plus the stray in the box's own widths: walking towards or away from the camera moves
        # a box in the image in proportion to its own size (perspective), so a face does not
        # drop by half a body's width while its body walks on.
        self.reach_x = self.width * _JITTER_WIDTHS + body * stray
        self.reach_y = self.height * _JITTER_HEIGHTS + self.width * stray

    def score(self, observed: Box) -> float | None:
        """How well `observed` continues the track, or None when it cannot be the same person."""
        ol, ot, ow, oh = observed
        ratio = oh / self.height
        if not 1 / _MAX_HEIGHT_RATIO <= ratio <= _MAX_HEIGHT_RATIO or self.reach_x <= 0 or self.reach_y <= 0:
            return None
        ex = (self.cx - ol - ow / 2) / self.reach_x
        ex *= ex
        if ex > 1:
            return None
        ey = (self.cy - ot - oh / 2) / self.reach_y
        off = ex + ey * ey
        if off > 1:
            if not self.partial:
                return None
            # the box kept its top, the head (see the class docstring)
            top = (self.top - ot) / self.reach_y
            off = ex + top * top
            if off > 1:
                return None
        # overlap, with conditional expressions rather than min() and max(): the innermost loop
        pl, pt, pw, ph = self.left, self.top, self.width, self.height
        pr, orr, pb, ob = pl + pw, ol + ow, pt + ph, ot + oh
        w = (pr if pr < orr else orr) - (pl if pl > ol else ol)
        h = (pb if pb < ob else ob) - (pt if pt > ot else ot)
        iou = 0.0
        if w > 0 and h > 0:
            inter = w * h
            iou = inter / (pw * ph + ow * oh - inter)
        if iou >= self.min_iou:
            # scaled by how well the height is kept: someone much taller overlapping a person's
            # place is more likely someone else than the same person measured differently
            kept = iou * (ratio if ratio < 1 else 1 / ratio)
            return kept if kept > self.min_iou else self.min_iou
        return self.min_iou * (1 - math.sqrt(off)) * 0.999


def _head_score(person: Box, face: Box, head_x: float = 0.5, head_y: float = _HEAD_Y) -> float | None:
    """Closeness of a face to the head position of a person box; None when outside its upper half.

    The face's centre must lie within the box widened by `_FACE_SLACK` box widths on the left,
    right and top, and no lower than half the box's height. Among the boxes that pass, the one
    whose head position (`head_x`, `head_y`: shares of its width and height) is nearest wins.
    """
    left, top, width, height = person
    fl, ft, fw, fh = face
    slack = _FACE_SLACK * width
    cx, cy = fl + fw / 2, ft + fh / 2
    if not (left - slack <= cx <= left + width + slack and top - slack <= cy <= top + height / 2):
        return None
    dx = (cx - left) / width - head_x
    dy = (cy - top) / height - head_y
    return -(dx * dx + dy * dy)


def _covered(box: Box, by: Box) -> bool:
    w = min(box.right, by.right) - max(box.left, by.left)
    h = min(box.bottom, by.bottom) - max(box.top, by.top)
    return w > 0 and h > 0 and w * h >= _HIDDEN_SHARE * box.width * box.height


def _assign(pairs: list[tuple[float, int, int]], baseline: float | None = None) -> list[tuple[int, int]]:
    """An optimal assignment of the pairs (score, a, b): each a and each b in one pair at most.

    Without a baseline: the most links and, among those, the highest total score. With one: the
    highest total of (score - baseline), where leaving an a or a b unlinked is worth 0, so a
    pair scoring below the baseline never links and two middling links do not outweigh one good
    one. Hungarian method (Kuhn-Munkres, O(n^2 m)) on the few detections and tracks of one
    timestamp. Greedy best-first is not enough: when one person stops beside a walking companion,
    the walker's prediction overlaps the stopper best, and greedy would hand it over and lose a
    track.
    """
    if baseline is not None:
        pairs = [(score - baseline, a, b) for score, a, b in pairs if score > baseline]
    if len(pairs) <= 1:
        return [(a, b) for _, a, b in pairs]
    rows = sorted({a for _, a, _ in pairs})
    cols = sorted({b for _, _, b in pairs})
    if len(rows) == len(cols) == len(pairs):
        # no two pairs share an a or a b: taking them all is optimal (the common case)
        return sorted((a, b) for _, a, b in pairs)
    row_at = {a: i for i, a in enumerate(rows)}
    col_at = {b: j for j, b in enumerate(cols)}
    if len(rows) == 1 or len(cols) == 1:
        # one detection or one track: the single best pair is the assignment
        best = max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
        return [(best[1], best[2])]
    forbidden = 1e6  # a pair that may not link: used only when nothing else is left
    transpose = len(rows) > len(cols)
    n, m = (len(cols), len(rows)) if transpose else (len(rows), len(cols))
    # with a baseline, each row may also stay unlinked, at no cost (one spare column per row)
    spare = n if baseline is not None else 0
    cost = [[forbidden] * m + [0.0] * spare for _ in range(n)]
    for score, a, b in pairs:
        i, j = row_at[a], col_at[b]
        if transpose:
            i, j = j, i
        cost[i][j] = -score
    chosen = []
    for i, j in _hungarian(cost):
        if j < m and cost[i][j] < forbidden:
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
        self._last_face_ms: int | None = None
        self._face_gaps: Counter[int] = Counter()
        self._last_persons_ms = -1  # the latest timestamp with Person boxes
        self._no_end_before = -1

    def face_period_ms(self) -> int:
        """The face job's sampling interval so far: the commonest gap between face timestamps."""
        if not self._face_gaps:
            return 0
        gap = max(self._face_gaps, key=lambda g: (self._face_gaps[g], -g))
        return min(gap, self.gap_ms)

    def _alive(self, t: int) -> list[Track]:
        gap, hidden_gap = self.gap_ms, self.occlusion_gap_ms
        return [tr for tr in self.active if t - tr.last_ms <= gap or tr.alive_at(t, gap, hidden_gap)]

    def observe_persons(self, t: int, boxes: list[Box]) -> None:
        self._last_persons_ms = max(self._last_persons_ms, t)
        alive = self._alive(t)
        with_box = [tr for tr in alive if tr.box is not None]
        pairs: list[tuple[float, int, int]] = []
        contested = len(boxes) > 1 or len(with_box) > 1
        for ti, track in enumerate(with_box):
            predicted = track.predicted_box(t)
            gate = _Gate(predicted, t - track.last_seen_ms(), self.settings, 1.0, track.knows_velocity, True)
            # the face says which box is whose only where there is a choice
            anchor = self._face_anchor(track, t, boxes) if contested else None
            leaving = track.leaving(predicted)
            for bi, box in enumerate(boxes):
                # a walker stepping out of view does not walk back to take a box behind it
                if leaving is not None and box.center_x * leaving[0] < leaving[1]:
                    continue
                score = gate.score(box)
                if score is not None:
                    pairs.append((score + (_FACE_BONUS if bi == anchor else 0.0), bi, ti))
        # Clear overlaps first, where one good link outweighs two middling ones: in a crowd, a
        # box half over a hidden person's predicted place is more likely the person in front.
        # Then whatever the gate still allows among the tracks and boxes left.
        matched = _assign(pairs, _CLEAR_IOU)
        if len(matched) < min(len(boxes), len(with_box)):
            used_b, used_t = {bi for bi, _ in matched}, {ti for _, ti in matched}
            matched += _assign([p for p in pairs if p[1] not in used_b and p[2] not in used_t])
        for bi, ti in matched:
            with_box[ti].update_box(t, boxes[bi])
        # A missing person whose predicted box is under someone else's is hidden, not gone. Only
        # a track with a trajectory qualifies: a box seen once and then covered is as likely a
        # stray detection, and with no velocity its gate would reach anywhere by the time the
        # occlusion gap ran out.
        linked = {ti for _, ti in matched}
        for ti, track in enumerate(with_box):
            if (
                ti not in linked
                and track.knows_velocity
                and any(_covered(track.predicted_box(t), box) for box in boxes)
            ):
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

    def _face_anchor(self, track: Track, t: int, boxes: list[Box]) -> int | None:
        """The box whose head holds the track's face seen about now, if any: faces are sampled
        apart from the bodies and are small and distinct, so where a crossing or a group leaves
        the boxes ambiguous, the face says which box is this person's."""
        if track.face_box is None or abs(t - track.face_ms) > self.tolerance_ms:
            return None
        face = track.predicted_face(t)
        scored = [
            (score, bi)
            for bi, box in enumerate(boxes)
            if (score := _head_score(box, face, track.head_x, track.head_y)) is not None
        ]
        return max(scored)[1] if scored else None

    def _note_face_time(self, t: int) -> None:
        """Count the gap since the previous face timestamp, for the face job's sampling interval."""
        if self._last_face_ms is not None and t > self._last_face_ms:
            gap = t - self._last_face_ms
            if gap in self._face_gaps or len(self._face_gaps) < _PERIOD_KEYS:
                self._face_gaps[gap] += 1
        if self._last_face_ms is None or t > self._last_face_ms:
            self._last_face_ms = t

    def observe_faces(self, t: int, faces: list[FaceSample]) -> None:
        self._note_face_time(t)
        # A track that began after this face (beyond the match tolerance) cannot be its person.
        # One pass over the tracks: this runs for every face timestamp.
        gap, hidden_gap, latest_start = self.gap_ms, self.occlusion_gap_ms, t + self.tolerance_ms
        alive: list[Track] = []
        with_face: list[Track] = []
        face_only = False
        for tr in self.active:
            if tr.first_ms > latest_start or not (t - tr.last_ms <= gap or tr.alive_at(t, gap, hidden_gap)):
                continue
            alive.append(tr)
            if tr.box is None:
                face_only = True
            # First the face's own continuity (below): tracks with a recent face and a velocity.
            if tr.face_box is not None and t - tr.face_ms <= gap and tr.knows_velocity:
                with_face.append(tr)
        settings = self.settings
        given: dict[int, Track] = {}  # face index -> the track it went to

        # First the face's own continuity, where the predicted face clearly overlaps the new one:
        # faces are small and far apart next to bodies, so in a group this tells people apart
        # better than which box a face falls in.
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(with_face):
            predicted = track.predicted_face(t)
            pl, pt, pw, ph = predicted
            px, py = pl + pw / 2, pt + ph / 2
            gate: _Gate | None = None
            for fi, face in enumerate(faces):
                fl, ft, fw, fh = face.box
                # a clear link overlaps: a face further than a box size away cannot be one
                if abs(fl + fw / 2 - px) >= (pw + fw) / 2 or abs(ft + fh / 2 - py) >= (ph + fh) / 2:
                    continue
                if gate is None:
                    gate = self._face_gate(track, t, predicted)
                score = gate.score(face.box)
                if score is not None:
                    pairs.append((score, fi, ti))
        for fi, ti in _assign(pairs, _CLEAR_IOU):
            with_face[ti].update_face(faces[fi], settings)
            given[fi] = with_face[ti]
        left = [fi for fi in range(len(faces)) if fi not in given]
        if left:
            self._place_in_bodies(t, faces, left, alive, given)
        if left:
            self._link_by_face_motion(t, faces, left, alive, given)
        if face_only or any(tr.box is None for tr in given.values()):
            self._join_face_only(t, faces, given, alive)

    def _link_by_face_motion(
        self, t: int, faces: list[FaceSample], left: list[int], alive: list[Track], given: dict[int, Track]
    ) -> None:
        """The faces left, by the face's own motion, for faces whose body box is missing (a track
        whose body was in the latest Person boxes, without this face in its upper half, is someone
        else); a face that continues no track starts a face-only one."""
        taken = {id(tr) for tr in given.values()}
        by_face = [
            tr
            for tr in alive
            if tr.face_box is not None
            and id(tr) not in taken
            and (tr.box is None or tr.box_ms < self._last_persons_ms)
        ]
        pairs = []
        for ti, track in enumerate(by_face):
            gate = self._face_gate(track, t)
            for fi in left:
                score = gate.score(faces[fi].box)
                if score is not None:
                    pairs.append((score, fi, ti))
        for fi, ti in _assign(pairs):
            by_face[ti].update_face(faces[fi], self.settings)
            given[fi] = by_face[ti]
        for fi in left:
            if fi not in given:
                track = Track(t)
                self.active.append(track)
                track.update_face(faces[fi], self.settings)
                given[fi] = track

    def _place_in_bodies(
        self, t: int, faces: list[FaceSample], left: list[int], alive: list[Track], given: dict[int, Track]
    ) -> None:
        """Faces by body: the face's centre in the upper half of a tracked person's box. Faces
        placed are removed from `left` and entered in `given`."""
        taken = {id(tr) for tr in given.values()}
        centres = [faces[fi].box.center_x for fi in left]
        bodies: list[Track] = []
        for tr in alive:
            if tr.box is None or id(tr) in taken or t - tr.box_ms > self.occlusion_gap_ms:
                continue
            x, reach = tr.box.center_x, _reach_of_box(tr, t)
            if any(abs(cx - x) <= reach for cx in centres):
                bodies.append(tr)
        near = [tr.box_near(t, self.tolerance_ms) for tr in bodies]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(bodies):
            box = near[ti][0]
            # A body whose face was seen just before takes only a face that continues it: faces
            # do not jump, a second face in the box is someone else's.
            recent = track.face_box is not None and t - track.face_ms <= self.gap_ms and track.knows_velocity
            face_gate = self._face_gate(track, t) if recent else None
            for fi in left:
                score = _head_score(box, faces[fi].box, track.head_x, track.head_y)
                if score is None:
                    continue
                if face_gate is not None and face_gate.score(faces[fi].box) is None:
                    continue
                pairs.append((score, fi, ti))
        for fi, ti in _assign(pairs):
            box, close = near[ti]
            bodies[ti].update_face(faces[fi], self.settings, box if close else None)
            given[fi] = bodies[ti]
            left.remove(fi)

    def _face_gate(self, track: Track, t: int, predicted: Box | None = None) -> _Gate:
        """The gate of a track's face at time t. A face moves as far as its body does: the gate
        is in body widths, the track's own body when it has one, else the least a body is wider
        than a face."""
        if predicted is None:
            predicted = track.predicted_face(t)
        body_scale = _BODY_PER_FACE
        if track.box is not None:
            body_scale = max(body_scale, track.box.width / predicted.width)
        return _Gate(predicted, t - track.face_ms, self.settings, body_scale, track.knows_velocity)

    def _join_face_only(
        self, t: int, faces: list[FaceSample], given: dict[int, Track], alive: list[Track]
    ) -> None:
        """Face-only tracks that turn out to be the face of a tracked body join that body's track.

        Two cases. A face-only track that got no face now, whose face continues into a face placed
        in a body track (it was seen before the body was detected, or while it was missed). And a
        face-only track whose face now sits in the upper half of a body track that has never had
        a face of its own. A face-only track next to a body that has its own face is someone else
        (a person hidden behind another, a face above someone's shoulder).
        """
        taken = {id(tr) for tr in given.values()}
        joins: list[tuple[Track, Track]] = []  # (body track, face-only track it takes over)
        placed = [(fi, tr) for fi, tr in given.items() if tr.box is not None]
        orphans = [tr for tr in alive if tr.box is None and id(tr) not in taken and tr.face_ms < t]
        if placed and orphans:
            pairs: list[tuple[float, int, int]] = []
            for oi, orphan in enumerate(orphans):
                gate = self._face_gate(orphan, t)
                for pi, (fi, _) in enumerate(placed):
                    score = gate.score(faces[fi].box)
                    if score is not None:
                        pairs.append((score, oi, pi))
            joins += [(placed[pi][1], orphans[oi]) for oi, pi in _assign(pairs)]
        lone = [(fi, tr) for fi, tr in given.items() if tr.box is None]
        faceless = [
            (tr, box)
            for tr in (alive if lone else ())
            if tr.box is not None and tr.faces.samples == 0 and t - tr.box_ms <= self.occlusion_gap_ms
            for box, close in (tr.box_near(t, self.tolerance_ms),)
            if close
        ]
        if faceless:
            pairs = []
            for bi, (body, box) in enumerate(faceless):
                for li, (fi, _) in enumerate(lone):
                    score = _head_score(box, faces[fi].box, body.head_x, body.head_y)
                    if score is not None:
                        pairs.append((score, bi, li))
            joins += [(faceless[bi][0], lone[li][1]) for bi, li in _assign(pairs)]
        if not joins:
            return
        for body, face_only in joins:
            body.absorb(face_only, self.settings)
        gone = {id(face_only) for _, face_only in joins}
        self.active = [tr for tr in self.active if id(tr) not in gone]

    def expire(self, now: int) -> list[Track]:
        """Tracks no longer alive at `now`: their pass is over."""
        # No track can end before the earliest last sighting plus the gap: most timestamps end
        # nothing, and this skips looking (a track seen since only moves that time later).
        if now <= self._no_end_before:
            return []
        gap, hidden_gap = self.gap_ms, self.occlusion_gap_ms
        ended = [tr for tr in self.active if now - tr.last_ms > gap and not tr.alive_at(now, gap, hidden_gap)]
        if ended:
            gone = {id(tr) for tr in ended}
            self.active = [tr for tr in self.active if id(tr) not in gone]
        self._no_end_before = min((tr.last_ms for tr in self.active), default=now) + gap
        return ended

    def flush(self) -> list[Track]:
        ended, self.active = self.active, []
        return ended

    def earliest_start(self) -> int | None:
        return min((tr.first_ms for tr in self.active), default=None)
