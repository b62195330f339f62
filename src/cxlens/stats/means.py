"""Means of ratings and other numbers: t-intervals, Welch and paired t-tests, CES.

Everything works on :class:`~cxlens.stats.sufficient.MeanStat` (count, sum, sum of squares), so the inputs
can come straight from SQL. t quantiles and the Welch test come from scipy.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st

from cxlens.stats._common import SMALL_N, as_float_array, check_confidence
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import MeanStat, RatingCounts

__all__ = ["ces", "mean_ci", "paired_t", "welch_t"]

MeanData = MeanStat | RatingCounts | ArrayLike


def _as_mean(data: MeanData) -> MeanStat:
    if isinstance(data, MeanStat):
        return data
    if isinstance(data, RatingCounts):
        return data.mean_stat()
    return MeanStat.from_values(data)


def mean_ci(
    data: MeanData,
    confidence: float = 0.95,
    *,
    bounds: tuple[float, float] | None = None,
    metric: str = "mean",
) -> StatResult:
    """Mean with a t confidence interval, ``mean ± t(n-1) · sd/sqrt(n)``.

    Parameters
    ----------
    data : MeanStat, RatingCounts or array of numbers
        The observations or their sufficient statistics (missing values skipped).
    confidence : float
        Two-sided confidence level.
    bounds : (low, high), optional
        Range of the scale (e.g. (1, 7)); the interval is clipped to it and ``extra["clipped"]`` records it.
    metric : str
        Name stored in the result.

    Returns
    -------
    StatResult
        ``extra`` holds ``sd``, ``se`` and ``df``. With fewer than 2 observations the interval is NaN.
    """
    s = _as_mean(data)
    conf = check_confidence(confidence)
    warnings: list[str] = []
    extra: dict[str, object] = {"sd": s.sd, "se": s.se, "df": s.n - 1}
    if s.minimum is not None:
        extra.update({"min": s.minimum, "max": s.maximum})
    if s.n < 2:
        warnings.append(f"n = {s.n}: at least 2 observations are needed for a t-interval")
        return StatResult(
            s.mean, math.nan, math.nan, s.n, "t-interval", conf, None, metric, tuple(warnings), extra
        )
    half = float(st.t.ppf(0.5 + conf / 2, s.n - 1)) * s.se
    low, high = s.mean - half, s.mean + half
    if bounds is not None:
        extra["clipped"] = bool(low < bounds[0] or high > bounds[1])
        low, high = max(low, bounds[0]), min(high, bounds[1])
    if s.n < SMALL_N:
        warnings.append(
            f"small sample (n = {s.n} < {SMALL_N}): the t-interval assumes the mean is roughly normally "
            "distributed"
        )
    return StatResult(s.mean, low, high, s.n, "t-interval", conf, None, metric, tuple(warnings), extra)


def welch_t(
    a: MeanData, b: MeanData, confidence: float = 0.95, *, metric: str = "difference_in_means"
) -> StatResult:
    """Welch's two-sample t-test and interval for the difference of means ``mean_a - mean_b``.

    Unequal variances, Welch-Satterthwaite degrees of freedom, t quantiles from scipy (the result equals
    :func:`scipy.stats.ttest_ind` with ``equal_var=False``, which the tests check). Two
    :class:`RatingCounts` must share the same scale.

    Returns
    -------
    StatResult
        ``extra`` holds both means, ``t``, ``df`` and ``se``; ``n`` counts both groups.
    """
    if isinstance(a, RatingCounts) and isinstance(b, RatingCounts) and (a.low, a.high) != (b.low, b.high):
        raise ValueError(f"cannot compare a {a.low}-{a.high} scale with a {b.low}-{b.high} scale")
    sa, sb = _as_mean(a), _as_mean(b)
    conf = check_confidence(confidence)
    if sa.n < 2 or sb.n < 2:
        raise ValueError(f"Welch's t-test needs at least 2 observations per group (got {sa.n} and {sb.n})")
    va, vb = sa.variance / sa.n, sb.variance / sb.n
    se = math.sqrt(va + vb)
    diff = sa.mean - sb.mean
    warnings: list[str] = []
    if se == 0:
        warnings.append("both groups have zero variance: no test is possible")
        return StatResult(
            diff,
            diff,
            diff,
            sa.n + sb.n,
            "Welch t",
            conf,
            math.nan,
            metric,
            tuple(warnings),
            {"mean_a": sa.mean, "mean_b": sb.mean},
        )
    # Welch-Satterthwaite df, written with shares of the variance so tiny variances cannot underflow
    ra, rb = va / (va + vb), vb / (va + vb)
    df = 1.0 / (ra * ra / (sa.n - 1) + rb * rb / (sb.n - 1))
    t_stat = diff / se
    p_value = float(2.0 * st.t.sf(abs(t_stat), df))
    half = float(st.t.ppf(0.5 + conf / 2, df)) * se
    if min(sa.n, sb.n) < SMALL_N:
        warnings.append(f"small samples (n = {sa.n} and {sb.n}): the t-test assumes roughly normal means")
    extra = {
        "mean_a": sa.mean,
        "mean_b": sb.mean,
        "n_a": sa.n,
        "n_b": sb.n,
        "t": t_stat,
        "df": df,
        "se": se,
    }
    return StatResult(
        diff,
        diff - half,
        diff + half,
        sa.n + sb.n,
        "Welch t",
        conf,
        p_value,
        metric,
        tuple(warnings),
        extra,
    )


def _t_for_constant(mean: float) -> float:
    """t statistic when every difference is the same value (zero standard error)."""
    return 0.0 if mean == 0 else math.copysign(math.inf, mean)


def paired_t(
    a: MeanStat | ArrayLike,
    b: ArrayLike | None = None,
    confidence: float = 0.95,
    *,
    metric: str = "paired_difference",
) -> StatResult:
    """Paired t-test and interval for the mean within-subject difference ``a - b``.

    Parameters
    ----------
    a : MeanStat or array
        Either the first measure (then ``b`` is the second, paired by position; pairs with a missing value
        are dropped) or, with ``b=None``, the differences themselves (values or their MeanStat).
    b : array, optional
        The second measure.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    StatResult
        Mean difference, t-interval, two-sided p-value against 0; ``extra`` has ``t``, ``df``, ``sd``.
    """
    if b is None:
        diffs = _as_mean(a)
    else:
        if isinstance(a, MeanStat):
            raise TypeError("with two measures pass both as arrays; a MeanStat must hold the differences")
        x = np.asarray(a, dtype=float).ravel()
        y = np.asarray(b, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"paired data need equal lengths, got {x.size} and {y.size}")
        keep = ~(np.isnan(x) | np.isnan(y))
        diffs = MeanStat.from_values(as_float_array(x[keep] - y[keep]))
    res = mean_ci(diffs, confidence, metric=metric)
    if diffs.n < 2:
        return res
    se = diffs.se
    t_stat = diffs.mean / se if se > 0 else _t_for_constant(diffs.mean)
    p_value = float(2.0 * st.t.sf(abs(t_stat), diffs.n - 1))
    extra = {**res.extra, "t": t_stat}
    return replace(res, method="paired t", p_value=p_value, extra=extra)


def ces(data: MeanData, scale: int, confidence: float = 0.95) -> StatResult:
    """Customer Effort Score: the mean answer on a 1-5 or 1-7 scale, with a t-interval.

    The scale is required and checked: 5- and 7-point CES are not comparable (Formbricks PR #9035), so
    answers outside ``1..scale`` raise ValueError and a 7-point study whose answers never exceed 5 gets a
    warning. A :class:`MeanStat` without min/max cannot be checked and gets a warning.

    Parameters
    ----------
    data : RatingCounts, MeanStat or array of answers
        Answers on ``1..scale``.
    scale : {5, 7}
        Number of scale points.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    StatResult
        ``metric="ces"``, interval clipped to ``[1, scale]``, ``extra["scale"]``.
    """
    if scale not in (5, 7):
        raise ValueError(f"CES scale must be 5 or 7 points, got {scale!r}")
    warnings: list[str] = []
    if isinstance(data, RatingCounts):
        if (data.low, data.high) != (1, scale):
            raise ValueError(f"CES is on 1-{scale} but the counts are on {data.low}-{data.high}")
        s = data.mean_stat()
    elif isinstance(data, MeanStat):
        s = data
        if s.minimum is None or s.maximum is None:
            warnings.append(f"range of the answers unknown: cannot verify they are on 1-{scale}")
        elif s.n and (s.minimum < 1 or s.maximum > scale):
            raise ValueError(f"CES answers range {s.minimum:g}-{s.maximum:g}, outside the 1-{scale} scale")
    else:
        s = RatingCounts.from_values(data, 1, scale).mean_stat()
    if scale == 7 and s.n >= 10 and s.maximum is not None and s.maximum <= 5:
        warnings.append("7-point CES but no answer above 5: check these are not 5-point answers")
    res = mean_ci(s, confidence, bounds=(1.0, float(scale)), metric="ces")
    return replace(res, warnings=(*warnings, *res.warnings), extra={**res.extra, "scale": scale})
