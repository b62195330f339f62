"""Query kind ``reviews``: star-rating distribution and trend per app / version / period, review classes.

One GROUP BY returns the sufficient statistics of every group and period (count of each star, n, sum, sum of
squares); :mod:`cxlens.stats` adds the mean with its t interval and the share of 4-5 stars with an
adjusted-Wald (or Wilson) interval. With ``compare: "previous_period"`` each period is tested against the
previous one of the same group (Welch t on the mean, N-1 two-proportion test on the 4-5 share), with the
p-values corrected across all tests of the query (Holm by default) and ``significant`` flagged.

``classify: true`` sorts each review into bug report / feature request / praise / user experience with
``cxlens.text.classify_reviews`` and reports the class shares per group with intervals.

``{"kind": "reviews", "by": ["app"], "period": "month", "compare": "previous_period", "classify": true}``
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query._voice import flag, iso, lazy_text, proportion_fields
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.query.scores import Period, group_keys
from cxlens.stats import MeanStat, ProportionStat, mean_ci, two_proportion_test, welch_t
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["REVIEW_CLASSES", "ReviewsQuery"]

REVIEW_CLASSES = ("bug_report", "feature_request", "praise", "user_experience")


class ReviewsQuery(QueryModel):
    """Rating distribution, mean and 4-5 share per group and period, with change tests and review classes."""

    kind: Literal["reviews"] = "reviews"
    by: list[str] = Field(default_factory=list, description="app, version, source or any property")
    period: Period | None = None
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1)
    method: Literal["adjusted-wald", "wilson", "exact"] = "adjusted-wald"
    compare: Literal["previous_period"] | None = None
    correction: Literal["holm", "bh", "none"] = "holm"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    classify: bool = Field(False, description="classify texts into bug report / feature request / praise / "
                                              "user experience (cxlens.text.classify_reviews)")
    classify_method: Literal["tfidf", "embedding"] = Field("tfidf", description="features of the review "
                                                                              "classifier (cxlens.text)")
    limit: int | None = Field(None, ge=1, description="largest groups kept")


def _count_if(cond: exp.Expression) -> exp.Expression:
    return exp.Sum(this=exp.If(this=cond, true=exp.Literal.number(1), false=exp.Literal.number(0)))


def _where(q: ReviewsQuery) -> list[exp.Expression]:
    conds = [exp.not_(exp.column("rating").is_(exp.null()))]
    if q.period:
        conds.append(exp.not_(exp.column("timestamp").is_(exp.null())))
    return conds + where("reviews", q.filters, q.date_range)


def _distribution(ws: Workspace, q: ReviewsQuery) -> list[dict[str, Any]]:
    keys = group_keys("reviews", q.by, q.period, "timestamp")
    r = exp.column("rating")
    aggs = [_count_if(r.eq(k)).as_(f"s{k}") for k in range(1, 6)]
    aggs += [exp.Count(this=r).as_("n"), exp.Sum(this=r).as_("sum"),
             exp.Sum(this=exp.Mul(this=r, expression=r)).as_("sum_sq")]
    sel = select(*keys, *aggs).from_("reviews")
    for c in _where(q):
        sel = sel.where(c)
    names = [f"g{i}" for i in range(len(q.by))] + (["period"] if q.period else [])
    if names:
        sel = sel.group_by(*[exp.column(n) for n in names]).order_by(*[exp.column(n) for n in names])
    rows = []
    for d in ws.store.execute(sel).to_pylist():
        n = int(d["n"] or 0)
        row: dict[str, Any] = {b: iso(d[f"g{i}"]) for i, b in enumerate(q.by)}
        if q.period:
            row["period"] = iso(d["period"])
        stars = {str(k): int(d[f"s{k}"] or 0) for k in range(1, 6)}
        row.update({"n": n, "stars": stars})
        mean = mean_ci(MeanStat(n, float(d["sum"] or 0), float(d["sum_sq"] or 0)), q.confidence,
                       bounds=(1.0, 5.0), metric="mean_stars").to_dict()
        row.update({"mean": mean["estimate"], "mean_ci_low": mean["ci_low"], "mean_ci_high": mean["ci_high"]})
        top = proportion_fields(stars["4"] + stars["5"], n, q.confidence, q.method)
        row.update({"top2_share": top["rate"], "top2_ci_low": top["ci_low"], "top2_ci_high": top["ci_high"],
                    "warnings": mean["warnings"],
                    "_stat": (MeanStat(n, float(d["sum"] or 0), float(d["sum_sq"] or 0)),
                              ProportionStat(n, stars["4"] + stars["5"]))})
        rows.append(row)
    return rows


def _compare(q: ReviewsQuery, rows: list[dict[str, Any]]) -> None:
    """Each period against the previous one of its group; p-values corrected over all tests together."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r[b] for b in q.by), []).append(i)
    tests: list[tuple[int, str]] = []
    pvals: list[float] = []
    for idx in groups.values():
        for a, b in itertools.pairwise(sorted(idx, key=lambda i: rows[i]["period"])):
            cur, prev = rows[b], rows[a]
            cur.update({"previous_period": prev["period"], "mean_change": None, "mean_p_value": None,
                        "top2_change": None, "top2_p_value": None, "significant": False})
            (m1, p1), (m0, p0) = cur["_stat"], prev["_stat"]
            if m1.n >= 2 and m0.n >= 2:
                w = welch_t(m1, m0, q.confidence).to_dict()
                cur.update({"mean_change": w["estimate"], "mean_change_ci": [w["ci_low"], w["ci_high"]],
                            "mean_p_value": w["p_value"]})
                if w["p_value"] is not None and not np.isnan(w["p_value"]):
                    tests.append((b, "mean"))
                    pvals.append(w["p_value"])
            if p1.n and p0.n:
                t = two_proportion_test(p1, p0, q.confidence).to_dict()
                cur.update({"top2_change": t["estimate"], "top2_change_ci": [t["ci_low"], t["ci_high"]],
                            "top2_p_value": t["p_value"]})
                if t["p_value"] is not None and not np.isnan(t["p_value"]):
                    tests.append((b, "top2"))
                    pvals.append(t["p_value"])
    if not pvals:
        return
    adj, sig = flag(np.array(pvals), q.correction, q.alpha)
    for (i, what), p, s in zip(tests, adj, sig, strict=True):
        rows[i][f"{what}_p_value_adjusted"] = float(p)
        rows[i]["significant"] = bool(rows[i]["significant"] or s)
        rows[i]["correction"] = q.correction


