"""Per-minute counters: attribution to minutes, presence and peak occupancy."""

from displaysense.domain.metrics import Counters, PassRecord, merge_all, summarize
from displaysense.domain.series import SeriesBuilder

T0 = 1_790_000_040_000  # a whole minute, in epoch ms
assert T0 % 60_000 == 0


def record(start_ms, end_ms, attention_ms=0):
    return PassRecord(
        start_ms=start_ms,
        end_ms=end_ms,
        attention_ms=attention_ms,
        dweller=end_ms - start_ms >= 5000,
        impression=attention_ms >= 500,
        source="person",
        face_samples=0,
        gender=None,
        age=None,
        mood=None,
    )


def test_a_pass_counts_in_its_start_minute_and_its_presence_is_split():
    series = SeriesBuilder(T0 + 30_000)  # recording starts half a minute in
    series.add_pass(record(20_000, 50_000))  # wall clock 0:50 to 1:20
    buckets = series.finish(duration_ms=90_000)
    first, second = T0 // 1000, T0 // 1000 + 60
    assert list(buckets) == [first, second]
    assert buckets[first].foot_traffic == 1 and buckets[second].foot_traffic == 0
    assert buckets[first].person_ms == 10_000 and buckets[second].person_ms == 20_000
    assert buckets[first].observed_ms == 30_000 and buckets[second].observed_ms == 60_000


def test_peak_occupancy_is_the_most_passes_in_view_at_one_instant():
    series = SeriesBuilder(T0)
    for start, end in [(0, 10_000), (5_000, 15_000), (9_000, 12_000), (70_000, 71_000)]:
        series.add_pass(record(start, end))
    buckets = series.finish(duration_ms=120_000)
    assert [b.occupancy_peak for b in buckets.values()] == [3, 1]
    total = merge_all(buckets.values())
    assert total.occupancy_peak == 3
    assert summarize(total)["occupancy_mean"] == round((10 + 10 + 3 + 1) / 120, 3)


def test_passes_that_touch_at_an_instant_were_both_in_view():
    series = SeriesBuilder(T0)
    series.add_pass(record(0, 5_000))
    series.add_pass(record(5_000, 9_000))
    assert series.finish(duration_ms=10_000)[T0 // 1000].occupancy_peak == 2


def test_the_sweep_may_advance_before_later_passes_arrive():
    series = SeriesBuilder(T0)
    series.add_pass(record(0, 10_000))
    series.advance(8_000)  # nothing starts before 8 s any more
    series.add_pass(record(8_000, 20_000))
    series.advance(30_000)
    series.add_pass(record(65_000, 66_000))
    buckets = series.finish(duration_ms=70_000)
    assert [b.occupancy_peak for b in buckets.values()] == [2, 1]


def test_minutes_without_passes_are_present_with_their_footage_time():
    buckets = SeriesBuilder(T0).finish(duration_ms=150_000)
    assert [b.observed_ms for b in buckets.values()] == [60_000, 60_000, 30_000]
    assert all(b == Counters(observed_ms=b.observed_ms) for b in buckets.values())
