"""A/B comparison of two displays (cameras, stores or periods) on engagement rate.

Each side's engagement rate gets a Beta posterior from a uniform Beta(1, 1) prior and its counts
(impressions of foot traffic). P(B > A) is exact (Evan Miller's closed form, a finite sum); the
credible interval of each rate is exact (the inverse of the regularized incomplete beta
function); the expected relative lift is exact when A has at least one impression
(E[pB / pA] = E[pB] E[1 / pA]); the interval of the lift and of the difference come from a fixed,
seeded Monte Carlo sample large enough to be stable to well within ±0.01.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

CREDIBLE = 0.95
_SAMPLES = 100_000
_SEED = 20261124


class ComparisonError(ValueError):
    pass


@dataclass(frozen=True)
class Side:
    impressions: int
    foot_traffic: int

    def __post_init__(self) -> None:
        if self.foot_traffic < 0 or self.impressions < 0:
            raise ComparisonError("counts cannot be negative")
        if self.impressions > self.foot_traffic:
            raise ComparisonError(
                f"impressions ({self.impressions}) exceed foot traffic ({self.foot_traffic})"
            )

    @property
    def alpha(self) -> int:
        return 1 + self.impressions

    @property
    def beta(self) -> int:
        return 1 + self.foot_traffic - self.impressions

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


@dataclass(frozen=True)
class Comparison:
    a_rate: float | None  # observed engagement rate
    b_rate: float | None
    a_interval: tuple[float, float]  # 95 % credible interval of the rate
    b_interval: tuple[float, float]
    p_b_better: float
    expected_lift: float | None  # E[(pB - pA) / pA]; None when A has no impression
    lift_interval: tuple[float, float]
    expected_difference: float  # E[pB - pA]
    difference_interval: tuple[float, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "a": {"engagement_rate": _maybe(self.a_rate), "credible_interval_95": _rounded(self.a_interval)},
            "b": {"engagement_rate": _maybe(self.b_rate), "credible_interval_95": _rounded(self.b_interval)},
            "p_b_better": round(self.p_b_better, 4),
            "expected_lift": None if self.expected_lift is None else round(self.expected_lift, 4),
            "lift_credible_interval_95": _rounded(self.lift_interval),
            "expected_difference": round(self.expected_difference, 4),
            "difference_credible_interval_95": _rounded(self.difference_interval),
        }


def _maybe(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _rounded(pair: tuple[float, float]) -> list[float]:
    return [round(pair[0], 4), round(pair[1], 4)]


def compare(a: Side, b: Side) -> Comparison:
    low_q, high_q = (1 - CREDIBLE) / 2, 1 - (1 - CREDIBLE) / 2
    rng = random.Random(_SEED)  # noqa: S311 - a fixed sample for a statistic, not a secret
    differences: list[float] = []
    lifts: list[float] = []
    for _ in range(_SAMPLES):
        pa = rng.betavariate(a.alpha, a.beta)
        pb = rng.betavariate(b.alpha, b.beta)
        differences.append(pb - pa)
        lifts.append((pb - pa) / pa if pa > 0 else math.inf)
    differences.sort()
    lifts.sort()
    expected_lift = None
    if a.alpha > 1:
        expected_lift = b.mean * (a.alpha + a.beta - 1) / (a.alpha - 1) - 1
    return Comparison(
        a_rate=a.impressions / a.foot_traffic if a.foot_traffic else None,
        b_rate=b.impressions / b.foot_traffic if b.foot_traffic else None,
        a_interval=(beta_quantile(low_q, a.alpha, a.beta), beta_quantile(high_q, a.alpha, a.beta)),
        b_interval=(beta_quantile(low_q, b.alpha, b.beta), beta_quantile(high_q, b.alpha, b.beta)),
        p_b_better=prob_b_beats_a(a.alpha, a.beta, b.alpha, b.beta),
        expected_lift=expected_lift,
        lift_interval=(_quantile(lifts, low_q), _quantile(lifts, high_q)),
        expected_difference=b.mean - a.mean,
        difference_interval=(_quantile(differences, low_q), _quantile(differences, high_q)),
    )


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def prob_b_beats_a(alpha_a: int, beta_a: int, alpha_b: int, beta_b: int) -> float:
    """P(pB > pA) for independent Beta posteriors with integer parameters (exact).

    Sums over the smaller of the two alphas, using P(B > A) = 1 - P(A > B) when A's is smaller.
    """
    if alpha_a < alpha_b:
        return 1.0 - prob_b_beats_a(alpha_b, beta_b, alpha_a, beta_a)
    total = 0.0
    for i in range(alpha_b):
        total += math.exp(
            _log_beta(alpha_a + i, beta_a + beta_b)
            - math.log(beta_b + i)
            - _log_beta(1 + i, beta_b)
            - _log_beta(alpha_a, beta_a)
        )
    return min(1.0, max(0.0, total))


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), by the continued fraction (Lentz's method)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - regularized_beta(1 - x, b, a)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b))
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return front * f / a


def beta_quantile(q: float, a: float, b: float) -> float:
    """The q-quantile of Beta(a, b), by bisection on the exact CDF."""
    low, high = 0.0, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        if regularized_beta(mid, a, b) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2
