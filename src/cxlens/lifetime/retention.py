"""Retention, churn, repeat purchase, cohort and revenue-retention rates from transactions.

All functions take plain columns (customer, time[, amount]) and are vectorised: they reduce the data to
distinct (customer, period) pairs with one groupby and work on those.

Definitions (``period`` is a pandas period alias: "M" month, "W" week, "Q" quarter, "D" day):

* A customer is **active** in period p when they bought in one of the ``active_window`` periods ending
  at p (``active_window=1``: bought in p itself). **New** in p: first purchase ever in p.
* **Customer retention rate** of period p: CRR = (E - N) / S, with S = active customers at the end of
  p - 1, E = active at the end of p, N = new in p (the standard formula, e.g. Kumar & Reinartz,
  *Customer Relationship Management*). E - N also counts customers who come back after a gap longer
  than the window ("reactivated"); ``retained`` (active in both p - 1 and p) and ``reactivated`` are
  reported separately, with ``strict_retention_rate`` = retained / S. **Churn rate** = lost / S, the share
  of the period's starting customers not active at its end (= 1 - strict retention). In non-contractual
  data CRR can exceed 1 when many lapsed customers come back, so churn is not defined as 1 - CRR (that
  would go negative); a longer ``active_window`` or ``strict_retention_rate`` is then the better reading.
* **Repeat-purchase rate**: share of customers with at least two purchase days (optionally within
  ``within_days`` of their first purchase).
* **Cohorts**: customers grouped by the period of their first purchase; for each cohort and each
  period offset k = 0, 1, ... : active customers, orders (purchase days), revenue, and their ratios to
  the cohort's size / period-0 revenue.
* **Revenue retention** of period p: among customers with revenue in p - 1, net revenue retention =
  their revenue in p / their revenue in p - 1; gross revenue retention caps each customer's revenue
  in p at its p - 1 level (no expansion), so it is <= 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError
from cxlens.lifetime.summary import to_days, to_series

__all__ = [
    "cohort_matrix",
    "cohort_table",
    "customer_retention",
    "repeat_purchase_rate",
    "revenue_retention",
]

ArrayLike = Any


def _frame(
    customer_ids: ArrayLike, timestamps: ArrayLike, amounts: ArrayLike | None, period: str
) -> tuple[pd.DataFrame, pd.Period]:
    """Transactions as integer customer codes, day numbers and period numbers (0 = first period)."""
    cust = to_series(customer_ids, "customer_ids")
    days = to_days(timestamps)
    if len(cust) != days.size:
        raise CxlensInputError(
            "customer_ids and timestamps must have the same length", value=[len(cust), days.size]
        )
    if days.size == 0:
        raise CxlensInputError("no transactions")
    if cust.isna().any():
        raise CxlensInputError("customer_ids has missing values", column="customer_ids")
    try:
        per = pd.DatetimeIndex(days.astype("datetime64[D]")).to_period(period)
    except (ValueError, TypeError, AttributeError) as exc:
        raise CxlensInputError(
            "period must be a pandas period alias such as 'M', 'W', 'Q', 'D'", value=period
        ) from exc
    amt = np.zeros(days.size)
    if amounts is not None:
        amt = pd.to_numeric(to_series(amounts, "amounts"), errors="coerce").to_numpy(dtype=np.float64)
        if amt.size != days.size:
            raise CxlensInputError("amounts must have the same length as customer_ids")
        if not np.all(np.isfinite(amt)):
            raise CxlensInputError("amounts has missing or non-numeric values", column="amounts")
    codes, _ = pd.factorize(cust)
    first = per.min()
    df = pd.DataFrame({"c": codes, "p": per.asi8 - first.ordinal, "d": days, "a": amt})
    return df, first


def _label(first: pd.Period, offsets: np.ndarray) -> list[str]:
    return [str(first + int(k)) for k in offsets]


def customer_retention(
    customer_ids: ArrayLike, timestamps: ArrayLike, period: str = "M", active_window: int = 1
) -> pd.DataFrame:
    """Per-period customer retention rate (E - N) / S and churn rate.

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction.
    period : str, default "M"
        Pandas period alias ("M", "W", "Q", "D", ...).
    active_window : int, default 1
        A customer counts as active at the end of period p if they bought in the last
        ``active_window`` periods (p - window + 1 .. p).

    Returns
    -------
    pandas.DataFrame
        One row per period from the first to the last transaction: ``period``, ``start_customers`` (S),
        ``end_customers`` (E), ``new_customers`` (N), ``retained``, ``reactivated``, ``lost``,
        ``retention_rate`` ((E - N)/S), ``churn_rate`` (lost / S, never negative), ``strict_retention_rate``
        (retained / S). Rates are NaN when S = 0 (the first period).
    """
    if int(active_window) != active_window or active_window < 1:
        raise CxlensInputError("active_window must be a whole number >= 1", value=active_window)
    df, first = _frame(customer_ids, timestamps, None, period)
    pairs = df[["c", "p"]].drop_duplicates()
    n_per = int(pairs["p"].max()) + 1
    first_p = pairs.groupby("c")["p"].min()
    new = np.bincount(first_p.to_numpy(), minlength=n_per)
    # active set: each purchase period p makes the customer active in p .. p + window - 1
    shifts = np.arange(int(active_window))
    act = pd.DataFrame(
        {
            "c": np.repeat(pairs["c"].to_numpy(), shifts.size),
            "p": (pairs["p"].to_numpy()[:, None] + shifts[None, :]).ravel(),
        }
    )
    act = act[act["p"] < n_per].drop_duplicates()
    end = np.bincount(act["p"].to_numpy(), minlength=n_per)
    start = np.r_[0, end[:-1]]
    prev = act.assign(p=act["p"] + 1)
    both = act.merge(prev, on=["c", "p"], how="inner")
    retained = np.bincount(both["p"].to_numpy(), minlength=n_per)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(start > 0, (end - new) / np.maximum(start, 1), np.nan)
        strict = np.where(start > 0, retained / np.maximum(start, 1), np.nan)
    return pd.DataFrame(
        {
            "period": _label(first, np.arange(n_per)),
            "start_customers": start,
            "end_customers": end,
            "new_customers": new,
            "retained": retained,
            "reactivated": end - new - retained,
            "lost": start - retained,
            "retention_rate": rate,
            "churn_rate": np.where(start > 0, (start - retained) / np.maximum(start, 1), np.nan),
            "strict_retention_rate": strict,
        }
    )


def repeat_purchase_rate(
    customer_ids: ArrayLike, timestamps: ArrayLike, within_days: float | None = None
) -> dict[str, Any]:
    """Share of customers who bought again (on a later day than their first purchase).

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction (only the calendar day is used).
    within_days : float, optional
        Count a repeat only if it happens within this many days of the first purchase.

    Returns
    -------
    dict
        ``{"customers", "repeat_customers", "repeat_purchase_rate", "within_days"}`` (JSON-safe).
    """
    df, _ = _frame(customer_ids, timestamps, None, "D")
    occ = df[["c", "d"]].drop_duplicates()
    first_day = occ.groupby("c")["d"].transform("min")
    later = occ["d"] > first_day
    if within_days is not None:
        if within_days < 0:
            raise CxlensInputError("within_days must be >= 0", value=within_days)
        later &= (occ["d"] - first_day) <= within_days
    n = int(occ["c"].nunique())
    rep = int(occ.loc[later, "c"].nunique())
    return {
        "customers": n,
        "repeat_customers": rep,
        "repeat_purchase_rate": rep / n,
        "within_days": within_days,
    }


def _cohort_long(df: pd.DataFrame) -> pd.DataFrame:
    """Cohort cells with integer ``cohort`` (first-purchase period) and ``k`` (offset)."""
    cohort = df.groupby("c")["p"].transform("min")
    df = df.assign(k=df["p"] - cohort, cohort=cohort)
    orders = df[["c", "d", "cohort", "k"]].drop_duplicates().groupby(["cohort", "k"]).size()
    g = df.groupby(["cohort", "k"])
    out = pd.DataFrame(
        {"customers": g["c"].nunique(), "orders": orders, "revenue": g["a"].sum()}
    ).reset_index()
    base = out.loc[out["k"] == 0].set_index("cohort")
    out["cohort_size"] = out["cohort"].map(base["customers"]).to_numpy()
    r0 = out["cohort"].map(base["revenue"]).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["customer_retention"] = out["customers"] / out["cohort_size"]
        out["orders_per_customer"] = out["orders"] / out["cohort_size"]
        out["revenue_per_customer"] = out["revenue"] / out["cohort_size"]
        out["revenue_retention"] = np.where(r0 != 0, out["revenue"].to_numpy() / r0, np.nan)
    return out.sort_values(["cohort", "k"], kind="stable").reset_index(drop=True)


_COHORT_VALUES = (
    "customers",
    "orders",
    "revenue",
    "customer_retention",
    "orders_per_customer",
    "revenue_per_customer",
    "revenue_retention",
)


def cohort_table(
    customer_ids: ArrayLike, timestamps: ArrayLike, amounts: ArrayLike | None = None, period: str = "M"
) -> pd.DataFrame:
    """Long table of first-purchase cohorts by period offset (purchase-frequency and spend cohorts).

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction.
    amounts : array-like, optional
        Value of each transaction (revenue columns are 0 without it).
    period : str, default "M"
        Cohort and offset period (pandas alias).

    Returns
    -------
    pandas.DataFrame
        Columns ``cohort`` (first-purchase period), ``period_index`` (0 = cohort period), ``period``,
        ``cohort_size``, ``customers`` (active), ``orders`` (purchase days), ``revenue``,
        ``customer_retention`` (customers / cohort_size), ``orders_per_customer`` (orders / cohort_size),
        ``revenue_per_customer`` (revenue / cohort_size) and ``revenue_retention`` (revenue / period-0
        revenue). Only cells with activity are listed; :func:`cohort_matrix` gives the full grid.
    """
    df, first = _frame(customer_ids, timestamps, amounts, period)
    out = _cohort_long(df)
    out.insert(2, "period", _label(first, (out["cohort"] + out["k"]).to_numpy()))
    out["cohort"] = _label(first, out["cohort"].to_numpy())
    out = out.rename(columns={"k": "period_index"})
    cols = ["cohort", "period_index", "period", "cohort_size", "customers", "orders", "revenue"]
    return out[cols + list(_COHORT_VALUES[3:])]


def cohort_matrix(
    customer_ids: ArrayLike,
    timestamps: ArrayLike,
    amounts: ArrayLike | None = None,
    period: str = "M",
    value: str = "customer_retention",
) -> pd.DataFrame:
    """Cohort x period-offset matrix (rows: first-purchase period, columns: offsets 0, 1, 2, ...).

    Parameters
    ----------
    customer_ids, timestamps, amounts, period
        As in :func:`cohort_table`.
    value : str, default "customer_retention"
        One of ``customers``, ``orders``, ``revenue``, ``customer_retention``, ``orders_per_customer``,
        ``revenue_per_customer``, ``revenue_retention``.

    Returns
    -------
    pandas.DataFrame
        Cohort labels as index. Observed cells without activity are 0; cells after the last period
        of the data (not observable yet for that cohort) are NaN.
    """
    if value not in _COHORT_VALUES:
        raise CxlensInputError(f"value must be one of {list(_COHORT_VALUES)}", value=value)
    df, first = _frame(customer_ids, timestamps, amounts, period)
    out = _cohort_long(df)
    last = int(df["p"].max())
    cohorts = np.unique(out["cohort"].to_numpy())
    width = last - int(cohorts.min()) + 1
    grid = np.full((cohorts.size, width), np.nan)
    rows = np.searchsorted(cohorts, out["cohort"].to_numpy())
    observed = np.arange(width)[None, :] <= (last - cohorts)[:, None]
    grid[observed] = 0.0
    grid[rows, out["k"].to_numpy()] = out[value].to_numpy(dtype=np.float64)
    return pd.DataFrame(
        grid,
        index=pd.Index(_label(first, cohorts), name="cohort"),
        columns=pd.RangeIndex(width, name="period_index"),
    )


def revenue_retention(
    customer_ids: ArrayLike, timestamps: ArrayLike, amounts: ArrayLike, period: str = "M"
) -> pd.DataFrame:
    """Net and gross revenue retention from one period to the next.

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction.
    amounts : array-like
        Value of each transaction.
    period : str, default "M"
        Pandas period alias.

    Returns
    -------
    pandas.DataFrame
        One row per period (from the second): ``period``, ``start_revenue`` (revenue in p - 1 of the
        customers with revenue then), ``retained_revenue`` (their revenue in p),
        ``net_revenue_retention`` (retained / start), ``gross_revenue_retention`` (sum of
        min(revenue p, revenue p - 1) / start), ``new_revenue`` (revenue in p from customers without
        revenue in p - 1), ``total_revenue``.
    """
    df, first = _frame(customer_ids, timestamps, amounts, period)
    cp = df.groupby(["c", "p"], as_index=False)["a"].sum()
    n_per = int(cp["p"].max()) + 1
    prev = cp.assign(p=cp["p"] + 1).rename(columns={"a": "a_prev"})
    prev = prev[(prev["p"] < n_per) & (prev["a_prev"] > 0)]
    j = prev.merge(cp, on=["c", "p"], how="left").fillna({"a": 0.0})
    start = np.bincount(j["p"], weights=j["a_prev"], minlength=n_per)
    kept = np.bincount(j["p"], weights=j["a"], minlength=n_per)
    capped = np.bincount(j["p"], weights=np.minimum(j["a"], j["a_prev"]).clip(lower=0), minlength=n_per)
    total = np.bincount(cp["p"], weights=cp["a"], minlength=n_per)
    with np.errstate(divide="ignore", invalid="ignore"):
        nrr = np.where(start > 0, kept / start, np.nan)
        grr = np.where(start > 0, capped / start, np.nan)
    out = pd.DataFrame(
        {
            "period": _label(first, np.arange(n_per)),
            "start_revenue": start,
            "retained_revenue": kept,
            "net_revenue_retention": nrr,
            "gross_revenue_retention": grr,
            "new_revenue": total - kept,
            "total_revenue": total,
        }
    )
    return out.iloc[1:].reset_index(drop=True)
