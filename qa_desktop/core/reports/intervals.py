"""Confidence intervals for proportions: the Wilson score interval (never the Wald one).

The Wald interval ``p ± z·sqrt(p(1-p)/n)`` collapses to zero width at 0 % and 100 % and
leaves [0, 1] for small n, so "2 of 2" would read as a certain 100 %. Wilson's interval
stays inside [0, 1] and is honest about small samples::

    wilson(2, 2)     # Interval(low=0.3424..., high=1.0)
    wilson(45, 50)   # Interval(low=0.7864..., high=0.9565...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""

SMALL_N = 30
"""Cells with fewer decisions than this are greyed and marked "small n" everywhere."""


@dataclass(frozen=True)
class Interval:
    """A two-sided 95 % interval of a proportion, both ends in [0, 1]."""

    low: float
    high: float


def wilson(successes: float, n: float, z: float = Z95) -> Interval | None:
    """The Wilson score interval of ``successes`` out of ``n`` (None when ``n`` is 0).

    ``n`` may be an effective sample size (not an integer) for weighted estimates.
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At k = 0 and k = n the bound is exactly 0 or 1 (rounding would leave 1e-17).
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return Interval(low, high)
