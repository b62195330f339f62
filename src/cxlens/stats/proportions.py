"""Proportions: completion rates, top-2-box CSAT, conversions, and comparisons of two proportions.

Intervals
    ``adjusted-wald`` (Agresti-Coull; the default, recommended by Sauro & Lewis for small samples),
    ``wilson`` (score interval), ``exact`` (Clopper-Pearson, guaranteed coverage) and ``wald`` (textbook,
    only for large samples). Wilson and exact come from statsmodels; adjusted-Wald and Wald are written out
    because they take an explicit ``z`` (the OpenShift benchmark uses z = 1.64 exactly).
Comparisons
    :func:`two_proportion_test` is the N-1 two-proportion test for independent groups (Campbell 2007;
    Richardson 2011; recommended in Sauro & Lewis, *Quantifying the User Experience* 2nd ed., ch. 5) with
    an adjusted-Wald interval for the difference; :func:`mcnemar_exact` is McNemar's exact test for the same
    people measured twice, with the adjusted-Wald interval for matched pairs.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st
from statsmodels.stats.proportion import proportion_confint

from cxlens.stats._common import check_confidence, z_for, z_to_confidence
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import PairedProportionStat, ProportionStat, RatingCounts

__all__ = [
    "best_point_estimate",
    "csat",
    "mcnemar_exact",
    "proportion_ci",
    "two_proportion_test",
]

ProportionMethod = Literal["adjusted-wald", "wilson", "exact", "wald"]
PointMethod = Literal["mle", "adjusted", "laplace", "best"]

_METHOD_ALIASES = {
    "adjusted-wald": "adjusted-wald",
    "adjusted_wald": "adjusted-wald",
    "agresti-coull": "adjusted-wald",
    "agresti_coull": "adjusted-wald",
    "wilson": "wilson",
    "exact": "exact",
    "clopper-pearson": "exact",
    "wald": "wald",
}
_METHOD_LABELS = {
    "adjusted-wald": "adjusted-Wald (Agresti-Coull)",
    "wilson": "Wilson score",
    "exact": "exact (Clopper-Pearson)",
    "wald": "Wald",
}
_Z95 = float(st.norm.ppf(0.975))


def _as_proportion(data: ProportionStat | ArrayLike) -> ProportionStat:
    return data if isinstance(data, ProportionStat) else ProportionStat.from_values(data)


def _confidence_and_z(confidence: float, z: float | None) -> tuple[float, float]:
    if z is None:
        c = check_confidence(confidence)
        return c, z_for(c)
    return z_to_confidence(z), float(z)


def _adjusted_wald(x: float, n: float, z: float) -> tuple[float, float, float]:
    """Adjusted-Wald: p' = (x + z²/2)/(n + z²), p' ± z·sqrt(p'(1 - p')/(n + z²)) (Agresti & Coull 1998;
    Sauro & Lewis 2005). Returns (p', low, high), not clipped."""
    n_adj = n + z * z
    p_adj = (x + z * z / 2.0) / n_adj
    half = z * math.sqrt(p_adj * (1.0 - p_adj) / n_adj)
    return p_adj, p_adj - half, p_adj + half


def best_point_estimate(data: ProportionStat | ArrayLike, *, expected_high: bool = False) -> float:
    """Best point estimate of a small-sample proportion (Lewis & Sauro 2006, "When 100% really isn't 100%").

    Parameters
    ----------
    data : ProportionStat or array of 0/1
        Successes and trials.
    expected_high : bool
        False (no prior expectation): Laplace ``(x + 1)/(n + 2)``. True (rates expected between .5 and 1,
        as for task completion): Wilson ``(x + 1.92)/(n + 3.84)`` when the observed rate is below .5,
        Laplace when it is above .9, the plain proportion (MLE) otherwise.

    Returns
    -------
    float
        The estimate (NaN when ``n == 0``).
    """
    return _best_point(_as_proportion(data), expected_high)[0]


def _best_point(stat: ProportionStat, expected_high: bool) -> tuple[float, str]:
    x, n = stat.successes, stat.n
    if n == 0:
        return math.nan, "none"
    laplace = (x + 1.0) / (n + 2.0)
    if not expected_high:
        return laplace, "Laplace"
    mle = x / n
    if mle < 0.5:
        return (x + _Z95**2 / 2.0) / (n + _Z95**2), "Wilson"
    if mle > 0.9:
        return laplace, "Laplace"
    return mle, "MLE"


def proportion_ci(
    data: ProportionStat | ArrayLike,
    confidence: float = 0.95,
    method: ProportionMethod | str = "adjusted-wald",
    *,
    z: float | None = None,
    point: PointMethod | str = "mle",
    metric: str = "proportion",
) -> StatResult:
    """Confidence interval for a proportion.

    Parameters
    ----------
    data : ProportionStat or array of 0/1
        Successes and trials.
    confidence : float
        Two-sided confidence level (ignored when ``z`` is given).
    method : {"adjusted-wald", "wilson", "exact", "wald"}
        Interval method; aliases "agresti-coull" and "clopper-pearson" are accepted.
    z : float, optional
        Critical value to use instead of ``confidence`` (e.g. 1.64 to reproduce published benchmarks).
    point : {"mle", "adjusted", "laplace", "best"}
        Point estimate to report: the observed proportion, the adjusted-Wald centre ``p'``, Laplace
        ``(x+1)/(n+2)``, or :func:`best_point_estimate` with ``expected_high=True``.
    metric : str
        Name stored in the result.

    Returns
    -------
    StatResult
        Estimate and interval on the 0-1 scale; ``extra`` holds ``successes``, ``mle``,
        ``adjusted_estimate``, ``laplace`` and ``z``.
    """
    stat = _as_proportion(data)
    conf, zz = _confidence_and_z(confidence, z)
    key = _METHOD_ALIASES.get(str(method).lower())
    if key is None:
        raise ValueError(f"unknown proportion method {method!r}; use one of {sorted(set(_METHOD_ALIASES))}")
    x, n = stat.successes, stat.n
    warnings: list[str] = []
    extra: dict[str, object] = {"successes": x, "z": zz}
    if n == 0:
        warnings.append("no observations: the proportion is undefined")
        return StatResult(
            math.nan, math.nan, math.nan, 0, _METHOD_LABELS[key], conf, None, metric, tuple(warnings), extra
        )

    p_adj, aw_low, aw_high = _adjusted_wald(x, n, zz)
    if key == "adjusted-wald":
        low, high = aw_low, aw_high
    elif key == "wald":
        p = x / n
        half = zz * math.sqrt(p * (1.0 - p) / n)
        low, high = p - half, p + half
        if n < 150 or min(x, n - x) < 15:
            warnings.append(
                f"Wald interval with n = {n}: coverage is poor for small samples or extreme proportions; "
                "adjusted-Wald is recommended (Sauro & Lewis 2005)"
            )
    else:
        sm_method = "wilson" if key == "wilson" else "beta"
        lo, hi = proportion_confint(x, n, alpha=1.0 - conf, method=sm_method)
        # the exact bounds at x = 0 and x = n are 0 and 1; statsmodels returns them with rounding error
        low = 0.0 if x == 0 else float(lo)
        high = 1.0 if x == n else float(hi)
    extra["clipped"] = bool(low < 0.0 or high > 1.0)
    low, high = max(low, 0.0), min(high, 1.0)

    mle = x / n
    extra.update({"mle": mle, "adjusted_estimate": p_adj, "laplace": (x + 1.0) / (n + 2.0)})
    point_key = str(point).lower()
    if point_key == "mle":
        estimate = mle
    elif point_key == "adjusted":
        estimate = p_adj
    elif point_key == "laplace":
        estimate = (x + 1.0) / (n + 2.0)
    elif point_key == "best":
        estimate, rule = _best_point(stat, expected_high=True)
        extra["point_rule"] = rule
    else:
        raise ValueError(f"unknown point estimate {point!r}; use 'mle', 'adjusted', 'laplace' or 'best'")
    extra["point"] = point_key
    return StatResult(estimate, low, high, n, _METHOD_LABELS[key], conf, None, metric, tuple(warnings), extra)


def csat(
    data: RatingCounts | ProportionStat | ArrayLike,
    *,
    scale: int = 5,
    top: int = 2,
    confidence: float = 0.95,
    method: ProportionMethod | str = "adjusted-wald",
) -> StatResult:
    """CSAT as a top-box share: by default the proportion answering 4 or 5 on a 1-5 scale.

    Parameters
    ----------
    data : RatingCounts, ProportionStat or array of answers
        Answers ``1..scale`` (or their counts); a ProportionStat is taken as the top-box count as is.
    scale : int
        Highest scale point; answers run from 1.
    top : int
        Number of top points that count as satisfied.
    confidence, method
        As in :func:`proportion_ci`.

    Returns
    -------
    StatResult
        ``metric="csat"``; estimate is the observed share on 0-1.
    """
    if isinstance(data, ProportionStat):
        stat = data
    else:
        counts = data if isinstance(data, RatingCounts) else RatingCounts.from_values(data, 1, scale)
        if (counts.low, counts.high) != (1, scale):
            raise ValueError(f"CSAT scale is 1-{scale} but the counts are on {counts.low}-{counts.high}")
        stat = counts.top_box(top)
    res = proportion_ci(stat, confidence, method, metric="csat")
    return replace(res, extra={**res.extra, "scale": scale, "top_box": top})


def two_proportion_test(
    a: ProportionStat | ArrayLike, b: ProportionStat | ArrayLike, confidence: float = 0.95
) -> StatResult:
    """Compare two independent proportions: N-1 two-proportion test with an adjusted-Wald interval.

    Written out because no library ships it. Test (Campbell 2007; Richardson 2011; Sauro & Lewis, QUX 2e
    ch. 5): ``z = (p_a - p_b) / sqrt(P(1 - P)(1/n_a + 1/n_b)) * sqrt((N - 1)/N)`` with the pooled ``P`` and
    ``N = n_a + n_b``, two-sided normal p-value (the N-1 chi-square). Interval: adjusted-Wald for a
    difference, adding ``z²/4`` successes and ``z²/2`` trials to each group (Agresti & Caffo 2000 for
    z = 2; Sauro & Lewis ch. 5).

    Returns
    -------
    StatResult
        ``estimate = p_a - p_b`` (observed), interval clipped to [-1, 1], ``p_value`` from the N-1 test.
        When an expected cell count is below 1 the N-1 test is not recommended; a warning is added and
        Fisher's exact p-value is given in ``extra["fisher_p_value"]``.
    """
    sa, sb = _as_proportion(a), _as_proportion(b)
    conf = check_confidence(confidence)
    z = z_for(conf)
    if sa.n == 0 or sb.n == 0:
        raise ValueError("both groups need at least one observation")
    xa, na, xb, nb = sa.successes, sa.n, sb.successes, sb.n
    big_n = na + nb
    pooled = (xa + xb) / big_n
    diff = xa / na - xb / nb
    if 0.0 < pooled < 1.0:
        z_stat = diff / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb)) * math.sqrt((big_n - 1) / big_n)
        p_value = float(2.0 * st.norm.sf(abs(z_stat)))
    else:
        z_stat, p_value = 0.0, 1.0

    pa = (xa + z * z / 4.0) / (na + z * z / 2.0)
    pb = (xb + z * z / 4.0) / (nb + z * z / 2.0)
    se = math.sqrt(pa * (1 - pa) / (na + z * z / 2.0) + pb * (1 - pb) / (nb + z * z / 2.0))
    low, high = max(pa - pb - z * se, -1.0), min(pa - pb + z * se, 1.0)

    warnings: list[str] = []
    extra: dict[str, object] = {
        "p_a": xa / na,
        "p_b": xb / nb,
        "n_a": na,
        "n_b": nb,
        "z": z_stat,
        "adjusted_difference": pa - pb,
    }
    expected = np.outer([na, nb], [pooled, 1 - pooled])
    if expected.min() < 1.0:
        warnings.append(
            "an expected cell count is below 1: the N-1 test is not recommended; see Fisher's exact p-value"
        )
        extra["fisher_p_value"] = float(st.fisher_exact([[xa, na - xa], [xb, nb - xb]]).pvalue)
    return StatResult(
        diff,
        low,
        high,
        big_n,
        "N-1 two-proportion test, adjusted-Wald difference",
        conf,
        p_value,
        "difference_in_proportions",
        tuple(warnings),
        extra,
    )


