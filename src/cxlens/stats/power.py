"""Sample sizes for a target precision, and problem discovery.

Margins are half the width of the planned confidence interval. The formulas invert the intervals used in
this package (Sauro & Lewis, *Quantifying the User Experience* 2nd ed., ch. 6-7): for the adjusted-Wald
interval ``n = z²p(1 - p)/m² - z²``; for NPS the adjusted-Wald variance with ``n' = n + 3``; for means the
t-interval, solved iteratively. Problem discovery uses ``1 - (1 - p)^n`` (Virzi 1992; Lewis 1994).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import stats as st

from cxlens.stats._common import check_confidence, z_for

__all__ = [
    "problem_discovery",
    "sample_size_discovery",
    "sample_size_mean",
    "sample_size_nps",
    "sample_size_proportion",
]


def _check_share(name: str, value: float) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be a proportion between 0 and 1, got {value!r}")
    return v


def problem_discovery(p: float, n: int) -> float:
    """Chance that a problem affecting a share ``p`` of users is seen at least once by ``n`` users.

    ``1 - (1 - p)^n``; e.g. p = 0.31 and n = 5 gives 0.84.
    """
    p = _check_share("p", p)
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n!r}")
    return 1.0 - (1.0 - p) ** n


def sample_size_discovery(p: float, goal: float = 0.85) -> int:
    """Users needed to see a problem of frequency ``p`` at least once with probability ``goal``.

    ``n = ceil(ln(1 - goal) / ln(1 - p))``.
    """
    p = _check_share("p", p)
    goal = _check_share("goal", goal)
    if p == 0.0 or goal == 1.0:
        raise ValueError("with p = 0 or goal = 1 no finite sample suffices")
    if goal == 0.0:
        return 0
    if p == 1.0:
        return 1
    return math.ceil(math.log(1.0 - goal) / math.log(1.0 - p) - 1e-12)


def _smallest_n(half_width: Callable[[int], float], margin: float, start: float) -> int:
    """Smallest n >= 1 with ``half_width(n) <= margin``, searching from a closed-form ``start``."""
    n = max(1, math.ceil(start - 1e-9))
    while half_width(n) > margin:
        n += 1
    while n > 1 and half_width(n - 1) <= margin:
        n -= 1
    return n


def sample_size_proportion(
    margin: float, p: float = 0.5, confidence: float = 0.95, method: str = "adjusted-wald"
) -> int:
    """Sample size for a proportion's interval to have half-width ``margin`` (on the 0-1 scale).

    Parameters
    ----------
    margin : float
        Target margin of error, e.g. 0.05 for ±5 percentage points.
    p : float
        Expected proportion; 0.5 is the conservative default.
    confidence : float
        Two-sided confidence level.
    method : {"adjusted-wald", "wald"}
        ``wald``: ``n = z²p(1 - p)/m²``. ``adjusted-wald``: the smallest n whose adjusted-Wald interval at
        the expected proportion (``x = p·n``) is no wider than the margin; close to ``z²p(1 - p)/m² - z²``
        (Sauro & Lewis ch. 6), equal to it for p = 0.5.

    Returns
    -------
    int
        Smallest whole sample size (at least 1).
    """
    p = _check_share("p", p)
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be between 0 and 1 (a proportion), got {margin!r}")
    z = z_for(confidence)
    z2 = z * z
    wald_n = z2 * p * (1.0 - p) / (margin * margin)
    if method == "wald":
        return max(1, math.ceil(wald_n - 1e-9))
    if method != "adjusted-wald":
        raise ValueError(f"unknown method {method!r}; use 'adjusted-wald' or 'wald'")

    def half(n: int) -> float:
        p_adj = (p * n + z2 / 2.0) / (n + z2)
        return z * math.sqrt(p_adj * (1.0 - p_adj) / (n + z2))

    return _smallest_n(half, margin * (1 + 1e-12), wald_n - z2)


def sample_size_nps(
    margin: float, promoters: float = 0.5, detractors: float = 0.5, confidence: float = 0.95
) -> int:
    """Respondents needed for an adjusted-Wald NPS interval of half-width ``margin`` NPS points.

    The smallest n whose adjusted-Wald interval (MeasuringU, after Rocks 2016) at the expected promoter
    and detractor shares is no wider than the margin; close to ``z²·Var/(margin/100)² - 3`` with
    ``Var = p + d - (p - d)²``. The defaults 0.5/0.5 give the largest possible variance, so the answer is
    conservative.

    Parameters
    ----------
    margin : float
        Target margin in NPS points, e.g. 10 for ±10 points.
    promoters, detractors : float
        Expected shares (0-1), summing to at most 1.
    confidence : float
        Two-sided confidence level.
    """
    p, d = _check_share("promoters", promoters), _check_share("detractors", detractors)
    if p + d > 1.0 + 1e-12:
        raise ValueError("promoter and detractor shares cannot sum to more than 1")
    if not 0.0 < margin <= 200.0:
        raise ValueError(f"margin is in NPS points (0-200], got {margin!r}")
    z = z_for(confidence)

    def half(n: int) -> float:
        pa, da = (p * n + 0.75) / (n + 3.0), (d * n + 0.75) / (n + 3.0)
        return 100.0 * z * math.sqrt(max(pa + da - (pa - da) ** 2, 0.0) / (n + 3.0))

    start = z * z * (p + d - (p - d) ** 2) / (margin / 100.0) ** 2 - 3.0
    return _smallest_n(half, margin * (1 + 1e-12), start)


def sample_size_mean(sd: float, margin: float, confidence: float = 0.95) -> int:
    """Sample size for a t-interval of half-width ``margin`` given an expected standard deviation ``sd``.

    Smallest ``n >= 2`` with ``t(n-1) · sd / sqrt(n) <= margin`` (iterative, as in Sauro & Lewis ch. 6).
    """
    if sd < 0 or margin <= 0:
        raise ValueError("sd must be non-negative and margin positive")
    conf = check_confidence(confidence)
    if sd == 0:
        return 2
    n = max(2, math.ceil((z_for(conf) * sd / margin) ** 2))
    while float(st.t.ppf(0.5 + conf / 2, n - 1)) * sd / math.sqrt(n) > margin:
        n += 1
    while n > 2 and float(st.t.ppf(0.5 + conf / 2, n - 2)) * sd / math.sqrt(n - 1) <= margin:
        n -= 1
    return n
