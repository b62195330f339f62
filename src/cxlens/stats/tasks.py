"""Usability task metrics: completion rate, task time, errors per attempt.

Follows Sauro & Lewis, *Quantifying the User Experience* (2nd ed., 2016), ch. 3, and MeasuringU:

- completion rate: adjusted-Wald interval (good coverage down to n = 5);
- task time: positively skewed, so for n < 25 the geometric mean with a log-t interval (back-transformed,
  asymmetric), for n >= 25 the median with a binomial (order-statistic) interval;
- errors per attempt: mean count per attempt with a t-interval, or an exact Poisson interval.

Comparisons of two completion rates are in :mod:`cxlens.stats.proportions` (N-1 two-proportion test,
McNemar exact) and re-exported from :mod:`cxlens.stats`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st
from statsmodels.stats.rates import confint_poisson

from cxlens.stats._common import as_float_array, check_confidence
from cxlens.stats.means import mean_ci
from cxlens.stats.proportions import proportion_ci
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import LogMeanStat, MeanStat, ProportionStat

__all__ = [
    "GEOMETRIC_MEAN_MAX_N",
    "completion_rate",
    "errors_per_attempt",
    "geometric_mean_ci",
    "median_ci",
    "task_time",
]

#: Below this sample size task times are summarised by the geometric mean, from it on by the median.
GEOMETRIC_MEAN_MAX_N = 25


def completion_rate(
    data: ProportionStat | ArrayLike,
    confidence: float = 0.95,
    *,
    z: float | None = None,
    point: str = "mle",
) -> StatResult:
    """Task completion rate with the adjusted-Wald interval (Sauro & Lewis 2005).

    Parameters
    ----------
    data : ProportionStat or array of 0/1
        Completed attempts out of attempts.
    confidence : float
        Two-sided confidence level; ignored when ``z`` is given.
    z : float, optional
        Explicit critical value (e.g. 1.64 as in the OpenShift benchmark report).
    point : {"mle", "adjusted", "laplace", "best"}
        Point estimate, see :func:`~cxlens.stats.proportions.proportion_ci`.

    Returns
    -------
    StatResult
        ``metric="completion_rate"`` on the 0-1 scale.
    """
    return proportion_ci(data, confidence, "adjusted-wald", z=z, point=point, metric="completion_rate")


def geometric_mean_ci(data: LogMeanStat | ArrayLike, confidence: float = 0.95) -> StatResult:
    """Geometric mean with a log-t interval: t-interval on ``ln(x)``, back-transformed with ``exp``.

    Parameters
    ----------
    data : LogMeanStat or array of positive values
        Times (seconds) or the sufficient statistics of their natural logs. A plain :class:`MeanStat` is
        refused, since it would be read as logs by mistake.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    StatResult
        ``metric="task_time"``; asymmetric interval in the original unit; ``extra["log_mean"]``,
        ``extra["log_sd"]``.
    """
    if isinstance(data, LogMeanStat):
        s = data
    elif isinstance(data, MeanStat):
        raise TypeError("pass times or a LogMeanStat (statistics of ln(time)), not a MeanStat")
    else:
        s = LogMeanStat.from_values(data)
    res = mean_ci(s, confidence, metric="task_time")
    extra = {"log_mean": s.mean, "log_sd": s.sd, "df": s.n - 1}
    warnings = list(res.warnings)
    if s.n >= GEOMETRIC_MEAN_MAX_N:
        warnings.append(f"n = {s.n} >= {GEOMETRIC_MEAN_MAX_N}: the median is the recommended summary")
    return replace(
        res,
        estimate=math.exp(res.estimate) if s.n else math.nan,
        ci_low=math.exp(res.ci_low),
        ci_high=math.exp(res.ci_high),
        method="geometric mean, log-t interval",
        warnings=tuple(warnings),
        extra=extra,
    )


def median_ci(values: ArrayLike, confidence: float = 0.95, *, metric: str = "median") -> StatResult:
    """Median with a distribution-free binomial interval on order statistics.

    The ranks ``k`` and ``n - k + 1`` are the widest symmetric pair with
    ``P(Binomial(n, 1/2) <= k - 1) <= (1 - confidence)/2`` (exact, conservative coverage; the normal
    approximation ``n/2 ± z·sqrt(n/4)`` in Sauro & Lewis ch. 3 gives nearly the same ranks for n >= 25).
    The achieved coverage is in ``extra["coverage"]``. Needs the raw values, not sufficient statistics.

    Returns
    -------
    StatResult
        ``extra["ranks"]`` holds the 1-based order statistics used.
    """
    conf = check_confidence(confidence)
    x = np.sort(as_float_array(values))
    n = int(x.size)
    if n == 0:
        return StatResult(
            math.nan,
            math.nan,
            math.nan,
            0,
            "median, binomial interval",
            conf,
            None,
            metric,
            ("no observations",),
            {},
        )
    alpha = 1.0 - conf
    # k = j + 1 where j is the largest count with P(B <= j) <= alpha/2, B ~ Binomial(n, 1/2)
    j = int(st.binom.ppf(alpha / 2.0, n, 0.5))
    if st.binom.cdf(j, n, 0.5) > alpha / 2.0:
        j -= 1
    k = j + 1
    warnings: list[str] = []
    if k < 1:
        k = 1
        warnings.append(f"n = {n} is too small for a {conf:.0%} median interval; showing min to max")
    coverage = 1.0 - 2.0 * float(st.binom.cdf(k - 1, n, 0.5))
    extra = {"ranks": (k, n - k + 1), "coverage": coverage}
    return StatResult(
        float(np.median(x)),
        float(x[k - 1]),
        float(x[n - k]),
        n,
        "median, binomial interval",
        conf,
        None,
        metric,
        tuple(warnings),
        extra,
    )


def task_time(
    times: ArrayLike,
    confidence: float = 0.95,
    method: Literal["auto", "geometric", "median"] = "auto",
) -> StatResult:
    """Typical task time: geometric mean (n < 25) or median (n >= 25), each with its interval.

    Parameters
    ----------
    times : array of positive numbers
        Task times, usually of completed attempts only (missing values skipped).
    confidence : float
        Two-sided confidence level.
    method : {"auto", "geometric", "median"}
        ``auto`` follows Sauro & Lewis: geometric mean below 25 observations, median from 25 on.

    Returns
    -------
    StatResult
        ``metric="task_time"`` in the unit of ``times``.
    """
    x = as_float_array(times)
    if (x <= 0).any():
        raise ValueError("task times must be positive")
    if method == "auto":
        method = "geometric" if x.size < GEOMETRIC_MEAN_MAX_N else "median"
    if method == "geometric":
        return geometric_mean_ci(LogMeanStat.from_values(x), confidence)
    if method == "median":
        res = median_ci(x, confidence, metric="task_time")
        if 0 < x.size < GEOMETRIC_MEAN_MAX_N:
            warn = f"n = {x.size} < {GEOMETRIC_MEAN_MAX_N}: the geometric mean is the less biased summary"
            return replace(res, warnings=(*res.warnings, warn))
        return res
    raise ValueError(f"unknown task-time method {method!r}; use 'auto', 'geometric' or 'median'")


def errors_per_attempt(
    data: MeanStat | ArrayLike,
    confidence: float = 0.95,
    method: Literal["t", "poisson"] = "t",
) -> StatResult:
    """Mean number of errors per attempt.

    Parameters
    ----------
    data : MeanStat or array of non-negative counts
        Errors of each attempt (``n`` attempts, ``sum`` errors).
    confidence : float
        Two-sided confidence level.
    method : {"t", "poisson"}
        ``t``: t-interval on the per-attempt counts (robust to over-dispersion, lower bound clipped at 0).
        ``poisson``: exact (Garwood) interval for the rate ``sum / n`` from statsmodels; assumes errors
        occur independently at a constant rate, which real errors often do not.

    Returns
    -------
    StatResult
        ``metric="errors_per_attempt"``; ``extra["errors"]`` is the total count.
    """
    s = data if isinstance(data, MeanStat) else MeanStat.from_values(data)
    if s.minimum is not None and s.minimum < 0:
        raise ValueError("error counts cannot be negative")
    conf = check_confidence(confidence)
    if method == "t":
        res = mean_ci(s, conf, bounds=(0.0, math.inf), metric="errors_per_attempt")
        return replace(res, extra={**res.extra, "errors": s.sum})
    if method == "poisson":
        if s.n == 0:
            return StatResult(
                math.nan,
                math.nan,
                math.nan,
                0,
                "exact Poisson",
                conf,
                None,
                "errors_per_attempt",
                ("no attempts",),
                {"errors": 0.0},
            )
        if s.sum != round(s.sum):
            raise ValueError("the Poisson interval needs whole error counts")
        low, high = confint_poisson(s.sum, s.n, method="exact-c", alpha=1.0 - conf)
        return StatResult(
            s.mean,
            float(low),
            float(high),
            s.n,
            "exact Poisson",
            conf,
            None,
            "errors_per_attempt",
            (),
            {"errors": s.sum},
        )
    raise ValueError(f"unknown method {method!r}; use 't' or 'poisson'")
