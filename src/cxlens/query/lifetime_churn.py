"""Query kind ``churn``: customer survival (Kaplan-Meier via lifelines), median lifetime and log-rank tests.

``{"kind": "churn", "source": "activity", "inactivity_days": 90, "unit": "week", "by": "nps"}``

Two ways to get a lifetime per customer:

* ``source: "activity"`` (non-contractual): from ``transactions`` (or ``events``) per customer, first and last
  activity day are computed in SQL (one GROUP BY); a customer whose last activity is more than
  ``inactivity_days`` before ``observation_end`` churned at the last activity, the others are censored at
  ``observation_end`` (:func:`cxlens.lifetime.durations_from_activity`, the same rule);
* ``source: "subscriptions"`` (contractual): rows of ``table`` with a start and an end field (columns or
  properties, e.g. ``persons`` with ``properties.subscribed_at`` / ``properties.cancelled_at``); an empty end
  or an end after ``observation_end`` means still active (censored).

The result has the Kaplan-Meier curve with its pointwise interval (lifelines' exponential Greenwood band),
the median lifetime with interval, survival and churned share at chosen times, and with ``by`` one curve per
segment plus a log-rank test (two segments) or a multivariate log-rank test (more).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.lifetime import compare_survival, durations_from_subscriptions, kaplan_meier
from cxlens.lifetime.base import json_safe
from cxlens.query.lifetime_segments import segment_labels, segment_warnings
from cxlens.query.lifetime_source import (
    UNIT_DAYS,
    TransactionSource,
    activity_source,
    date_days,
    has_identities,
    parse_day,
)
from cxlens.query.registry import register_query
from cxlens.schema.tables import TABLES
from cxlens.store.sql import field, filter_expr, time_column

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["ChurnQuery", "activity_lifetimes", "survival_table"]

_SEGMENTS = ("nps", "account", "role", "rfm")


class ChurnQuery(TransactionSource):
    """Customer survival from activity (inactivity rule) or from subscription start and end."""

    kind: Literal["churn"] = "churn"
    source: Literal["activity", "subscriptions"] = "activity"
    table: str | None = Field(None, description="activity: transactions (default) or events; subscriptions: "
                                                "the table holding start and end")
    inactivity_days: float = Field(90, gt=0, description="activity: longer inactivity counts as churn")
    min_active_days: int = Field(1, ge=1, description="activity: only customers active on at least this many "
                                                      "days (2: repeat customers; one-time buyers have "
                                                      "lifetime 0)")
    start: str | None = Field(None, description="subscriptions: start column or property")
    end: str | None = Field(None, description="subscriptions: end column or property (empty = active)")
    observation_end: str | date | None = None
    unit: Literal["day", "week", "month"] = "day"
    at: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = Field(
        None, description="times (in unit, >= 0) for the survival table")
    by: str | None = Field(None, description="nps, account, role, person.<property>, or (subscriptions) a "
                                             "column/property of the table")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    max_points: int = Field(200, ge=2, le=100_000, description="points per curve")


def activity_lifetimes(ws: Workspace, q: ChurnQuery, table: str, obs: date | None) -> dict[str, Any]:
    """Per customer first and last activity day (SQL), then duration and churn flag (numpy)."""
    base = activity_source(q, has_identities(ws), [], table)
    day = exp.cast(exp.column("ts"), "DATE")
    sel = select(exp.column("customer"), exp.Min(this=day).as_("first"), exp.Max(this=day).as_("last")) \
        .from_(base.subquery("s")).where(exp.not_(exp.column("customer").is_(exp.null())))
    if obs is not None:
        sel = sel.where(exp.LTE(this=day, expression=exp.cast(exp.Literal.string(obs.isoformat()), "DATE")))
    sel = sel.group_by(exp.column("customer")).order_by(exp.column("customer"))
    if q.min_active_days > 1:
        sel = sel.having(exp.GTE(this=exp.Count(this=exp.Distinct(expressions=[day])),
                                 expression=exp.Literal.number(q.min_active_days)))
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        raise QueryError(f"no activity in {table}" + (" before observation_end" if obs else "") +
                         ": import purchases or events first")
    first, last = date_days(t.column("first")), date_days(t.column("last"))
    end = float(last.max()) if obs is None else float((obs - date(1970, 1, 1)).days)
    churned = (end - last) > q.inactivity_days
    stop = np.where(churned, last, end)
    return {"customer": np.asarray(t.column("customer").to_pylist(), dtype=object),
            "duration": (stop - first) / UNIT_DAYS[q.unit], "event": churned.astype(np.int64),
            "observation_end": date.fromordinal(date(1970, 1, 1).toordinal() + int(end)).isoformat()}


def _subscriptions(ws: Workspace, q: ChurnQuery, obs: date | None) -> dict[str, Any]:
    table = q.table or "persons"
    if table not in TABLES:
        raise QueryError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    if not (q.start and q.end):
        raise QueryError("source 'subscriptions' needs 'start' and 'end' (columns or properties of "
                         f"{table}, e.g. start='properties.subscribed_at')")
    cols = TABLES[table].column_names
    sel_cols = [exp.cast(field(table, q.start), exp.DataType.build("VARCHAR")).as_("s"),
                exp.cast(field(table, q.end), exp.DataType.build("VARCHAR")).as_("e")]
    key = "person_id" if table == "persons" else ("distinct_id" if "distinct_id" in cols else None)
    if key:
        sel_cols.append(exp.column(key).as_("customer"))
    special = q.by is not None and (q.by in _SEGMENTS or q.by.startswith(("person.", "persons.")))
    if q.by is not None and not special:
        sel_cols.append(exp.cast(field(table, q.by), exp.DataType.build("VARCHAR")).as_("g"))
    sel = select(*sel_cols).from_(table).where(exp.not_(field(table, q.start).is_(exp.null())))
    for f in q.filters:
        sel = sel.where(exp.paren(filter_expr(table, f)))
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        raise QueryError(f"no rows of {table} have a {q.start!r} value")
    starts = pd.to_datetime(pd.Series(t.column("s").to_pylist()), errors="coerce", utc=True)
    bad = starts.isna().to_numpy()
    if bad.any():
        raise QueryError(f"{table}.{q.start}: cannot read {t.column('s')[int(np.argmax(bad))].as_py()!r} as a "
                         "date; expected ISO-8601")
    d = durations_from_subscriptions(starts, pd.Series(t.column("e").to_pylist()), obs, q.unit)
    out = {"duration": d["duration"].to_numpy(), "event": d["event"].to_numpy(),
           "customer": np.asarray(t.column("customer").to_pylist(), dtype=object) if key else None,
           "observation_end": None if obs is None else obs.isoformat()}
    if q.by is not None and not special:
        g = np.asarray(t.column("g").to_pylist(), dtype=object)
        out["groups"] = np.where(pd.isna(g), "none", g)
    elif special:
        if key is None:
            raise QueryError(f"by {q.by!r} needs a customer: use table 'persons' or a table with distinct_id")
        if key == "distinct_id" and has_identities(ws):
            m = ws.store.execute(select("distinct_id", "person_id").from_("person_distinct_ids"))
            ids = pd.Series(m.column("person_id").to_pylist(), index=m.column("distinct_id").to_pylist())
            cust = pd.Series(out["customer"])
            out["customer"] = cust.map(ids).fillna(cust).to_numpy(dtype=object)
    return out


def survival_table(curve: dict[str, list[Any]], at: np.ndarray) -> list[dict[str, Any]]:
    """Survival, interval and churned share at chosen times, read off a full Kaplan-Meier step curve."""
    times = np.asarray(curve["time"], dtype=np.float64)
    idx = np.searchsorted(times, at, side="right") - 1
    rows = []
    for t, i in zip(at.tolist(), idx.tolist(), strict=True):
        if i < 0:
            rows.append({"time": t, "survival": 1.0, "lower": 1.0, "upper": 1.0, "churned": 0.0,
                         "at_risk": None})
            continue
        s = curve["survival"][i]
        rows.append({"time": t, "survival": s, "lower": curve["lower"][i], "upper": curve["upper"][i],
                     "churned": None if s is None else 1 - s, "at_risk": curve["at_risk"][i]})
    return rows


def _thin(km: dict[str, Any], max_points: int) -> None:
    curve = km["curve"]
    n = len(curve["time"])
    if n > max_points:
        keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int)).tolist()
        km["curve"] = {k: [v[i] for i in keep] for k, v in curve.items()}


def _default_at(durations: np.ndarray) -> np.ndarray:
    top = float(np.max(durations)) if durations.size else 0.0
    if top <= 0:
        return np.array([0.0])
    return np.unique(np.round(np.linspace(0, top, 6)[1:], 2))


@register_query("churn", ChurnQuery, "Customer survival (Kaplan-Meier), median lifetime and log-rank tests, "
                                     "from activity with an inactivity rule or from subscriptions.")
def run_churn(ws: Workspace, q: ChurnQuery) -> dict[str, Any]:
    obs = parse_day(q.observation_end, "observation_end")
    alpha = 1 - q.confidence
    if q.source == "activity":
        table = q.table or "transactions"
        if table not in ("transactions", "events") or time_column(table) != "timestamp":
            raise QueryError(f"activity churn reads transactions or events, not {table!r}")
        data = activity_lifetimes(ws, q, table, obs)
        groups = None
        if q.by:
            groups = segment_labels(ws, data["customer"], q.by, q.customer is not None)
    else:
        data = _subscriptions(ws, q, obs)
        groups = data.get("groups")
        if q.by and groups is None:
            groups = segment_labels(ws, data["customer"], q.by, False)
    d, e = data["duration"], data["event"]
    at = np.asarray(q.at, dtype=np.float64) if q.at else _default_at(d)
    km = kaplan_meier(d, e, alpha=alpha, max_points=None)
    km["survival_at"] = survival_table(km["curve"], at)
    _thin(km, q.max_points)
    out: dict[str, Any] = {
        "kind": "churn", "source": q.source, "unit": q.unit, "observation_end": data["observation_end"],
        "inactivity_days": q.inactivity_days if q.source == "activity" else None,
        "min_active_days": q.min_active_days if q.source == "activity" else None,
        "customers": int(d.size), "churned": int(e.sum()), "censored": int(d.size - e.sum()),
        "survival": km, "groups": None, "logrank": None, "by": q.by, "warnings": [],
    }
    if groups is not None:
        labels = np.asarray(groups, dtype=object).astype(str)
        out["warnings"] += segment_warnings(labels, q.by or "")
        if np.unique(labels).size >= 2:
            cmp = compare_survival(d, e, labels, alpha=alpha, max_points=None)
            for g in cmp["groups"].values():
                g["survival_at"] = survival_table(g["curve"], at)
                _thin(g, q.max_points)
            out["groups"] = cmp["groups"]
            out["logrank"] = cmp["logrank"]
        else:
            out["warnings"] += [f"only one segment ({labels[0]!r}): no comparison"]
    return json_safe(out)

