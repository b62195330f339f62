"""Query kind ``tickets``: support-log mining over the ``tickets`` table.

Sections (``include``):

``volume``
    tickets per group of ``by`` (product, sub_product, category, sub_category, channel, any column or
    property such as ``company``) with the share of all tickets (adjusted-Wald or Wilson interval) and, when
    the workspace has events, tickets per 1,000 active persons (active = any event in the range; exact
    Poisson interval).
``trend``
    the same per ``period``, with spikes: each period against the previous one of the same group, as rates
    per observed day (or per active person when events exist), one-sided exact conditional Poisson test,
    Holm or Benjamini-Hochberg corrected, ``spike`` flagged.
``timely``
    timely-response rate per group with its interval, and the company responses.
``resolution``
    median time to close (``closed_at - opened_at``) and to first response, with binomial order-statistic
    intervals.
``clusters``
    recurring problem clusters of near-duplicate texts (see :mod:`cxlens.query.ticket_clusters`).
``intents``
    incoming messages routed through ``cxlens.text.route_intents`` (intent, category, confidence).

``{"kind": "tickets", "by": ["product"], "period": "month", "include": ["volume", "trend", "timely"]}``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query._events import event_source, has_identities
from cxlens.query._voice import flag, iso, lazy_text, period_exposure, poisson_rise_test, proportion_fields, rate_fields
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.query.scores import Period, group_keys, period_expr
from cxlens.query.ticket_clusters import recurring_clusters
from cxlens.stats import median_ci
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["TicketsQuery"]

Section = Literal["volume", "trend", "timely", "resolution", "clusters", "intents"]
_DEFAULT = ("volume", "trend", "timely", "resolution")


class TicketsQuery(QueryModel):
    """Support-log mining: volume, share, spikes, recurring clusters, timeliness, resolution, intents."""

    kind: Literal["tickets"] = "tickets"
    by: list[str] = Field(default_factory=lambda: ["product"], description="columns or properties to group by")
    period: Period | None = None
    include: list[Section] | None = Field(None, description="sections; default volume, trend (with a "
                                                            "period), timely, resolution")
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    top: int | None = Field(25, ge=1, description="largest groups shown in volume (all in trend)")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    method: Literal["adjusted-wald", "wilson", "exact"] = "adjusted-wald"
    correction: Literal["holm", "bh", "none"] = "holm"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    cluster_threshold: float = Field(0.5, gt=0, lt=1, description="cosine similarity linking two texts")
    cluster_min_size: int = Field(3, ge=2)
    cluster_method: Literal["components", "agglomerative"] = "components"
    cluster_analyzer: Literal["word", "char"] = "word"
    max_clusters: int = Field(20, ge=1)
    examples: int = Field(3, ge=0, le=20)
    example_chars: int = Field(400, ge=40, description="example texts are cut to this length")
    intent_method: Literal["tfidf", "embedding"] = Field("tfidf", description="features of the intent "
                                                                            "router (cxlens.text)")
    text_limit: int = Field(50_000, ge=1, description="most recent texts used by clusters and intents")


def _conds(q: TicketsQuery) -> list[exp.Expression]:
    return where("tickets", q.filters, q.date_range)


def _select(q: TicketsQuery, *cols: exp.Expression) -> exp.Select:
    sel = select(*cols).from_("tickets")
    for c in _conds(q):
        sel = sel.where(c)
    return sel


def _active_persons(ws: Workspace, q: TicketsQuery, first: Any, last: Any) -> pa.Table | None:
    """Distinct active persons (any event) over the tickets' range, and per period when asked."""
    if ws.store.count("events") == 0:
        return None
    src = event_source(False, has_identities(ws)).subquery("ev")
    keys = [period_expr(q.period, "timestamp").as_("period")] if q.period else []
    sel = select(*keys, exp.Count(this=exp.Distinct(expressions=[exp.column("actor")])).as_("active")).from_(src)
    lo = q.date_range.from_ if q.date_range and q.date_range.from_ else pd.Timestamp(first).normalize()
    hi = q.date_range.to if q.date_range and q.date_range.to else last
    conds = where("events", [], DateRange(**{"from": lo, "to": hi}))
    if not (q.date_range and q.date_range.to):  # the tickets' last day is a date: include all of it
        conds = [c for c in conds if not isinstance(c, exp.LTE)]
        end = pd.Timestamp(hi).normalize() + pd.Timedelta(days=1)
        conds.append(exp.LT(this=exp.column("timestamp"),
                            expression=exp.cast(exp.Literal.string(end.isoformat(sep=" ")), "TIMESTAMP")))
    for c in conds:
        sel = sel.where(c)
    if keys:
        sel = sel.group_by(exp.column("period"))
    return ws.store.execute(sel)