def _classes(ws: Workspace, q: ReviewsQuery) -> dict[str, Any]:
    classify = lazy_text("classify_reviews")
    keys = [field("reviews", b).as_(f"g{i}") for i, b in enumerate(q.by)]
    sel = select(*keys, exp.column("title"), exp.column("text")).from_("reviews")
    for c in [exp.not_(exp.column("text").is_(exp.null())), *where("reviews", q.filters, q.date_range)]:
        sel = sel.where(c)
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        return {"texts": 0, "rows": []}
    labels = classify(t.column("text").to_pylist(), titles=t.column("title").to_pylist(),
                      method=q.classify_method)
    labels = pa.array([str(x) for x in labels])
    if len(labels) != t.num_rows:
        raise QueryError(f"classify_reviews returned {len(labels)} labels for {t.num_rows} reviews")
    t = t.append_column("cls", labels)
    names = [f"g{i}" for i in range(len(q.by))]
    g = t.group_by([*names, "cls"]).aggregate([("cls", "count")]).to_pylist()
    totals: dict[tuple[Any, ...], int] = {}
    for r in g:
        key = tuple(r[n] for n in names)
        totals[key] = totals.get(key, 0) + r["cls_count"]
    rows = []
    for r in sorted(g, key=lambda r: (tuple(str(r[n]) for n in names), -r["cls_count"])):
        key = tuple(r[n] for n in names)
        share = proportion_fields(r["cls_count"], totals[key], q.confidence, q.method)
        rows.append({**{b: iso(r[n]) for b, n in zip(q.by, names, strict=True)}, "class": r["cls"],
                     "count": int(r["cls_count"]), "n": totals[key], "share": share["rate"],
                     "ci_low": share["ci_low"], "ci_high": share["ci_high"]})
    return {"texts": t.num_rows, "method": q.classify_method, "classes": list(REVIEW_CLASSES), "rows": rows}


@register_query("reviews", ReviewsQuery, "Star ratings per app/version/period with intervals, change tests and "
                                          "review classes (bug report, feature request, praise, user experience).")
def run_reviews(ws: Workspace, q: ReviewsQuery) -> dict[str, Any]:
    if q.compare and not q.period:
        raise QueryError("compare 'previous_period' needs a period (day, week, month, quarter or year)")
    rows = _distribution(ws, q)
    if q.limit and q.by and not q.period:
        rows = sorted(rows, key=lambda r: -r["n"])[: q.limit]
    if q.compare:
        _compare(q, rows)
    for r in rows:
        r.pop("_stat", None)
    out: dict[str, Any] = {"kind": "reviews", "by": list(q.by), "period": q.period, "confidence": q.confidence,
                           "n": sum(r["n"] for r in rows), "rows": rows}
    if q.compare:
        out["test"] = (f"each period vs the previous one: Welch t on the mean, N-1 two-proportion test on the "
                       f"4-5 share; {q.correction} corrected, alpha {q.alpha}")
    if q.classify:
        out["classes"] = _classes(ws, q)
    return out