def mcnemar_exact(
    data: PairedProportionStat | tuple[ArrayLike, ArrayLike], confidence: float = 0.95
) -> StatResult:
    """McNemar's exact test for paired proportions (same participants, two designs or tasks).

    The p-value is the two-sided exact binomial test of the discordant pairs against 1/2 (scipy). The
    interval is the adjusted-Wald for matched pairs, written out (Agresti & Min 2005; Sauro & Lewis, QUX
    2e ch. 5): add ``z²/8`` to each of the four cells, then ``d' ± z·sqrt(((p12' + p21') - d'²)/n')``.

    Parameters
    ----------
    data : PairedProportionStat or (first, second)
        The 2x2 paired table, or two equally long 0/1 sequences.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    StatResult
        ``estimate = p_first - p_second``, interval clipped to [-1, 1], exact ``p_value``.
    """
    stat = data if isinstance(data, PairedProportionStat) else PairedProportionStat.from_values(*data)
    conf = check_confidence(confidence)
    z = z_for(conf)
    n = stat.n
    if n == 0:
        raise ValueError("McNemar's test needs at least one pair")
    b, c = stat.first_only, stat.second_only
    p_value = float(st.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    adj = z * z / 8.0
    n_adj = n + 4 * adj
    p12, p21 = (b + adj) / n_adj, (c + adj) / n_adj
    d_adj = p12 - p21
    se = math.sqrt(max((p12 + p21) - d_adj * d_adj, 0.0) / n_adj)
    low, high = max(d_adj - z * se, -1.0), min(d_adj + z * se, 1.0)
    extra = {
        "first_only": b,
        "second_only": c,
        "p_first": stat.first.p,
        "p_second": stat.second.p,
        "adjusted_difference": d_adj,
    }
    warnings = () if b + c else ("no discordant pairs: the test has no information",)
    return StatResult(
        (b - c) / n,
        low,
        high,
        n,
        "McNemar exact, adjusted-Wald matched pairs",
        conf,
        p_value,
        "paired_difference_in_proportions",
        warnings,
        extra,
    )
