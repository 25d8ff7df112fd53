"""Passes from hand-made scenes: the tracking cases a storefront produces."""

from collections import defaultdict

from displaysense.domain.engine import PassList, analyze
from displaysense.domain.settings import EngineSettings

from tests.support.pages import face_entry, faces_page, label_entry, labels_page, person, walker

SETTINGS = EngineSettings()


def run(label_entries, face_entries=None, settings=SETTINGS):
    sink = PassList()
    metrics = analyze(
        labels=[labels_page(sorted(label_entries, key=lambda e: e["Timestamp"]))] if label_entries else None,
        faces=[faces_page(face_entries)] if face_entries is not None else None,
        settings=settings,
        pass_sink=sink,
    )
    return metrics, sorted(sink.records, key=lambda r: r.start_ms)


def merge_timestamps(*streams):
    """One label entry per timestamp holding every person in view then."""
    by_t = defaultdict(list)
    for stream in streams:
        for entry in stream:
            by_t[entry["Timestamp"]].extend(entry["Label"]["Instances"])
    return [label_entry(t, *instances) for t, instances in sorted(by_t.items())]


def test_one_walker_is_one_pass_with_its_dwell():
    _, passes = run(walker(0, 4000, 0.0, 0.2))
    assert len(passes) == 1
    assert passes[0].dwell_ms == 4000 and not passes[0].dweller


def test_missed_detections_within_the_gap_do_not_split_a_pass():
    entries = [e for e in walker(0, 6000, 0.0, 0.12) if e["Timestamp"] not in (2000, 2200, 2400, 2600)]
    _, passes = run(entries)
    assert len(passes) == 1
    entries = [e for e in walker(0, 6000, 0.0, 0.12) if not 2000 <= e["Timestamp"] <= 3400]
    _, passes = run(entries)
    assert len(passes) == 2  # 1.6 s gap > track_gap_s


def test_short_false_positives_are_noise():
    _, passes = run([label_entry(1000, person(0.5)), label_entry(1200, person(0.5))])
    assert passes == []


def test_two_people_crossing_stay_two_passes():
    left_to_right = walker(0, 5000, 0.0, 0.17)
    right_to_left = walker(0, 5000, 0.85, -0.17)
    _, passes = run(merge_timestamps(left_to_right, right_to_left))
    assert len(passes) == 2
    assert all(p.dwell_ms == 5000 for p in passes)


def test_a_group_walking_abreast_is_one_pass_each():
    a = walker(0, 5000, 0.00, 0.15)
    b = walker(0, 5000, 0.12, 0.15)  # boxes overlap: 0.15 wide, 0.12 apart
    c = walker(0, 5000, 0.24, 0.15)
    _, passes = run(merge_timestamps(a, b, c))
    assert len(passes) == 3


def test_a_stopper_beside_a_walking_companion_keeps_its_track():
    walking = walker(0, 6000, 0.1, 0.12)
    stopping = [label_entry(t, person(0.25 + 0.12 * min(t, 1500) / 1000)) for t in range(0, 12001, 200)]
    _, passes = run(merge_timestamps(walking, stopping))
    assert sorted(p.dwell_ms for p in passes) == [6000, 12000]
    assert [p.dweller for p in passes].count(True) == 2


def test_a_person_leaving_while_another_enters_at_the_same_edge_are_two_passes():
    leaving = walker(0, 3000, 0.3, 0.25)  # reaches the right edge at 3 s
    entering = walker(3200, 6200, 0.85, -0.25)
    _, passes = run(merge_timestamps(leaving, entering))
    assert len(passes) == 2


def test_faces_attach_to_the_body_and_count_attention():
    labels = walker(0, 4000, 0.2, 0.05)
    faces = [face_entry(t + 40, 0.2 + 0.05 * t / 1000 + 0.05, yaw=5.0) for t in range(0, 4001, 200)]
    _, passes = run(labels, faces)
    assert len(passes) == 1
    assert passes[0].face_samples == 21 and passes[0].impression
    # 21 looking samples, each standing for the 200 ms face sampling interval
    assert passes[0].attention_ms == 21 * 200


