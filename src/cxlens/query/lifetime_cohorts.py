"""Query kinds ``customer_retention`` and ``cohorts``: customer-level retention from purchases.

(The event kind ``retention`` counts returning *event* actors; these kinds count *customers* from
``transactions``.)

``{"kind": "customer_retention", "period": "month", "active_window": 1}`` - per period the customer retention
rate CRR = (E - N) / S (S active at the start, E active at the end, N new), churn rate 1 - CRR, the strict
rate retained / S, net and gross revenue retention, and the repeat-purchase rate.

``{"kind": "cohorts", "period": "month", "value": "customer_retention"}`` - customers grouped by the month
of their first purchase: per cohort and period offset the active customers, orders (purchase days), revenue,
and their ratios to the cohort size / the cohort's first-period revenue, as a long table and as a matrix.

The database collapses the transactions to daily purchase occasions (customer, day, amount; one GROUP BY);
the rates are computed from those by :mod:`cxlens.lifetime.retention` (definitions there).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from cxlens.lifetime import (
    cohort_matrix,
    cohort_table,
    customer_retention,
    repeat_purchase_rate,
    revenue_retention,
)
from cxlens.lifetime.base import json_safe
from cxlens.query.lifetime_source import TransactionSource, daily_occasions, parse_day
from cxlens.query.registry import register_query

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["CohortsQuery", "CustomerRetentionQuery"]

Period = Literal["day", "week", "month", "quarter", "year"]
_ALIAS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
CohortValue = Literal["customers", "orders", "revenue", "customer_retention", "orders_per_customer",
                      "revenue_per_customer", "revenue_retention"]


class CustomerRetentionQuery(TransactionSource):
    """Customer retention and churn rate per period, revenue retention, repeat-purchase rate."""

    kind: Literal["customer_retention"] = "customer_retention"
    period: Period = "month"
    active_window: int = Field(1, ge=1, le=120, description="periods a purchase keeps a customer active")
    repeat_within_days: float | None = Field(None, ge=0, description="repeat purchase must happen within "
                                                                     "this many days of the first")
    until: str | date | None = Field(None, description="last day used (default: all transactions)")


class CohortsQuery(TransactionSource):
    """First-purchase cohorts: active customers, orders, revenue and their ratios by period offset."""

    kind: Literal["cohorts"] = "cohorts"
    period: Period = "month"
    value: CohortValue = Field("customer_retention", description="the value of the matrix")
    until: str | date | None = None


def _records(df: Any) -> list[dict[str, Any]]:
    return json_safe(df.replace({np.nan: None}).to_dict(orient="records"))


@register_query("customer_retention", CustomerRetentionQuery,
                "Customer retention rate (E - N) / S and churn rate per period, revenue retention and the "
                "repeat-purchase rate, from transactions.")
def run_customer_retention(ws: Workspace, q: CustomerRetentionQuery) -> dict[str, Any]:
    occ = daily_occasions(ws, q, parse_day(q.until, "until"))
    alias = _ALIAS[q.period]
    crr = customer_retention(occ["customer"], occ["day"], period=alias, active_window=q.active_window)
    rev = revenue_retention(occ["customer"], occ["day"], occ["amount"], period=alias)
    rows = crr.merge(rev, on="period", how="left")
    rep = repeat_purchase_rate(occ["customer"], occ["day"], within_days=q.repeat_within_days)
    s, e, n = (rows[c].to_numpy(dtype=np.float64) for c in ("start_customers", "end_customers", "new_customers"))
    valid = s > 0
    pooled = float((e[valid] - n[valid]).sum() / s[valid].sum()) if valid.any() else None
    lost = rows["lost"].to_numpy(dtype=np.float64)
    pooled_churn = float(lost[valid].sum() / s[valid].sum()) if valid.any() else None
    return json_safe({
        "kind": "customer_retention", "period": q.period, "active_window": q.active_window,
        "definition": "retention_rate = (E - N) / S; churn_rate = lost / S = 1 - strict_retention_rate "
                      "(never negative; (E - N) / S can exceed 1 when lapsed customers return); "
                      "strict_retention_rate = retained / S; a customer is active in a period with a "
                      "purchase in the last active_window periods",
        "customers": int(np.unique(occ["customer"]).size),
        "periods": _records(rows),
        "pooled_retention_rate": pooled,
        "pooled_churn_rate": pooled_churn,
        "repeat_purchase": rep,
    })


@register_query("cohorts", CohortsQuery, "First-purchase cohorts by period offset: active customers, orders, "
                                         "revenue, customer and revenue retention.")
def run_cohorts(ws: Workspace, q: CohortsQuery) -> dict[str, Any]:
    occ = daily_occasions(ws, q, parse_day(q.until, "until"))
    alias = _ALIAS[q.period]
    long = cohort_table(occ["customer"], occ["day"], occ["amount"], period=alias)
    mat = cohort_matrix(occ["customer"], occ["day"], occ["amount"], period=alias, value=q.value)
    sizes = long.loc[long["period_index"] == 0].set_index("cohort")["cohort_size"]
    return json_safe({
        "kind": "cohorts", "period": q.period, "value": q.value,
        "cohorts": [{"cohort": c, "size": int(sizes.get(c, 0))} for c in mat.index],
        "matrix": {"index": list(mat.index), "columns": [int(c) for c in mat.columns],
                   "values": mat.to_numpy(dtype=np.float64)},
        "rows": _records(long),
    })