def _volume(ws: Workspace, q: TicketsQuery, total: int, active: pa.Table | None) -> list[dict[str, Any]]:
    keys = group_keys("tickets", q.by, None, "opened_at")
    sel = _select(q, *keys, exp.Count(this=exp.Star()).as_("count"))
    if keys:
        sel = sel.group_by(*[exp.column(f"g{i}") for i in range(len(q.by))])
    sel = sel.order_by(exp.Ordered(this=exp.column("count"), desc=True),
                       *[exp.column(f"g{i}") for i in range(len(q.by))])
    if q.top:
        sel = sel.limit(q.top)
    n_active = int(active.column("active")[0].as_py() or 0) if active is not None else None
    rows = []
    for r in ws.store.execute(sel).to_pylist():
        row = {b: iso(r[f"g{i}"]) for i, b in enumerate(q.by)}
        row["count"] = int(r["count"])
        share = proportion_fields(row["count"], total, q.confidence, q.method)
        row.update({"share": share["rate"], "share_ci_low": share["ci_low"], "share_ci_high": share["ci_high"]})
        if n_active is not None:
            row.update(rate_fields(row["count"], n_active, q.confidence))
        rows.append(row)
    return rows


def _trend(ws: Workspace, q: TicketsQuery, first: Any, last: Any, active: pa.Table | None
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    assert q.period is not None
    keys = group_keys("tickets", q.by, q.period, "opened_at")
    names = [f"g{i}" for i in range(len(q.by))]
    sel = _select(q, *keys, exp.Count(this=exp.Star()).as_("count")).where(
        exp.not_(exp.column("opened_at").is_(exp.null())))
    sel = sel.group_by(*[exp.column(c) for c in [*names, "period"]])
    df = ws.store.execute(sel).to_pandas()
    if df.empty:
        return [], []
    freq = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[q.period]
    seen_periods = pd.to_datetime(df["period"])
    df["period"] = seen_periods
    periods = pd.Series(pd.date_range(seen_periods.min(), seen_periods.max(), freq=freq), name="period")
    # every group gets every period from its first one on, so a quiet period counts as 0, not as missing
    if names:
        groups = df[names].drop_duplicates()
        grid = groups.merge(pd.DataFrame({"period": periods}), how="cross")
        for c in names:  # NaN group keys would not join back
            grid[c] = grid[c].astype(object)
            df[c] = df[c].astype(object)
        df = grid.merge(df, on=[*names, "period"], how="left", sort=False)
        df["count"] = df["count"].fillna(0).astype(int)
        firsts = df[df["count"] > 0].groupby(names, dropna=False)["period"].min().rename("first_period")
        df = df.merge(firsts.reset_index(), on=names, how="left")
        df = df[df["period"] >= df["first_period"]].drop(columns="first_period")
    else:
        df = pd.DataFrame({"period": periods}).merge(df, on="period", how="left").fillna({"count": 0})
    df = df.sort_values([*names, "period"], kind="stable").reset_index(drop=True)
    totals = df.groupby("period")["count"].transform("sum")
    if active is not None:
        act = active.to_pandas().rename(columns={"active": "exposure"})
        df = df.merge(act, on="period", how="left").fillna({"exposure": 0})
        basis = "active persons"
    else:
        df["exposure"] = period_exposure(df["period"], q.period, first, last)
        basis = "observed days"
    keys = df[names].astype(str)  # compares missing group keys too (NaN != NaN)
    same = (keys.shift(1).eq(keys).all(axis=1) if names else pd.Series(True, index=df.index)) & (df.index > 0)
    prev = df["count"].shift(1).where(same)
    prev_e = df["exposure"].shift(1).where(same)
    pv = poisson_rise_test(df["count"].to_numpy(), prev.fillna(0).to_numpy(), df["exposure"].to_numpy(),
                           prev_e.fillna(0).to_numpy())
    pv = np.where(same.to_numpy(), pv, np.nan)
    adj, sig = flag(pv, q.correction, q.alpha)
    rows = []
    for i, r in enumerate(df.to_dict("records")):  # one row per group and period (aggregates, not tickets)
        row: dict[str, Any] = {b: iso(r[n]) for b, n in zip(q.by, names, strict=True)}
        row.update({"period": iso(r["period"]), "count": int(r["count"]),
                    "share_of_period": float(r["count"] / totals[i]) if totals[i] else None,
                    "exposure": float(r["exposure"]), "exposure_basis": basis,
                    "previous_count": None if np.isnan(prev.iloc[i]) else int(prev.iloc[i]),
                    "rate_ratio": None, "p_value": iso(pv[i]), "p_value_adjusted": iso(adj[i]),
                    "spike": bool(sig[i])})
        if row["previous_count"] is not None and prev_e.iloc[i] > 0 and r["exposure"] > 0 and prev.iloc[i] > 0:
            row["rate_ratio"] = float((r["count"] / r["exposure"]) / (prev.iloc[i] / prev_e.iloc[i]))
        if active is not None:
            row.update(rate_fields(row["count"], row["exposure"], q.confidence))
        rows.append(row)
    return rows, [r for r in rows if r["spike"]]


def _timely(ws: Workspace, q: TicketsQuery) -> dict[str, Any]:
    keys = group_keys("tickets", q.by, None, "opened_at")
    t = exp.column("timely")
    one = exp.Literal.number(1)
    zero = exp.Literal.number(0)
    aggs = [exp.Count(this=t).as_("n"), exp.Sum(this=exp.If(this=t.eq(exp.true()), true=one, false=zero)).as_("k")]
    sel = _select(q, *keys, *aggs)
    if keys:
        sel = sel.group_by(*[exp.column(f"g{i}") for i in range(len(q.by))])
    sel = sel.order_by(exp.Ordered(this=exp.column("n"), desc=True))
    rows = []
    for r in ws.store.execute(sel).to_pylist():
        if not r["n"]:
            continue
        row = {b: iso(r[f"g{i}"]) for i, b in enumerate(q.by)}
        row.update({"n": int(r["n"]), "timely": int(r["k"] or 0)})
        row.update(proportion_fields(row["timely"], row["n"], q.confidence, q.method))
        rows.append(row)
    rows = rows[: q.top] if q.top else rows
    overall = ws.store.execute(_select(q, *aggs)).to_pylist()[0]
    n, k = int(overall["n"] or 0), int(overall["k"] or 0)
    resp = _select(q, exp.column("response"), exp.Count(this=exp.Star()).as_("count")).where(
        exp.not_(exp.column("response").is_(exp.null()))).group_by(exp.column("response")).order_by(
        exp.Ordered(this=exp.column("count"), desc=True))
    return {"n": n, "timely": k, **proportion_fields(k, n, q.confidence, q.method), "method": q.method,
            "by_group": rows, "responses": ws.store.execute(resp).to_pylist()}


def _durations(ws: Workspace, q: TicketsQuery, end_col: str) -> dict[str, Any] | None:
    keys = group_keys("tickets", q.by, None, "opened_at")
    sel = _select(q, *keys, exp.column("opened_at"), exp.column(end_col)).where(
        exp.not_(exp.column(end_col).is_(exp.null()))).where(exp.not_(exp.column("opened_at").is_(exp.null())))
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        return None
    end = t.column(end_col).to_numpy().astype("datetime64[us]")
    start = t.column("opened_at").to_numpy().astype("datetime64[us]")
    hours = (end - start).astype("timedelta64[s]").astype(float) / 3600.0
    negative = int((hours < 0).sum())
    valid = hours >= 0
    res = median_ci(hours[valid], q.confidence, metric="hours").to_dict()
    out: dict[str, Any] = {"n": int(valid.sum()), "median_hours": res["estimate"], "ci_low": res["ci_low"],
                           "ci_high": res["ci_high"], "mean_hours": float(hours[valid].mean()) if valid.any()
                           else None, "method": res["method"], "negative_durations_excluded": negative,
                           "by_group": []}
    if q.by:
        df = t.select([f"g{i}" for i in range(len(q.by))]).to_pandas()
        df["h"] = hours
        df = df[valid]
        for key, grp in df.groupby([f"g{i}" for i in range(len(q.by))], dropna=False, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            r = median_ci(grp["h"].to_numpy(), q.confidence).to_dict()
            out["by_group"].append({**{b: iso(v) for b, v in zip(q.by, key, strict=True)}, "n": len(grp),
                                    "median_hours": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
        out["by_group"].sort(key=lambda r: -r["n"])
        out["by_group"] = out["by_group"][: q.top] if q.top else out["by_group"]
    return out


def _texts(ws: Workspace, q: TicketsQuery, *extra: str) -> pa.Table:
    text = exp.column("text")
    sel = _select(q, text, exp.column("opened_at"), *[field("tickets", c).as_(c) for c in extra]).where(
        exp.not_(text.is_(exp.null()))).where(
        exp.GT(this=exp.Length(this=exp.Trim(this=text)), expression=exp.Literal.number(0)))
    sel = sel.order_by(exp.Ordered(this=exp.column("opened_at"), desc=True, nulls_first=False)).limit(q.text_limit)
    return ws.store.execute(sel)


def _clusters(ws: Workspace, q: TicketsQuery) -> dict[str, Any]:
    t = _texts(ws, q, "product", "category")
    seen = t.column("opened_at").to_numpy().astype("datetime64[us]") if t.num_rows else np.array([], "M8[us]")
    clusters, info = recurring_clusters(
        t.column("text"), seen, {"product": t.column("product"), "category": t.column("category")},
        threshold=q.cluster_threshold, min_size=q.cluster_min_size, max_clusters=q.max_clusters,
        examples=q.examples, example_chars=q.example_chars, analyzer=q.cluster_analyzer, method=q.cluster_method)
    for c in clusters:
        c.pop("example_index", None)
    return {**info, "rows": clusters}


def _intents(ws: Workspace, q: TicketsQuery) -> dict[str, Any]:
    route = lazy_text("route_intents")
    t = _texts(ws, q)
    if t.num_rows == 0:
        return {"texts": 0, "rows": []}
    routed = route(t.column("text").to_pylist(), method=q.intent_method)
    if not isinstance(routed, pa.Table):
        routed = pa.Table.from_pandas(pd.DataFrame(routed))
    for col in ("intent", "category", "confidence"):
        if col not in routed.column_names:
            raise QueryError(f"route_intents returned no {col!r} column")
    g = routed.group_by(["category", "intent"]).aggregate([("confidence", "mean"), ("intent", "count")])
    g = g.sort_by([("intent_count", "descending")])
    n = t.num_rows
    rows = [{"category": r["category"], "intent": r["intent"], "count": int(r["intent_count"]),
             "share": r["intent_count"] / n, "mean_confidence": r["confidence_mean"]} for r in g.to_pylist()]
    return {"texts": n, "method": q.intent_method, "rows": rows}


@register_query("tickets", TicketsQuery, "Support-log mining: volume, share, spikes, recurring clusters, "
                                          "timely responses, resolution time, intent routing.")
def run_tickets(ws: Workspace, q: TicketsQuery) -> dict[str, Any]:
    include = list(q.include) if q.include is not None else \
        [s for s in _DEFAULT if s != "trend" or q.period]
    if "trend" in include and not q.period:
        raise QueryError("section 'trend' (spikes) needs a period: day, week, month, quarter or year")
    for b in q.by:
        field("tickets", b)  # unknown names fail here with the list of columns
    stats = ws.store.execute(_select(q, exp.Count(this=exp.Star()).as_("n"),
                                     exp.Min(this=exp.column("opened_at")).as_("first"),
                                     exp.Max(this=exp.column("opened_at")).as_("last"))).to_pylist()[0]
    total = int(stats["n"])
    out: dict[str, Any] = {"kind": "tickets", "by": list(q.by), "period": q.period, "total": total,
                           "first": iso(stats["first"]), "last": iso(stats["last"]), "confidence": q.confidence,
                           "include": include, "notes": []}
    if total == 0:
        out["notes"].append("no tickets match")
        return out
    active = _active_persons(ws, q, stats["first"], stats["last"])
    if active is None:
        out["notes"].append("no events in the workspace: tickets per 1,000 active persons are not shown")
    if "volume" in include:
        range_active = _active_persons(ws, q.model_copy(update={"period": None}), stats["first"], stats["last"]) \
            if active is not None and q.period else active
        vq = q.model_copy(update={"period": None})
        out["active_persons"] = int(range_active.column("active")[0].as_py() or 0) if range_active is not None \
            else None
        out["volume"] = _volume(ws, vq, total, range_active)
    if "trend" in include:
        out["trend"], out["spikes"] = _trend(ws, q, stats["first"], stats["last"], active)
        out["spike_test"] = ("one-sided exact conditional Poisson test vs the previous period, rates per "
                             f"{'active person' if active is not None else 'observed day'}, "
                             f"{q.correction} corrected, alpha {q.alpha}")
    if "timely" in include:
        out["timely"] = _timely(ws, q)
    if "resolution" in include:
        out["resolution"] = {"to_close": _durations(ws, q, "closed_at"),
                             "to_first_response": _durations(ws, q, "first_response_at")}
        if out["resolution"]["to_close"] is None and out["resolution"]["to_first_response"] is None:
            out["notes"].append("no closed_at or first_response_at: resolution time cannot be computed")
    if "clusters" in include:
        out["clusters"] = _clusters(ws, q)
    if "intents" in include:
        out["intents"] = _intents(ws, q)
    return out