def test_a_face_without_a_body_is_a_face_only_pass():
    faces = [face_entry(t, 0.6, yaw=0.0) for t in range(0, 3001, 200)]
    _, passes = run(walker(0, 3000, 0.0, 0.05), faces)
    assert sorted(p.source for p in passes) == ["face", "person"]


def test_a_face_seen_before_the_body_is_adopted_by_it():
    faces = [face_entry(t, 0.55) for t in range(0, 3001, 200)]
    labels = [label_entry(t, person(0.5)) for t in range(1000, 3001, 200)]
    _, passes = run(labels, faces)
    assert len(passes) == 1
    assert passes[0].source == "person" and passes[0].start_ms == 0


def test_faces_keep_a_pass_alive_while_the_body_is_missed():
    labels = [label_entry(t, person(0.5)) for t in (*range(0, 1001, 200), *range(3000, 4001, 200))]
    faces = [face_entry(t, 0.55) for t in range(0, 4001, 200)]
    _, passes = run(labels, faces)
    assert len(passes) == 1 and passes[0].dwell_ms == 4000


def test_a_person_hidden_behind_another_stays_one_pass():
    standing = [label_entry(t, person(0.5, height=0.55, top=0.25)) for t in range(0, 8001, 200)]
    passer = walker(0, 8000, -0.1, 0.15)
    entries = merge_timestamps(passer, standing)
    # while the nearer walker covers the stander (about 3.3 s to 4.7 s), the stander is not detected
    for entry in entries:
        t = entry["Timestamp"]
        if 3200 <= t <= 5200:
            entry["Label"]["Instances"] = [
                i for i in entry["Label"]["Instances"] if i["BoundingBox"]["Height"] > 0.6
            ]
    _, passes = run(entries)
    assert len(passes) == 2
    assert max(p.dwell_ms for p in passes) == 8000


def test_a_face_in_the_lower_half_of_a_person_box_is_not_that_persons():
    # the box spans 0.2 to 0.85 in height: its upper half ends at 0.525
    labels = walker(0, 3000, 0.3, 0.0)
    low = [face_entry(t, 0.35, top=0.56) for t in range(0, 3001, 200)]  # centre at 0.605
    _, passes = run(labels, low)
    assert sorted((p.source, p.face_samples) for p in passes) == [("face", 16), ("person", 0)]
    high = [face_entry(t, 0.35, top=0.25) for t in range(0, 3001, 200)]  # centre at 0.295
    _, passes = run(labels, high)
    assert [(p.source, p.face_samples) for p in passes] == [("person", 16)]


def test_a_face_just_outside_the_box_is_within_the_slack():
    # box from 0.3 to 0.45 wide; the slack is a tenth of its width (0.015) on each side
    labels = walker(0, 3000, 0.3, 0.0)
    inside = [face_entry(t, 0.28, top=0.25) for t in range(0, 3001, 200)]  # centre 0.305
    _, passes = run(labels, inside)
    assert [p.source for p in passes] == ["person"]
    outside = [face_entry(t, 0.44, top=0.25) for t in range(0, 3001, 200)]  # centre 0.465
    _, passes = run(labels, outside)
    assert sorted(p.source for p in passes) == ["face", "person"]


def test_an_exit_and_an_entry_at_one_edge_with_clipped_boxes_are_two_passes():
    """Detectors that clip boxes at the frame edge show a person stepping out as a box that
    shrinks against the edge; someone entering there a moment later must not continue it."""

    def clipped(left, width=0.15):
        return person(max(0.0, left), width=min(left + width, width) if left < 0 else width)

    leaving = [label_entry(t, clipped(0.3 - 0.25 * t / 1000)) for t in range(0, 1801, 200)]
    entering = [label_entry(t, clipped(-0.1 + 0.25 * (t - 2000) / 1000)) for t in range(2000, 5001, 200)]
    _, passes = run(merge_timestamps(leaving, entering))
    assert len(passes) == 2


