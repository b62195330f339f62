"""Net Promoter Score with honest uncertainty.

NPS = % promoters (9-10) - % detractors (0-6), in points from -100 to 100. The interval is the adjusted-Wald
interval for a difference of two multinomial proportions recommended by MeasuringU after Rocks (2016,
*The American Statistician* 70(4)), "Interval estimation for the Net Promoter Score": add 3 to n and 3/4 to
promoters and to detractors, then use the variance of a difference of two multinomial proportions. No
library ships it, so it is written out here (sources: measuringu.com/nps-confidence-intervals/ and
measuringu.com/nps-significance-test/).
"""

from __future__ import annotations

import math
from typing import Literal

from numpy.typing import ArrayLike
from scipy import stats as st

from cxlens.stats._common import SMALL_N, check_confidence, z_for
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import NpsCounts, RatingCounts

__all__ = ["nps", "nps_difference"]

NpsMethod = Literal["adjusted-wald", "wald"]
_OUTSIDE = (
    "the observed value lies outside the adjusted-Wald interval: the adjustment pulls the interval toward 0 "
    "when a group is tiny or all in one band; the interval is the better guide"
)


def _as_counts(data: NpsCounts | RatingCounts | ArrayLike) -> NpsCounts:
    if isinstance(data, NpsCounts):
        return data
    if isinstance(data, RatingCounts):
        return data.to_nps()
    return NpsCounts.from_scores(data)


def _moments(c: NpsCounts, adjusted: bool) -> tuple[float, float, float]:
    """Return (NPS as a fraction, variance of one respondent's -1/0/+1 score, effective n).

    Adjusted-Wald (Rocks 2016; MeasuringU): n' = n + 3, p' = (P + 3/4)/n', d' = (D + 3/4)/n', and
    Var = p' + d' - (p' - d')². Wald: the same with the raw proportions and n.
    """
    if adjusted:
        n = c.n + 3.0
        p, d = (c.promoters + 0.75) / n, (c.detractors + 0.75) / n
    else:
        n = float(c.n)
        p, d = c.promoters / n, c.detractors / n
    return p - d, max(p + d - (p - d) ** 2, 0.0), n


def nps(
    data: NpsCounts | RatingCounts | ArrayLike,
    confidence: float = 0.95,
    method: NpsMethod | str = "adjusted-wald",
) -> StatResult:
    """Net Promoter Score with a confidence interval.

    Parameters
    ----------
    data : NpsCounts, RatingCounts on 0-10, or array of 0-10 scores
        Scored respondents (missing scores are skipped by ``NpsCounts.from_scores``).
    confidence : float
        Two-sided confidence level.
    method : {"adjusted-wald", "wald"}
        ``adjusted-wald`` (default; best coverage in Rocks 2016 and MeasuringU's evaluations) or the plain
        Wald interval on the raw proportions.

    Returns
    -------
    StatResult
        ``metric="nps"``; estimate is the observed NPS in points (one respondent = 100/n points), interval
        clipped to [-100, 100]. ``extra`` has the counts, shares and the adjusted NPS (the interval centre).
    """
    c = _as_counts(data)
    conf = check_confidence(confidence)
    key = str(method).lower().replace("_", "-")
    if key not in ("adjusted-wald", "wald"):
        raise ValueError(f"unknown NPS method {method!r}; use 'adjusted-wald' or 'wald'")
    label = "adjusted-Wald (Rocks 2016)" if key == "adjusted-wald" else "Wald (multinomial)"
    extra: dict[str, object] = {
        "promoters": c.promoters,
        "passives": c.passives,
        "detractors": c.detractors,
    }
    if c.n == 0:
        return StatResult(
            math.nan,
            math.nan,
            math.nan,
            0,
            label,
            conf,
            None,
            "nps",
            ("no scored respondents: NPS is undefined",),
            extra,
        )
    z = z_for(conf)
    centre, var, n_eff = _moments(c, key == "adjusted-wald")
    half = z * math.sqrt(var / n_eff)
    low, high = max(100 * (centre - half), -100.0), min(100 * (centre + half), 100.0)
    warnings: list[str] = []
    if c.n < SMALL_N:
        warnings.append(
            f"small sample (n = {c.n} < {SMALL_N}): one respondent moves the NPS by {100 / c.n:.1f} points"
        )
    if key == "wald" and (c.n < 100 or min(c.promoters, c.detractors) < 5):
        warnings.append("Wald interval with few respondents in a band: adjusted-Wald is recommended")
    if not low <= c.nps <= high:
        warnings.append(_OUTSIDE)
    extra.update(
        {
            "promoter_share": c.promoters / c.n,
            "passive_share": c.passives / c.n,
            "detractor_share": c.detractors / c.n,
            "interval_centre": 100 * centre,
            "standard_error": 100 * math.sqrt(var / n_eff),
        }
    )
    return StatResult(c.nps, low, high, c.n, label, conf, None, "nps", tuple(warnings), extra)


def nps_difference(
    a: NpsCounts | RatingCounts | ArrayLike,
    b: NpsCounts | RatingCounts | ArrayLike,
    confidence: float = 0.95,
) -> StatResult:
    """Difference of two independent Net Promoter Scores (a - b) with an adjusted-Wald interval and test.

    Each group is adjusted as in :func:`nps` (n + 3, 3/4 added to promoters and to detractors); the standard
    error is ``sqrt(Var_a/n'_a + Var_b/n'_b)`` and ``z = (NPS'_a - NPS'_b)/SE`` gives a two-sided p-value
    (MeasuringU, "How to statistically compare two Net Promoter Scores", Lewis & Sauro 2021). Written out
    because no library ships it.

    Returns
    -------
    StatResult
        ``metric="nps_difference"``; estimate is the observed difference in points (interval clipped to
        [-200, 200]); ``p_value`` from the adjusted-Wald z test; ``n`` counts both groups.
    """
    ca, cb = _as_counts(a), _as_counts(b)
    conf = check_confidence(confidence)
    if ca.n == 0 or cb.n == 0:
        raise ValueError("both groups need at least one scored respondent")
    z = z_for(conf)
    centre_a, var_a, n_a = _moments(ca, True)
    centre_b, var_b, n_b = _moments(cb, True)
    se = math.sqrt(var_a / n_a + var_b / n_b)
    d_adj = centre_a - centre_b
    z_stat = d_adj / se if se > 0 else 0.0
    p_value = float(2.0 * st.norm.sf(abs(z_stat)))
    low, high = max(100 * (d_adj - z * se), -200.0), min(100 * (d_adj + z * se), 200.0)
    warnings = []
    if min(ca.n, cb.n) < SMALL_N:
        warnings.append(f"small sample (n = {ca.n} and {cb.n}): differences of NPS are very uncertain")
    if not low <= ca.nps - cb.nps <= high:
        warnings.append(_OUTSIDE)
    extra = {
        "nps_a": ca.nps,
        "nps_b": cb.nps,
        "n_a": ca.n,
        "n_b": cb.n,
        "interval_centre": 100 * d_adj,
        "standard_error": 100 * se,
        "z": z_stat,
    }
    return StatResult(
        ca.nps - cb.nps,
        low,
        high,
        ca.n + cb.n,
        "adjusted-Wald difference (Rocks 2016)",
        conf,
        p_value,
        "nps_difference",
        tuple(warnings),
        extra,
    )
