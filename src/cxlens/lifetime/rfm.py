"""RFM (recency, frequency, monetary) scores 1-5 and named segments.

Scores are quintiles computed so that they do not depend on row order and ties share a score:
``score = 1 + floor(5 * (number of customers strictly worse) / n)``, i.e. a customer's score is set by
the share of customers they beat. Higher is better for all three: R = 5 bought most recently,
F = 5 bought on the most days, M = 5 spent the most. Heavy ties (e.g. 60 % single buyers) therefore
leave some quintiles empty instead of splitting identical customers at random.

Segments use the common R x F grid (monetary is scored and reported but not used for the segment,
since it is strongly correlated with frequency). Rule table (first match wins; the cells are
disjoint and cover all 25 combinations):

==================  =======  =======  =============================================
segment             R        F        meaning
==================  =======  =======  =============================================
champions           5        4-5      bought recently, buy often
loyal               3-4      4-5      buy often, fairly recently
potential_loyalist  4-5      2-3      recent, a few purchases
new_customers       5        1        first purchase very recently
promising           4        1        recent, one purchase
need_attention      3        3        average recency and frequency
about_to_sleep      3        1-2      average recency, few purchases
cant_lose_them      1-2      5        used to buy very often, gone quiet
at_risk             1-2      3-4      bought often, long ago
hibernating         2        1-2      few purchases, long ago
lost                1        1-2      fewest purchases, longest ago
==================  =======  =======  =============================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError
from cxlens.lifetime.summary import day_of, to_days, to_series

__all__ = ["RFM_SEGMENT_RULES", "add_rfm_scores", "quintile_scores", "rfm_scores", "rfm_segment"]

ArrayLike = Any

#: (segment, R scores, F scores, description); see the module docstring.
RFM_SEGMENT_RULES: tuple[tuple[str, tuple[int, ...], tuple[int, ...], str], ...] = (
    ("champions", (5,), (4, 5), "bought recently, buy often"),
    ("loyal", (3, 4), (4, 5), "buy often, fairly recently"),
    ("potential_loyalist", (4, 5), (2, 3), "recent, a few purchases"),
    ("new_customers", (5,), (1,), "first purchase very recently"),
    ("promising", (4,), (1,), "recent, one purchase"),
    ("need_attention", (3,), (3,), "average recency and frequency"),
    ("about_to_sleep", (3,), (1, 2), "average recency, few purchases"),
    ("cant_lose_them", (1, 2), (5,), "used to buy very often, gone quiet"),
    ("at_risk", (1, 2), (3, 4), "bought often, long ago"),
    ("hibernating", (2,), (1, 2), "few purchases, long ago"),
    ("lost", (1,), (1, 2), "fewest purchases, longest ago"),
)

_GRID = np.empty((6, 6), dtype=object)
for _name, _rs, _fs, _ in RFM_SEGMENT_RULES:
    for _r in _rs:
        for _f in _fs:
            _GRID[_r, _f] = _name


def quintile_scores(values: ArrayLike, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 by share of customers beaten: ``1 + floor(5 * worse / n)``; ties share a score.

    Parameters
    ----------
    values : array-like
        One value per customer (no missing values).
    higher_is_better : bool, default True
        False for measures where smaller is better (days since last purchase).

    Returns
    -------
    numpy.ndarray
        int64 scores in 1..5.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.all(np.isfinite(v)):
        raise CxlensInputError("scores need finite values")
    key = v if higher_is_better else -v
    worse = np.searchsorted(np.sort(key), key, side="left")  # customers strictly below
    return (1 + np.floor(5 * worse / v.size)).astype(np.int64).clip(1, 5)


def rfm_segment(r_score: ArrayLike, f_score: ArrayLike) -> np.ndarray:
    """Segment names from R and F scores using :data:`RFM_SEGMENT_RULES`.

    Parameters
    ----------
    r_score, f_score : array-like
        Integer scores 1-5.

    Returns
    -------
    numpy.ndarray
        Segment name per customer (object array).
    """
    r = np.asarray(r_score)
    f = np.asarray(f_score)
    if np.any((r < 1) | (r > 5) | (f < 1) | (f > 5)):
        raise CxlensInputError("R and F scores must be integers 1-5")
    return _GRID[r.astype(np.int64), f.astype(np.int64)]


def rfm_scores(
    customer_ids: ArrayLike,
    timestamps: ArrayLike,
    amounts: ArrayLike,
    as_of: Any = None,
    monetary: str = "total",
) -> pd.DataFrame:
    """RFM table with quintile scores and segments, one row per customer.

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction (calendar day used).
    amounts : array-like
        Value of each transaction.
    as_of : date-like, optional
        Reference day for recency; later transactions are ignored. Default: the last transaction day.
    monetary : {"total", "mean"}, default "total"
        Monetary value: total spend, or mean spend per purchase day.

    Returns
    -------
    pandas.DataFrame
        ``customer``, ``recency_days`` (days since last purchase), ``frequency`` (purchase days),
        ``monetary``, ``r_score``, ``f_score``, ``m_score`` (1-5), ``rfm`` (e.g. "545") and
        ``segment``; sorted by customer.
    """
    if monetary not in ("total", "mean"):
        raise CxlensInputError("monetary must be 'total' or 'mean'", value=monetary)
    cust = to_series(customer_ids, "customer_ids")
    days = to_days(timestamps)
    amt = pd.to_numeric(to_series(amounts, "amounts"), errors="coerce").to_numpy(dtype=np.float64)
    if not (len(cust) == days.size == amt.size) or days.size == 0:
        raise CxlensInputError("customer_ids, timestamps and amounts must be non-empty and of equal length")
    if cust.isna().any() or not np.all(np.isfinite(amt)):
        raise CxlensInputError("customer_ids and amounts must not have missing values")
    ref = int(days.max()) if as_of is None else day_of(as_of, "as_of")
    keep = days <= ref
    if not keep.any():
        raise CxlensInputError("no transactions on or before as_of", value=str(as_of))
    df = pd.DataFrame({"c": cust[keep].to_numpy(), "d": days[keep], "a": amt[keep]})
    g = df.groupby("c", sort=True)
    out = pd.DataFrame(
        {
            "recency_days": (ref - g["d"].max()).astype(np.float64),
            "frequency": g["d"].nunique().astype(np.float64),
            "monetary": g["a"].sum(),
        }
    )
    if monetary == "mean":
        out["monetary"] = out["monetary"] / out["frequency"]
    out = out.rename_axis("customer").reset_index()
    return add_rfm_scores(out)


def add_rfm_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``r_score``, ``f_score``, ``m_score`` (quintiles 1-5), ``rfm`` ("545") and ``segment`` to a frame
    with ``recency_days``, ``frequency`` and ``monetary`` columns; returns the same frame.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    df["r_score"] = quintile_scores(df["recency_days"], higher_is_better=False)
    df["f_score"] = quintile_scores(df["frequency"])
    df["m_score"] = quintile_scores(df["monetary"])
    df["rfm"] = df["r_score"].astype(str) + df["f_score"].astype(str) + df["m_score"].astype(str)
    df["segment"] = rfm_segment(df["r_score"].to_numpy(), df["f_score"].to_numpy())
    return df
