"""Standardized usability questionnaires: SUS, SEQ, UMUX-Lite and UX-Lite.

Answers may be numbers or text labels ("Strongly agree", "Somewhat disagree", "Neither agree nor disagree";
case and spacing do not matter). An unknown label or an out-of-range number raises ValueError naming the
row and column.

Sources: Brooke (1996) for SUS scoring; Lewis & Sauro (2009) for the Usability/Learnability subscales;
Sauro & Lewis, *Quantifying the User Experience* 2nd ed. (2016) for the curved grading scale (CGS) and its
percentile ranges; measuringu.com/seq10/ for SEQ; Lewis, Utesch & Maher (2013) for UMUX-Lite and
measuringu.com/from-umux-lite-to-ux-lite/ for UX-Lite.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as st

from cxlens.stats.means import mean_ci
from cxlens.stats.result import StatResult
from cxlens.stats.sufficient import MeanStat

__all__ = [
    "LIKERT_5",
    "LIKERT_7",
    "parse_likert",
    "seq",
    "sus",
    "sus_grade",
    "sus_percentile",
    "sus_scores",
    "umux_lite",
    "ux_lite",
]

#: Text labels of a 5-point agreement item (the SUS wording variants in use).
LIKERT_5: Mapping[str, int] = {
    "strongly disagree": 1,
    "disagree": 2,
    "somewhat disagree": 2,
    "slightly disagree": 2,
    "neither agree nor disagree": 3,
    "neither agree or disagree": 3,
    "neutral": 3,
    "agree": 4,
    "somewhat agree": 4,
    "slightly agree": 4,
    "strongly agree": 5,
}
#: Text labels of a 7-point agreement item (UMUX-Lite), plus the SEQ end points.
LIKERT_7: Mapping[str, int] = {
    "strongly disagree": 1,
    "disagree": 2,
    "somewhat disagree": 3,
    "slightly disagree": 3,
    "neither agree nor disagree": 4,
    "neither agree or disagree": 4,
    "neutral": 4,
    "somewhat agree": 5,
    "slightly agree": 5,
    "agree": 6,
    "strongly agree": 7,
    "very difficult": 1,
    "very easy": 7,
}
_LIKERT = {5: LIKERT_5, 7: LIKERT_7}

# Sauro-Lewis curved grading scale (QUX 2e, Table 8.5; anchors.md §2): lowest mean SUS of each grade.
_CGS = (
    (84.1, "A+"),
    (80.8, "A"),
    (78.9, "A-"),
    (77.2, "B+"),
    (74.1, "B"),
    (72.6, "B-"),
    (71.1, "C+"),
    (65.0, "C"),
    (62.7, "C-"),
    (51.7, "D"),
    (0.0, "F"),
)
# Percentile rank at the lower bound of each CGS grade (same table); linear interpolation in between.
_CGS_PCT_X = (0.0, 51.7, 62.7, 65.0, 71.1, 72.6, 74.1, 77.2, 78.9, 80.8, 84.1, 100.0)
_CGS_PCT_Y = (0.0, 15.0, 35.0, 41.0, 60.0, 65.0, 70.0, 80.0, 85.0, 90.0, 96.0, 100.0)

_SUS_ODD = np.array([0, 2, 4, 6, 8])  # items 1, 3, 5, 7, 9 (positively worded): r - 1
_SUS_EVEN = np.array([1, 3, 5, 7, 9])  # items 2, 4, 6, 8, 10 (negatively worded): 5 - r
_SUS_LEARN = np.array([3, 9])  # items 4 and 10 (Lewis & Sauro 2009)
_SUS_USAB = np.array([0, 1, 2, 4, 5, 6, 7, 8])
SEQ_AVERAGE = 5.5  # measuringu.com/seq10/: historical average about 5.5 (5.3-5.6)


def _norm_label(value: str) -> str:
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", value.strip().lower())
    return re.sub(r"\s+", " ", text)


def _as_frame(responses: Any, n_items: int | None, items: Sequence[Any] | None, what: str) -> pd.DataFrame:
    if isinstance(responses, pd.DataFrame):
        df = responses if items is None else responses.loc[:, list(items)]
    else:
        arr = np.asarray(responses, dtype=object)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ValueError(f"{what} answers must be a table (rows = respondents, columns = items)")
        df = pd.DataFrame(arr, columns=[f"item {j + 1}" for j in range(arr.shape[1])])
        if items is not None:
            df = df.iloc[:, list(items)]
    if n_items is not None and df.shape[1] != n_items:
        raise ValueError(
            f"{what} needs {n_items} item columns, got {df.shape[1]}: {list(df.columns)[:12]}; "
            "select the item columns (e.g. drop the participant id) or pass items=[...]"
        )
    return df


def parse_likert(
    responses: pd.DataFrame | ArrayLike,
    points: int = 5,
    *,
    labels: Mapping[str, int] | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
    """Convert Likert answers (numbers or text labels) into numbers ``1..points``.

    Parameters
    ----------
    responses : DataFrame or 1-D/2-D array
        Rows are respondents, columns are items.
    points : int
        Number of scale points (5 or 7 have built-in labels: :data:`LIKERT_5`, :data:`LIKERT_7`).
    labels : mapping, optional
        Own label-to-number map (keys compared case- and whitespace-insensitively).
    missing : {"raise", "keep"}
        Whether an empty answer (None, NaN, "") raises or stays NaN.

    Returns
    -------
    DataFrame
        Same index and columns, float values.

    Raises
    ------
    ValueError
        For an unknown label, a non-integer or out-of-range number, or (with ``missing="raise"``) an empty
        answer; the message names the row (index label) and the column.
    """
    df = _as_frame(responses, None, None, "Likert")
    mapping = {_norm_label(k): v for k, v in (labels or _LIKERT.get(points, {})).items()}
    out = np.empty(df.shape, dtype=float)
    for j, col in enumerate(df.columns):
        raw = df.iloc[:, j].to_numpy(dtype=object)
        for i, v in enumerate(raw):
            out[i, j] = _parse_answer(v, mapping, points, missing, df.index[i], col)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


def _parse_answer(v: Any, mapping: Mapping[str, int], points: int, missing: str, row: Any, col: Any) -> float:
    where = f"row {row!r}, column {str(col).strip()!r}"
    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
        if missing == "raise":
            raise ValueError(f"{where}: missing answer")
        return math.nan
    if isinstance(v, str):
        key = _norm_label(v)
        if key in mapping:
            return float(mapping[key])
        try:
            num = float(key)
        except ValueError:
            known = ", ".join(sorted({k for k in mapping}))
            raise ValueError(
                f"{where}: unknown answer {v!r}; expected a number 1-{points} or one of: {known}"
            ) from None
    else:
        try:
            num = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: answer {v!r} is neither a number nor a label") from None
    if num != round(num) or not 1 <= num <= points:
        raise ValueError(f"{where}: answer {v!r} is outside the 1-{points} scale (whole numbers only)")
    return num


def sus_scores(
    responses: pd.DataFrame | ArrayLike,
    *,
    items: Sequence[Any] | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
    """Score the System Usability Scale per respondent.

    Odd items score ``r - 1``, even items ``5 - r``; the sum times 2.5 gives 0-100 (Brooke 1996). The
    Usability subscale (items 1-3, 5-9) is the sum times 3.125 and Learnability (items 4, 10) the sum times
    12.5, both 0-100 (Lewis & Sauro 2009).

    Parameters
    ----------
    responses : DataFrame or 2-D array
        One row per respondent, the 10 items in questionnaire order, as numbers 1-5 or text labels.
    items : sequence, optional
        The 10 item columns (names for a DataFrame, positions for an array), if there are other columns.
    missing : {"raise", "drop"}
        A respondent with a missing item raises ValueError (default) or is dropped.

    Returns
    -------
    DataFrame
        Columns ``sus``, ``usability``, ``learnability``, indexed like the input.
    """
    df = _as_frame(responses, 10, items, "SUS")
    if missing not in ("raise", "drop"):
        raise ValueError("missing must be 'raise' or 'drop'")
    values = parse_likert(df, 5, missing="raise" if missing == "raise" else "keep")
    values = values.dropna()
    v = values.to_numpy()
    contrib = np.empty_like(v)
    contrib[:, _SUS_ODD] = v[:, _SUS_ODD] - 1.0
    contrib[:, _SUS_EVEN] = 5.0 - v[:, _SUS_EVEN]
    return pd.DataFrame(
        {
            "sus": contrib.sum(axis=1) * 2.5,
            "usability": contrib[:, _SUS_USAB].sum(axis=1) * 3.125,
            "learnability": contrib[:, _SUS_LEARN].sum(axis=1) * 12.5,
        },
        index=values.index,
    )


def sus_grade(score: float) -> str:
    """Sauro-Lewis curved-grading-scale letter (A+ to F) for a mean SUS score.

    Lower bounds: A+ 84.1, A 80.8, A- 78.9, B+ 77.2, B 74.1, B- 72.6, C+ 71.1, C 65.0, C- 62.7, D 51.7,
    F below (Sauro & Lewis, QUX 2e, 2016, based on 241 studies).
    """
    s = float(score)
    if not 0.0 <= s <= 100.0:
        raise ValueError(f"SUS scores run from 0 to 100, got {score!r}")
    return next(grade for low, grade in _CGS if s >= low)


def sus_percentile(score: float) -> float:
    """Approximate percentile rank (0-100) of a mean SUS score among the CGS reference studies.

    Linear interpolation between the percentile at each grade boundary of the Sauro-Lewis curved grading
    scale (e.g. 51.7 -> 15th, 65.0 -> 41st, 84.1 -> 96th). It reproduces the published anchors 68 ≈ 50th
    and 75 ≈ 73rd; between boundaries it is an approximation, not the published lookup table.
    """
    s = float(score)
    if not 0.0 <= s <= 100.0:
        raise ValueError(f"SUS scores run from 0 to 100, got {score!r}")
    return float(np.interp(s, _CGS_PCT_X, _CGS_PCT_Y))


def _with_benchmark(res: StatResult, stat: MeanStat, benchmark: float | None) -> StatResult:
    """Add a two-sided one-sample t-test against ``benchmark`` (p-value) to a t-interval result."""
    if benchmark is None or stat.n < 2:
        return res
    if stat.se > 0:
        t_stat = (stat.mean - benchmark) / stat.se
        p = float(2.0 * st.t.sf(abs(t_stat), stat.n - 1))
    else:
        t_stat, p = (0.0, 1.0) if stat.mean == benchmark else (math.inf, 0.0)
    extra = {**res.extra, "benchmark": benchmark, "t": t_stat}
    return replace(res, method=res.method + ", one-sample t vs benchmark", p_value=p, extra=extra)


def sus(
    responses: pd.DataFrame | ArrayLike,
    confidence: float = 0.95,
    *,
    items: Sequence[Any] | None = None,
    missing: str = "raise",
    benchmark: float | None = None,
) -> StatResult:
    """Mean SUS score with a t-interval, grade, percentile and subscales.

    Parameters
    ----------
    responses : DataFrame or 2-D array
        See :func:`sus_scores`.
    confidence : float
        Two-sided confidence level.
    items, missing
        See :func:`sus_scores`.
    benchmark : float, optional
        If given (e.g. 68, the historical average), a one-sample t-test against it fills ``p_value``.

    Returns
    -------
    StatResult
        ``metric="sus"`` on 0-100; ``extra``: ``sd``, ``median``, ``min``, ``max``, ``grade`` (CGS),
        ``grade_range`` (grades of the interval bounds), ``percentile``, ``usability`` and
        ``learnability`` (mean and interval each), ``dropped`` respondents.
    """
    scores = sus_scores(responses, items=items, missing=missing)
    n_in = len(responses) if hasattr(responses, "__len__") else len(scores)
    stat = MeanStat.from_values(scores["sus"])
    res = mean_ci(stat, confidence, bounds=(0.0, 100.0), metric="sus")
    warnings = list(res.warnings)
    dropped = n_in - len(scores)
    if dropped:
        warnings.append(f"{dropped} respondent(s) with missing items dropped")
    extra: dict[str, Any] = {**res.extra, "dropped": dropped}
    if stat.n:
        extra.update(
            {
                "median": float(scores["sus"].median()),
                "grade": sus_grade(res.estimate),
                "percentile": sus_percentile(res.estimate),
            }
        )
        if stat.n >= 2:
            extra["grade_range"] = (sus_grade(res.ci_low), sus_grade(res.ci_high))
        for sub in ("usability", "learnability"):
            r = mean_ci(scores[sub], confidence, bounds=(0.0, 100.0))
            extra[sub] = {"mean": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high}
    out = replace(res, warnings=tuple(warnings), extra=extra)
    return _with_benchmark(out, stat, benchmark)


def seq(responses: ArrayLike, confidence: float = 0.95, *, benchmark: float | None = None) -> StatResult:
    """Single Ease Question: mean of one 7-point item (1 very difficult .. 7 very easy) with a t-interval.

    ``extra["reference_average"]`` is 5.5, MeasuringU's historical average (measuringu.com/seq10/); pass
    ``benchmark`` to test against a value.
    """
    values = parse_likert(np.asarray(responses, dtype=object).reshape(-1, 1), 7, missing="keep").iloc[:, 0]
    stat = MeanStat.from_values(values)
    res = mean_ci(stat, confidence, bounds=(1.0, 7.0), metric="seq")
    res = replace(res, extra={**res.extra, "reference_average": SEQ_AVERAGE})
    return _with_benchmark(res, stat, benchmark)


def umux_lite(
    responses: pd.DataFrame | ArrayLike,
    confidence: float = 0.95,
    *,
    points: int = 7,
    sus_equivalent: bool = False,
    benchmark: float | None = None,
) -> StatResult:
    """UMUX-Lite (two 7-point items) or UX-Lite (two 5-point items) on a 0-100 scale.

    Score per respondent ``(item1 + item2 - 2) × 100 / (2 × (points - 1))``: ``× 100/12`` for 7 points
    (Lewis, Utesch & Maher 2013), ``× 100/8`` for UX-Lite's 5 points (MeasuringU).

    Parameters
    ----------
    responses : DataFrame or 2-D array
        Two columns (capabilities, ease), numbers or agreement labels; incomplete rows are dropped.
    confidence : float
        Two-sided confidence level.
    points : {5, 7}
        Scale points of the items.
    sus_equivalent : bool
        Apply the early regression ``0.65 × score + 22.9`` (Lewis et al. 2013) to put scores on the SUS
        scale. MeasuringU has since dropped it in favour of the plain score; a warning says so.
    benchmark : float, optional
        If given, a one-sample t-test against it fills ``p_value``.

    Returns
    -------
    StatResult
        ``metric`` is ``"umux_lite"`` (7 points) or ``"ux_lite"`` (5 points).
    """
    if points not in (5, 7):
        raise ValueError(f"points must be 5 (UX-Lite) or 7 (UMUX-Lite), got {points!r}")
    df = _as_frame(responses, 2, None, "UMUX-Lite")
    values = parse_likert(df, points, missing="keep").dropna().to_numpy()
    scores = (values.sum(axis=1) - 2.0) * 100.0 / (2.0 * (points - 1))
    warnings: list[str] = []
    dropped = len(df) - len(values)
    if dropped:
        warnings.append(f"{dropped} respondent(s) with a missing item dropped")
    if sus_equivalent:
        scores = 0.65 * scores + 22.9
        warnings.append(
            "regression-adjusted (0.65 x + 22.9, Lewis et al. 2013); MeasuringU now uses the plain score"
        )
    metric = "umux_lite" if points == 7 else "ux_lite"
    stat = MeanStat.from_values(scores)
    res = mean_ci(stat, confidence, bounds=(0.0, 100.0), metric=metric)
    extra = {**res.extra, "points": points, "sus_equivalent": sus_equivalent}
    out = replace(res, warnings=(*warnings, *res.warnings), extra=extra)
    return _with_benchmark(out, stat, benchmark)


def ux_lite(responses: pd.DataFrame | ArrayLike, confidence: float = 0.95, **kwargs: Any) -> StatResult:
    """UX-Lite: :func:`umux_lite` with 5-point items (``(i1 + i2 - 2) × 100/8``)."""
    return umux_lite(responses, confidence, points=5, **kwargs)
