"""A/B comparison: exact where the maths allows, stable where it samples."""

import math
import random

import pytest
from displaysense.domain import ab_test
from displaysense.domain.ab_test import (
    ComparisonError,
    Side,
    beta_quantile,
    compare,
    prob_b_beats_a,
    regularized_beta,
)
from hypothesis import given
from hypothesis import strategies as st


def test_regularized_beta_matches_closed_forms():
    # I_x(1, b) = 1 - (1 - x)^b and I_x(a, 1) = x^a
    for x in (0.01, 0.3, 0.77):
        assert regularized_beta(x, 1, 5) == pytest.approx(1 - (1 - x) ** 5, abs=1e-12)
        assert regularized_beta(x, 4, 1) == pytest.approx(x**4, abs=1e-12)
    assert beta_quantile(0.5, 3, 3) == pytest.approx(0.5, abs=1e-9)


@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 60), st.integers(1, 60))
def test_p_b_better_is_a_probability_and_complementary(aa, ba, ab, bb):
    p = prob_b_beats_a(aa, ba, ab, bb)
    q = prob_b_beats_a(ab, bb, aa, ba)
    assert 0.0 <= p <= 1.0
    assert p + q == pytest.approx(1.0, abs=1e-9)


def test_p_b_better_agrees_with_a_large_simulation():
    rng = random.Random(7)
    n = 400_000
    wins = sum(rng.betavariate(31, 171) < rng.betavariate(46, 166) for _ in range(n))
    assert prob_b_beats_a(31, 171, 46, 166) == pytest.approx(wins / n, abs=0.005)


def test_identical_sides_are_a_coin_toss():
    result = compare(Side(20, 100), Side(20, 100))
    assert result.p_b_better == pytest.approx(0.5, abs=1e-9)
    assert result.expected_difference == 0.0


def test_expected_lift_is_exact_and_sampled_intervals_are_stable():
    a, b = Side(30, 200), Side(45, 210)
    first = compare(a, b)
    # E[pB / pA] - 1 with pA ~ Beta(31, 171), pB ~ Beta(46, 166)
    assert first.expected_lift == pytest.approx(46 / 212 * 201 / 30 - 1, abs=1e-12)
    assert first.lift_interval[0] < first.expected_lift < first.lift_interval[1]
    # A different sample of the same size moves the intervals by far less than 0.01.
    original_seed = ab_test._SEED
    try:
        ab_test._SEED = original_seed + 1
        second = compare(a, b)
    finally:
        ab_test._SEED = original_seed
    assert math.isclose(first.difference_interval[0], second.difference_interval[0], abs_tol=0.01)
    assert math.isclose(first.difference_interval[1], second.difference_interval[1], abs_tol=0.01)
    assert math.isclose(first.lift_interval[0], second.lift_interval[0], abs_tol=0.01)


def test_no_impression_on_a_means_no_relative_lift():
    result = compare(Side(0, 10), Side(3, 10))
    assert result.expected_lift is None
    assert result.p_b_better > 0.9


def test_impossible_counts_are_refused():
    with pytest.raises(ComparisonError, match="exceed"):
        Side(5, 3)
    with pytest.raises(ComparisonError):
        Side(-1, 3)
