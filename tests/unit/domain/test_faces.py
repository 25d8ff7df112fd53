"""Per-pass face statistics: the demographic and attention definitions of docs/metrics.md."""

from displaysense.domain.detections import Box, FaceSample
from displaysense.domain.faces import FaceStats
from displaysense.domain.settings import EngineSettings

SETTINGS = EngineSettings()
BOX = Box(0.4, 0.2, 0.05, 0.1)


def face(t, yaw=0.0, pitch=0.0, **attrs):
    return FaceSample(timestamp_ms=t, box=BOX, yaw=yaw, pitch=pitch, **attrs)


def stats(*faces):
    s = FaceStats()
    for f in faces:
        s.add(f, SETTINGS)
    return s


def test_attention_is_one_sampling_interval_per_looking_sample():
    # looking at 0, 200; away at 400; looking at 600, 800, 1000: two runs of 2 and 3 samples
    s = stats(face(0), face(200), face(400, yaw=50), face(600), face(800), face(1000))
    assert s.attention_ms(200) == 2 * 200 + 3 * 200
    # a single looking sample covers one interval, not nothing
    assert stats(face(0), face(200, yaw=80)).attention_ms(200) == 200
    assert stats(face(0, yaw=80)).attention_ms(200) == 0


def test_a_face_missed_inside_a_look_does_not_break_it():
    # looking at 0, 200, (400 missed), 600, 800: one run from 0 to 800, plus one interval
    s = stats(face(0), face(200), face(600), face(800))
    assert s.attention_ms(200) == 800 + 200


def test_attention_does_not_bridge_gaps_longer_than_the_track_gap():
    assert stats(face(0), face(1500)).attention_ms(200) == 2 * 200
    assert stats(face(0), face(1000)).attention_ms(200) == 1000 + 200


def test_the_same_look_gives_about_the_same_attention_at_200_and_500_ms():
    """A 1.4 s look (from 1.0 s to 2.4 s), sampled every 200 ms and every 500 ms: the time covered
    by the looking samples is within one interval of the truth at either rate."""

    def sampled(interval):
        times = range(0, 5000, interval)
        return stats(*[face(t, yaw=0.0 if 1000 <= t < 2400 else 60.0) for t in times])

    assert sampled(200).attention_ms(200) == 1400  # 7 samples
    assert sampled(500).attention_ms(500) == 1500  # 3 samples
    # the time between consecutive looking samples would give 1200 and 1000: a sampling rule


def test_looking_needs_both_yaw_and_pitch_within_thirty_degrees():
    assert stats(face(0, pitch=31), face(200, pitch=31)).attention_ms(200) == 0
    assert stats(face(0, yaw=-30, pitch=30), face(200, yaw=30, pitch=-30)).attention_ms(200) == 400
    assert stats(face(0, yaw=None), face(200, yaw=None)).attention_ms(200) == 0


def test_merging_an_earlier_face_track_joins_a_look_across_the_seam():
    earlier, later = stats(face(0), face(200)), stats(face(400), face(600))
    later.merge(earlier, SETTINGS)
    assert later.samples == 4
    assert later.attention_ms(200) == 600 + 200


def test_gender_is_a_confidence_weighted_vote_with_unknown_when_close():
    f, m = ("Female", 90.0), ("Male", 60.0)
    assert stats(face(0, gender=f), face(1, gender=f), face(2, gender=m)).gender(SETTINGS) == "female"
    assert (
        stats(face(0, gender=("Female", 55.0)), face(1, gender=("Male", 54.0))).gender(SETTINGS) == "unknown"
    )
    assert stats(face(0)).gender(SETTINGS) is None


def test_age_is_the_median_of_range_midpoints():
    ages = [(20, 26), (30, 36), (40, 46), (22, 28), (60, 80)]
    s = stats(*[face(i, age_range=a) for i, a in enumerate(ages)])
    assert s.age() == 33.0
    assert stats(face(0)).age() is None


def test_mood_is_the_highest_mean_confidence():
    s = stats(
        face(0, emotions=[{"Type": "HAPPY", "Confidence": 60.0}, {"Type": "CALM", "Confidence": 40.0}]),
        face(1, emotions=[{"Type": "HAPPY", "Confidence": 10.0}, {"Type": "CALM", "Confidence": 80.0}]),
    )
    assert s.mood() == "CALM"
    assert stats(face(0, emotions=[{"Type": "UNKNOWN", "Confidence": 99.0}])).mood() is None


def test_accessories_need_a_strict_majority_and_only_estimated_ones_are_reported():
    s = stats(
        face(0, eyeglasses=True), face(1, eyeglasses=True), face(2, eyeglasses=False), face(3, beard=False)
    )
    assert dict(s.accessories()) == {"eyeglasses": True, "beard": False}
    assert dict(stats(face(0, eyeglasses=True), face(1, eyeglasses=False)).accessories()) == {
        "eyeglasses": False
    }
