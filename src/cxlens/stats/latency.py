"""Percentiles with distribution-free confidence intervals (page latency p50/p75/p95/p99).

:func:`cxlens.stats.median_ci` covers only the median; scipy and statsmodels have no order-statistic
interval for an arbitrary quantile, so it is written here: the interval between order statistics ``x_(l)`` and
``x_(u)`` covers the population ``q``-quantile with probability ``P(l <= B <= u - 1)``, ``B ~ Binomial(n, q)``
(e.g. Hahn & Meeker, *Statistical Intervals*, 1991, sec. 5.2). Ranks are chosen so that each tail has at most
``(1 - confidence) / 2`` (exact, conservative); for ``q = 0.5`` they are the ranks of :func:`median_ci`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st
from numpy.typing import ArrayLike

from cxlens.stats._common import as_float_array, check_confidence
from cxlens.stats.result import StatResult

__all__ = ["percentile_ci", "percentile_ranks"]


def percentile_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int, float]:
    """1-based ranks ``(l, u)`` of the order statistics bounding the ``q``-quantile, and the coverage.

    Parameters
    ----------
    n : int
        Sample size (>= 1).
    q : float
        Quantile in (0, 1).
    confidence : float

    Returns
    -------
    l, u : int
        Ranks clipped to ``1..n`` (clipping lowers the coverage, which is returned), never narrower than the
        two order statistics around the :func:`numpy.percentile` estimate.
    coverage : float
        ``P(l <= B <= u - 1)``, ``B ~ Binomial(n, q)``: the probability that ``[x_(l), x_(u)]`` covers the
        population quantile.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"a percentile must lie strictly between 0 and 100 (got q = {q})")
    alpha = 1.0 - check_confidence(confidence)
    j = int(st.binom.ppf(alpha / 2.0, n, q))
    if st.binom.cdf(j, n, q) > alpha / 2.0:
        j -= 1
    lo = j + 1
    hi = int(st.binom.ppf(1.0 - alpha / 2.0, n, q)) + 1
    # in very small samples the ranks can miss the interpolated estimate (position (n - 1) q, 0-based, as
    # numpy.percentile): widen them to the two order statistics it lies between
    h = (n - 1) * q
    lo = min(lo, math.floor(h) + 1)
    hi = max(hi, math.ceil(h) + 1)
    lo_c, hi_c = max(lo, 1), min(hi, n)
    return lo_c, hi_c, float(st.binom.cdf(hi_c - 1, n, q) - st.binom.cdf(lo_c - 1, n, q))


def percentile_ci(values: ArrayLike, percentile: float, confidence: float = 0.95, *,
                  metric: str | None = None) -> StatResult:
    """A percentile with its order-statistic (binomial) confidence interval.

    Parameters
    ----------
    values : array of numbers
        Raw observations (missing values skipped).
    percentile : float
        Between 0 and 100 (exclusive), e.g. 95.
    confidence : float
    metric : str, optional
        Name of the estimate (default ``p<percentile>``).

    Returns
    -------
    StatResult
        Estimate = :func:`numpy.percentile` (linear interpolation); ``extra["ranks"]`` the order statistics used,
        ``extra["coverage"]`` the achieved coverage.
    """
    conf = check_confidence(confidence)
    q = percentile / 100.0
    name = metric or f"p{percentile:g}"
    x = np.sort(as_float_array(values))
    n = int(x.size)
    method = "percentile, binomial order-statistic interval"
    if n == 0:
        return StatResult(math.nan, math.nan, math.nan, 0, method, conf, None, name, ("no observations",), {})
    lo, hi, coverage = percentile_ranks(n, q, conf)
    warnings: list[str] = []
    if coverage < conf - 1e-12:
        warnings.append(f"n = {n} is too small for a {conf:.0%} interval of p{percentile:g}; achieved coverage "
                        f"{coverage:.1%} (the interval reaches the sample minimum or maximum)")
    return StatResult(float(np.percentile(x, percentile)), float(x[lo - 1]), float(x[hi - 1]), n, method, conf,
                      None, name, tuple(warnings), {"ranks": (lo, hi), "coverage": coverage})
