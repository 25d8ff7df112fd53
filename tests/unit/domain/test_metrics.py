"""The summary's definitions (docs/metrics.md) on hand-made passes: mood, mood index, accessories."""

from displaysense.domain.metrics import Counters, PassRecord, summarize


def record(**face):
    values = {"gender": None, "age": None, "mood": None, "accessories": (), "face_samples": 5, **face}
    return PassRecord(
        start_ms=0, end_ms=2000, attention_ms=0, dweller=False, impression=False, source="person", **values
    )


def summary(*records):
    counters = Counters()
    for r in records:
        counters.add_pass(r)
    return summarize(counters)


def test_mood_counts_passes_by_their_mood():
    s = summary(record(mood="HAPPY"), record(mood="HAPPY"), record(mood="CALM"), record(mood="FEAR"))
    assert s["mood"] == {
        "HAPPY": 2, "CALM": 1, "SAD": 0, "ANGRY": 0, "SURPRISED": 0, "CONFUSED": 0, "DISGUSTED": 0, "FEAR": 1,
    }  # fmt: skip
    assert s["estimated"]["mood"] == 4


def test_mood_index_is_positive_minus_negative_over_the_passes_with_a_mood():
    # HAPPY is positive; ANGRY, SAD, DISGUSTED, FEAR negative; CALM, SURPRISED, CONFUSED neutral
    moods = ["HAPPY", "HAPPY", "HAPPY", "SAD", "ANGRY", "DISGUSTED", "FEAR", "CALM", "SURPRISED", "CONFUSED"]
    s = summary(*[record(mood=m) for m in moods])
    assert s["mood_index"] == round((3 - 4) / 10, 4)
    assert summary(record(mood="HAPPY"), record(mood="CALM"))["mood_index"] == 0.5


def test_mood_index_leaves_out_faces_whose_mood_was_not_estimated():
    """With FaceAttributes=ALL every face carries emotions and "passes with a face" (PRODUCT) and
    "passes with an estimated mood" are the same passes. Faces without emotions (DEFAULT
    attributes) would otherwise count as neutral and pull the index towards 0."""
    estimated = [record(mood="HAPPY"), record(mood="SAD"), record(mood="HAPPY")]
    without = [record(mood=None), record(mood=None)]
    s = summary(*estimated, *without)
    assert s["faces"] == 5
    assert s["mood_index"] == round((2 - 1) / 3, 4)
    # nothing estimated: not available, not "neutral"
    assert summary(*without)["mood_index"] is None


def test_accessory_shares_are_of_the_passes_whose_faces_carried_the_attribute():
    s = summary(
        record(accessories=(("eyeglasses", True), ("beard", False))),
        record(accessories=(("eyeglasses", False), ("beard", False))),
        record(accessories=(("eyeglasses", True),)),
        record(),  # a face with no accessory estimated
    )
    assert s["accessories"] == {
        "eyeglasses": round(2 / 3, 4),
        "sunglasses": None,
        "beard": 0.0,
        "mustache": None,
    }
    assert s["estimated"] == {
        "gender": 0, "age": 0, "mood": 0, "eyeglasses": 3, "sunglasses": 0, "beard": 2, "mustache": 0,
    }  # fmt: skip


def test_passes_without_a_face_count_in_no_face_figure():
    s = summary(record(face_samples=0, mood="HAPPY", gender="female"), record(mood="SAD", gender="male"))
    assert s["faces"] == 1
    assert s["mood_index"] == -1.0
    assert s["gender"] == {"female": 0, "male": 1, "unknown": 0}
