"""How sure a regression is, from each run's own samples (standard library only).

A regression is declared when one-sided bounds, each at level ``s``, still differ by more than
the threshold: the new run's lower bound against the baseline's upper bound (for a latency or
an error rate), or the new run's upper bound against the baseline's lower bound (for a rate).
The runs are independent, so both bounds hold together with probability at least ``s**2``;
the confidence reported is the largest such ``s**2`` (the levels nest, so it is a p-value's
complement and a 95 % verdict is a valid 5 % test).

- Percentiles: distribution-free order-statistic bounds (Hahn & Meeker, *Statistical
  Intervals*, ch. 5): the number of samples below the true p-quantile is Binomial(n, p), so
  ``P(X_(k) >= q_p) >= P(Bin(n, p) <= k - 1)``. This holds for the rounded values locust keeps
  too, and needs enough samples: a 95 % bound on a p95 from two runs needs about 72 each.
- Rates: counts over a run's duration, Poisson on the log scale, widened by the dispersion
  ``E[X^2]/E[X]`` when each call adds X (tokens per call) instead of one.
- Error rate: the Wilson score bound of a binomial proportion.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
# Below 0.5 a one-sided "bound" sits on the wrong side of the estimate: no evidence at all.
_LOWEST_LEVEL = 0.5
_HIGHEST_LEVEL = 1 - 1e-9


@dataclass(frozen=True, slots=True)
class Samples:
    """A run's samples of one metric as a histogram: sorted values and cumulative counts."""

    values: tuple[float, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def from_counts(cls, counts: Mapping[float, int]) -> Samples:
        """From ``{value: count}`` (locust's rounded response times)."""
        ordered = sorted((float(v), int(c)) for v, c in counts.items() if int(c) > 0)
        running = accumulate(c for _, c in ordered)
        return cls(tuple(v for v, _ in ordered), tuple(running))

    @property
    def count(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def order_statistic(self, rank: int) -> float:
        """The ``rank``-th smallest sample (1-based)."""
        return self.values[bisect_left(self.cumulative, rank)]


@lru_cache(maxsize=64)
def _binomial_cdf(n: int, p: float) -> tuple[float, ...]:
    """``P(Bin(n, p) <= k)`` for k = 0..n, summed from log-probabilities (no overflow)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    head = math.lgamma(n + 1)
    total, cdf = 0.0, []
    for k in range(n + 1):
        log_pmf = head - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q
        total += math.exp(log_pmf)
        cdf.append(min(total, 1.0))
    return tuple(cdf)


def quantile_upper(samples: Samples, p: float, level: float) -> float:
    """A value at or above the true p-quantile with probability >= ``level`` (inf if none)."""
    cdf = _binomial_cdf(samples.count, p)
    rank = bisect_left(cdf, level) + 1  # smallest k with P(Bin <= k - 1) >= level
    return samples.order_statistic(rank) if rank <= samples.count else math.inf


def quantile_lower(samples: Samples, p: float, level: float) -> float:
    """A value at or below the true p-quantile with probability >= ``level`` (-inf if none)."""
    cdf = _binomial_cdf(samples.count, p)
    rank = min(bisect_right(cdf, 1 - level), samples.count)  # largest j with P(Bin >= j) >= level
    return samples.order_statistic(rank) if rank >= 1 else -math.inf


def rate_bounds(
    events: float, seconds: float, dispersion: float, level: float
) -> tuple[float, float]:
    """Lower and upper one-sided bounds of a rate of ``events`` seen over ``seconds``."""
    if events <= 0:
        return 0.0, -math.log1p(-level) * dispersion / seconds  # exact for a zero Poisson count
    z = _STANDARD_NORMAL.inv_cdf(level)
    spread = z * math.sqrt(dispersion / events)
    rate = events / seconds
    return rate * math.exp(-spread), rate * math.exp(spread)


def proportion_bounds(hits: int, trials: int, level: float) -> tuple[float, float]:
    """Wilson score one-sided lower and upper bounds of a proportion."""
    if trials <= 0:
        return 0.0, 1.0
    z = _STANDARD_NORMAL.inv_cdf(level)
    share = hits / trials
    centre = share + z * z / (2 * trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max((centre - half) / scale, 0.0), min((centre + half) / scale, 1.0)


def regression_confidence(regressed_at: Callable[[float], bool]) -> float:
    """The largest ``s**2`` for which ``regressed_at(s)`` (bounds at level s) holds, else 0.

    ``regressed_at`` must hold for every level below one where it holds (bounds widen with s).
    """
    if not regressed_at(_LOWEST_LEVEL):
        return 0.0
    if regressed_at(_HIGHEST_LEVEL):
        return _HIGHEST_LEVEL**2
    low, high = _LOWEST_LEVEL, _HIGHEST_LEVEL
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if regressed_at(middle) else (low, middle)
    return low * low


def samples_needed(p: float, level: float) -> int:
    """Samples per run before a ``level`` verdict on a p-quantile is possible at all."""
    one_sided = math.sqrt(level)
    return math.ceil(math.log1p(-one_sided) / math.log(p))
