"""A/B comparison of two displays (cameras, stores or periods) on engagement rate.

Each side's rate gets a Beta posterior from a uniform prior and its counts. Everything is computed,
not sampled (closed forms, the inverse incomplete beta, Gauss-Legendre quadrature), so the same
counts always give the same figures; docs/metrics.md, "A/B comparison", gives the formulas. Pure
Python: scipy would add about 100 MB to each Lambda.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

CREDIBLE = 0.95
# Quantiles of each posterior beyond which its probability is negligible next to the 1e-9 the
# intervals are solved to.
_TAIL = 1e-13
_SOLVE_TOLERANCE = 1e-9


def _gauss_legendre(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights of n-point Gauss-Legendre quadrature on [-1, 1] (Newton on P_n)."""
    nodes, weights = [], []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            derivative = n * (x * p1 - p0) / (x * x - 1)
            step = p1 / derivative
            x -= step
            if abs(step) < 1e-15:
                break
        nodes.append(x)
        weights.append(2 / ((1 - x * x) * derivative * derivative))
    return tuple(nodes), tuple(weights)


_NODES, _WEIGHTS = _gauss_legendre(48)


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
    pa, pb = _Posterior(a.alpha, a.beta), _Posterior(b.alpha, b.beta)
    expected_lift = None
    if a.alpha > 1:
        expected_lift = b.mean * (a.alpha + a.beta - 1) / (a.alpha - 1) - 1
    return Comparison(
        a_rate=a.impressions / a.foot_traffic if a.foot_traffic else None,
        b_rate=b.impressions / b.foot_traffic if b.foot_traffic else None,
        a_interval=(pa.quantile(low_q), pa.quantile(high_q)),
        b_interval=(pb.quantile(low_q), pb.quantile(high_q)),
        p_b_better=prob_b_beats_a(a.alpha, a.beta, b.alpha, b.beta),
        expected_lift=expected_lift,
        lift_interval=(lift_quantile(low_q, pa, pb), lift_quantile(high_q, pa, pb)),
        expected_difference=b.mean - a.mean,
        difference_interval=(difference_quantile(low_q, pa, pb), difference_quantile(high_q, pa, pb)),
    )


class _Posterior:
    """Beta(alpha, beta), with the bounds outside which it holds less than _TAIL each side."""

    def __init__(self, alpha: int, beta: int) -> None:
        self.alpha, self.beta = alpha, beta
        self.low = beta_quantile(_TAIL, alpha, beta) if alpha > 1 else 0.0
        self.high = beta_quantile(1 - _TAIL, alpha, beta) if beta > 1 else 1.0
        self._log_norm = _log_beta(alpha, beta)

    def quantile(self, q: float) -> float:
        return beta_quantile(q, self.alpha, self.beta)

    def cdf(self, x: float) -> float:
        return regularized_beta(x, self.alpha, self.beta)

    def density(self, x: float) -> float:
        if not 0 < x < 1:
            return 0.0
        return math.exp((self.alpha - 1) * math.log(x) + (self.beta - 1) * math.log1p(-x) - self._log_norm)


def _prob_b_below(
    pa: _Posterior, pb: _Posterior, h: Callable[[float], float], h_inv: Callable[[float], float]
) -> float:
    """P(pB <= h(pA)) for an increasing h: the integral of f_A(p) F_B(h(p)) over p.

    Where h(p) is below B's lower bound F_B is 0; above its upper bound F_B is 1, which leaves A's
    own upper tail; in between the integrand is smooth and Gauss-Legendre takes it.
    """
    lo = max(pa.low, h_inv(pb.low))
    hi = min(pa.high, h_inv(pb.high))
    above = 1.0 - pa.cdf(max(lo, hi)) if hi < pa.high else 0.0
    if hi <= lo:
        return min(1.0, max(0.0, above))
    half, mid = (hi - lo) / 2, (hi + lo) / 2
    total = 0.0
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        p = mid + half * node
        total += weight * pa.density(p) * pb.cdf(h(p))
    return min(1.0, max(0.0, total * half + above))


def _solve(f: Callable[[float], float], q: float, low: float, high: float) -> float:
    """The x in [low, high] with f(x) = q, for an increasing f: regula falsi with the Illinois
    correction (superlinear, and never leaves the bracket), to _SOLVE_TOLERANCE."""
    f_low, f_high = f(low) - q, f(high) - q
    if f_low >= 0:
        return low
    if f_high <= 0:
        return high
    side = 0
    x = low
    for _ in range(200):
        x = (low * f_high - high * f_low) / (f_high - f_low)
        f_x = f(x) - q
        if f_x < 0:
            low, f_low = x, f_x
            if side == -1:
                f_high /= 2
            side = -1
        else:
            high, f_high = x, f_x
            if side == 1:
                f_low /= 2
            side = 1
        if high - low <= _SOLVE_TOLERANCE * max(1.0, abs(x)) or f_x == 0:
            break
    return x


def lift_quantile(q: float, pa: _Posterior, pb: _Posterior) -> float:
    """The q-quantile of pB / pA - 1."""

    def cdf(log_ratio: float) -> float:
        c = math.exp(log_ratio)
        return _prob_b_below(pa, pb, lambda p: c * p, lambda y: y / c)

    # pB / pA lies between the ratio of the bounds
    low = math.log(max(pb.low, 1e-300) / pa.high)
    high = math.log(pb.high / max(pa.low, 1e-300))
    return math.exp(_solve(cdf, q, low, high)) - 1


def difference_quantile(q: float, pa: _Posterior, pb: _Posterior) -> float:
    """The q-quantile of pB - pA."""

    def cdf(d: float) -> float:
        return _prob_b_below(pa, pb, lambda p: p + d, lambda y: y - d)

    return _solve(cdf, q, pb.low - pa.high, pb.high - pa.low)


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
    """The q-quantile of Beta(a, b), solving the exact distribution function."""
    return _solve(lambda x: regularized_beta(x, a, b), q, 0.0, 1.0)
