"""Query kind ``rfm``: recency, frequency, monetary scores 1-5 and named segments, with CLV and churn per segment.

``{"kind": "rfm", "as_of": "1997-09-30", "with_clv": true, "horizon": 39}``

Per customer (computed in SQL with the CLV summary, see :func:`cxlens.query.lifetime_source.rft_summary`):
days since the last purchase, purchase days, total (or mean) spend, all up to ``as_of``. Scores are the
row-order-free quintiles of :func:`cxlens.lifetime.quintile_scores`, segments the R x F grid of
:data:`cxlens.lifetime.RFM_SEGMENT_RULES`. With ``with_clv`` a BG/NBD + Gamma-Gamma model is fitted with
calibration end ``as_of`` (weeks) and each segment gets its mean CLV, P(alive) and (when data extend past
``as_of``) the share of customers active afterwards, with intervals and tests
(:func:`cxlens.query.lifetime_segments.compare_segments`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from cxlens.lifetime import RFM_SEGMENT_RULES
from cxlens.lifetime.base import json_safe
from cxlens.lifetime.rfm import add_rfm_scores
from cxlens.query.lifetime_clv import BOUNDS, RFM_ORDER, ClvQuery, clv_result
from cxlens.query.lifetime_segments import compare_segments
from cxlens.query.lifetime_source import TransactionSource, parse_day, rft_summary, transaction_bounds
from cxlens.query.registry import register_query

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["RfmQuery", "rfm_table"]


class RfmQuery(TransactionSource):
    """RFM scores and segments; optionally CLV and churn by segment."""

    kind: Literal["rfm"] = "rfm"
    as_of: str | date | None = Field(None, description="reference day (default: last transaction day)")
    monetary: Literal["total", "mean"] = "total"
    with_clv: bool = Field(False, description="fit a CLV model + Gamma-Gamma at as_of and compare segments")
    clv_model: Literal["bgnbd", "mbgnbd", "pareto_nbd"] = Field(
        "bgnbd", description="purchase model of with_clv (BG/NBD gives P(alive) = 1 to one-time buyers; "
                             "MBG/NBD and Pareto/NBD do not)")
    horizon: float = Field(39, gt=0, description="CLV horizon in weeks")
    discount_rate: float = Field(0.01, gt=-1, description="per month")
    margin: float = Field(1.0, gt=0)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    interval: Literal["t", "bootstrap"] = Field("t", description="interval of the segment means")
    sort: Literal["customer", "monetary", "frequency", "recency_days"] = "customer"
    limit: int | None = Field(None, ge=0, description="customers to list (default all; 0: none)")


def rfm_table(s: dict[str, np.ndarray], monetary: str) -> pd.DataFrame:
    """RFM columns, scores and segments from a day-unit :func:`rft_summary` (calibration end = as_of)."""
    freq = s["frequency"] + 1
    money = s["total_spend"] if monetary == "total" else s["total_spend"] / freq
    df = pd.DataFrame({"customer": s["customer"], "recency_days": s["T"] - s["recency"], "frequency": freq,
                       "monetary": money})
    return add_rfm_scores(df)


@register_query("rfm", RfmQuery, "RFM scores 1-5 and segments from transactions; with_clv adds CLV, P(alive) "
                                 "and later activity by segment, with intervals and tests.")
def run_rfm(ws: Workspace, q: RfmQuery) -> dict[str, Any]:
    _lo, hi, _n = transaction_bounds(ws, q)
    as_of = parse_day(q.as_of, "as_of") or hi
    s = rft_summary(ws, q, as_of, None, "day")
    df = rfm_table(s, q.monetary)
    g = df.groupby("segment", sort=False)
    seg = pd.DataFrame({"customers": g.size(), "recency_days": g["recency_days"].mean(),
                        "frequency": g["frequency"].mean(), "monetary": g["monetary"].mean(),
                        "revenue": g["monetary"].sum() if q.monetary == "total" else np.nan})
    seg["share"] = seg["customers"] / len(df)
    rules = {name: {"r": list(r), "f": list(f), "description": d} for name, r, f, d in RFM_SEGMENT_RULES}
    order = [name for name, *_ in RFM_SEGMENT_RULES if name in seg.index]
    seg = seg.loc[order].reset_index()
    seg["description"] = seg["segment"].map(lambda n: rules[n]["description"])
    out: dict[str, Any] = {"kind": "rfm", "as_of": as_of.isoformat(), "monetary": q.monetary,
                           "n_customers": len(df), "segments": seg.to_dict(orient="records"),
                           "rules": rules, "by_segment": None}
    if q.with_clv:
        clv = clv_result(ws, ClvQuery(customer=q.customer, filters=q.filters, model=q.clv_model,
                                      calibration_end=as_of, time_unit="week", horizon=q.horizon,
                                      discount_rate=q.discount_rate, margin=q.margin,
                                      confidence=q.confidence))
        c = pd.DataFrame(clv["customers"]).set_index("customer").reindex(df["customer"])
        values = {"clv": c["clv"].to_numpy(dtype=np.float64), "p_alive": c["p_alive"].to_numpy(dtype=np.float64)}
        if "frequency_holdout" in c:
            values["active_after_as_of"] = (c["frequency_holdout"].to_numpy(dtype=np.float64) > 0).astype(float)
        df["clv"] = values["clv"]
        df["p_alive"] = values["p_alive"]
        out["by_segment"] = compare_segments(df["segment"].to_numpy(dtype=object), values, q.confidence,
                                             sums=("clv",), order=RFM_ORDER, bounds=BOUNDS,
                                             interval=q.interval)
        out["clv_model"] = q.clv_model
        out["clv_params"] = clv["params"]
    view = df if q.sort == "customer" else df.sort_values(q.sort, ascending=q.sort == "recency_days",
                                                          kind="stable")
    if q.limit is not None:
        view = view.head(q.limit)
    out["customers"] = view.to_dict(orient="records")
    return json_safe(out)