def test_a_walker_does_not_turn_into_someone_walking_the_other_way():
    # two walkers pass at the same place from opposite sides; one is missed while they overlap
    a = walker(0, 4000, 0.05, 0.2)
    b = walker(0, 4000, 0.8, -0.2)
    entries = merge_timestamps(a, b)
    for entry in entries:
        if 1600 <= entry["Timestamp"] <= 2200:
            entry["Label"]["Instances"] = entry["Label"]["Instances"][:1]
    _, passes = run(entries)
    assert len(passes) == 2
    assert all(p.dwell_ms >= 3800 for p in passes)


def test_a_box_seen_once_and_then_covered_is_not_kept_alive_by_the_occlusion_rule():
    # a stray box at 1000 ms under a walker; nothing there again until a box far away at 2600 ms
    walking = walker(0, 4000, 0.1, 0.15)
    stray = [label_entry(1000, person(0.25, height=0.55, top=0.3))]
    far = [label_entry(t, person(0.8)) for t in range(2600, 4001, 200)]
    _, passes = run(merge_timestamps(walking, stray, far))
    assert sorted(p.start_ms for p in passes) == [0, 2600]


def test_a_box_that_loses_its_legs_for_one_sample_continues_the_pass():
    """An upper-body window between full ones: the box's centre jumps up and back by half the
    legs, the person does not; the vertical motion is that of the end that stayed (the top)."""
    entries = [
        label_entry(t, person(0.1 + 0.1 * t / 1000, top=0.15, height=0.45 if t == 1000 else 0.8))
        for t in range(0, 4001, 200)
    ]
    _, passes = run(entries)
    assert [(p.start_ms, p.end_ms) for p in passes] == [(0, 4000)]


def test_a_person_whose_legs_are_hidden_for_a_while_stays_one_pass():
    """Legs hidden for a second (behind a counter, someone in front): boxes half as tall with the
    head where it was continue the track by their top, not by their centre."""
    entries = [
        label_entry(t, person(0.1 + 0.1 * t / 1000, top=0.15, height=0.45 if 1000 <= t <= 1800 else 0.8))
        for t in range(0, 4001, 200)
    ]
    _, passes = run(entries)
    assert [(p.start_ms, p.end_ms) for p in passes] == [(0, 4000)]


def test_a_face_seen_once_moves_with_its_body_across_only():
    """A person stepping into view: a legs window, then an upper-body one, then whole boxes, so
    both ends of the first boxes move up while the head stays; the second face is still the
    first one's person, not a face-only pass of its own."""
    boxes = {0: (0.4, 0.6), 200: (0.195, 0.63)}
    entries, faces = [], []
    for t in range(0, 3001, 200):
        left = 0.76 - 0.1 * t / 1000
        top, height = boxes.get(t, (0.165, 0.83))
        entries.append(label_entry(t, person(left, top=top, width=0.15, height=height)))
        if t:
            face = face_entry(t, left + 0.055, top=0.21)
            face["Face"]["BoundingBox"].update(Width=0.036, Height=0.064)
            faces.append(face)
    _, passes = run(entries, faces)
    assert [(p.start_ms, p.end_ms, p.face_samples, p.source) for p in passes] == [(0, 3000, 15, "person")]


def test_a_walker_stepping_out_while_the_box_changes_height_is_one_pass():
    """At the edge, clipped boxes whose tops rise and fall (windows of changing height): the
    centres move up and down, which must not tilt what counts as behind the walker."""
    heights = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.7, 0.75, 0.7, 0.65]
    entries = []
    for i, t in enumerate(range(0, 2401, 200)):
        left = 0.12 - 0.1 * t / 1000
        width = 0.15 + min(left, 0.0)
        entries.append(
            label_entry(t, person(max(left, 0.0), top=1 - heights[i], width=width, height=heights[i]))
        )
    _, passes = run(entries)
    assert [(p.start_ms, p.end_ms) for p in passes] == [(0, 2400)]
