"""Query kinds ``nps``, ``csat``, ``ces`` and ``rating``: survey scores with intervals and change tests.

Counting runs in the database: one GROUP BY over sufficient statistics (answer counts by status, promoters /
passives / detractors, top-box count, n, sum, sum of squares, min, max) per group and period. The interval
maths runs in :mod:`cxlens.stats`. Denominators are explicit: only answered questions enter a score; skipped,
seen-not-answered and dismissed answers are counted and reported beside it, never mixed in.

``{"kind": "nps", "question": "nps", "by": ["stage"], "period": "month", "compare": "previous_period"}``
"""

from __future__ import annotations

import functools
import itertools
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats import (
    MeanStat,
    NpsCounts,
    ProportionStat,
    StatResult,
    adjust_pvalues,
    ces,
    csat,
    mean_ci,
    nps,
    nps_difference,
    proportion_ci,
    two_proportion_test,
    welch_t,
)
from cxlens.store.rollup import SCORE_ROLLUP, can_use, to_rollup, whole_days
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["ScoreQuery", "group_keys", "period_expr"]

Period = Literal["day", "week", "month", "quarter", "year"]
ScoreKind = Literal["nps", "csat", "ces", "rating"]


class ScoreQuery(QueryModel):
    """A survey score per group and period, with intervals and (optionally) period-over-period tests."""

    kind: ScoreKind
    survey: str | None = None
    question: str | list[str] | None = Field(None, description="question id(s); default: every question "
                                                                "of this type")
    by: list[str] = Field(default_factory=list, description="columns or properties to split by")
    period: Period | None = None
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1)
    compare: Literal["previous_period"] | None = None
    correction: Literal["holm", "bh", "none"] = "holm"
    alpha: float = Field(0.05, gt=0, lt=0.5, description="significance level for `significant`")
    top_box: int = Field(2, ge=1, description="CSAT: how many top points count as satisfied")
    box: list[float] | None = Field(None, min_length=1, description="scores that count as the box, e.g. [1, 2] "
                                    "for 'very good' and 'good' on a reversed 1-5 scale; csat: replaces "
                                    "top_box; ces/rating: adds the box share with its interval to each row")
    method: Literal["adjusted-wald", "wilson", "exact", "wald"] = "adjusted-wald"
    use_rollup: bool = Field(True, description="answer from the store's per-day score rollup when the query "
                             "allows it (by/filters on survey, question, touchpoint, scale, status or score; "
                             "whole UTC days); false always scans the answers. Results are the same.")


def period_expr(period: str, column: str) -> exp.Expression:
    """Start of the calendar period containing ``column`` (weeks start on Monday)."""
    return exp.DateTrunc(unit=exp.Literal.string(period.upper()), this=exp.column(column))


def group_keys(table: str, by: list[str], period: str | None, time_col: str) -> list[exp.Expression]:
    """The GROUP BY expressions, aliased ``g0..gk`` for ``by`` and ``period`` for the period."""
    keys = [field(table, b).as_(f"g{i}") for i, b in enumerate(by)]
    if period:
        keys.append(period_expr(period, time_col).as_("period"))
    return keys


def _weighted(cond: exp.Expression, weight: exp.Expression | None = None) -> exp.Expression:
    """Rows matching ``cond``; with ``weight`` (the rollup's ``n``), the sum of their weights."""
    if weight is None:
        return exp.Sum(this=exp.If(this=cond, true=exp.Literal.number(1), false=exp.Literal.number(0)))
    return exp.cast(exp.Sum(this=exp.If(this=cond, true=weight, false=exp.Literal.number(0))), "BIGINT")


def _agg(kind: str, top_box: int, box: list[float] | None = None, weight: exp.Expression | None = None,
         ) -> list[exp.Expression]:
    """The sufficient statistics of a score query: over answer rows, or (``weight`` = ``n``) over rollup rows
    that each stand for ``n`` equal answers."""
    score = exp.column("score")
    status = exp.column("status")
    answered = exp.and_(status.eq("answered"), exp.not_(score.is_(exp.null())))

    def count_if(cond: exp.Expression) -> exp.Expression:
        return _weighted(cond, weight)

    def times_n(e: exp.Expression) -> exp.Expression:
        return e if weight is None else exp.Mul(this=e, expression=weight)

    aggs = [
        count_if(answered).as_("n"),
        count_if(status.eq("skipped")).as_("skipped"),
        count_if(status.eq("seen")).as_("seen"),
        count_if(status.eq("dismissed")).as_("dismissed"),
    ]
    if kind == "nps":
        # NPS needs counts only (passives = n - promoters - detractors, filled in after the query): the
        # fewer aggregates, the faster the scan (about 2x on 1M answers)
        return [*aggs, count_if(exp.and_(answered, score >= 9)).as_("promoters"),
                count_if(exp.and_(answered, score <= 6)).as_("detractors")]
    aggs += [
        exp.Sum(this=exp.If(this=answered, true=times_n(score))).as_("sum"),
        exp.Sum(this=exp.If(this=answered, true=times_n(exp.Mul(this=score, expression=score)))).as_("sum_sq"),
        exp.Min(this=exp.If(this=answered, true=score)).as_("min"),
        exp.Max(this=exp.If(this=answered, true=score)).as_("max"),
    ]
    if box:
        aggs.append(count_if(exp.and_(answered, score.isin(*[exp.Literal.number(v) for v in box]))).as_("top"))
    elif kind == "csat":
        top = exp.Sub(this=exp.column("scale_max"), expression=exp.Literal.number(top_box))
        aggs.append(count_if(exp.and_(answered, score > top)).as_("top"))
    return aggs


def _estimate(kind: str, row: dict[str, Any], q: ScoreQuery) -> tuple[StatResult | None, Any]:
    """The metric of one group row, and the sufficient statistic used for comparisons."""
    n = int(row["n"] or 0)
    if n == 0:
        return None, None
    if kind == "nps":
        counts = NpsCounts(int(row["promoters"]), int(row["passives"]), int(row["detractors"]))
        return nps(counts, q.confidence), counts
    if kind == "csat":
        stat = ProportionStat(n, int(row["top"]))
        if q.box:
            return proportion_ci(stat, q.confidence, q.method, metric="csat"), stat
        return csat(stat, scale=int(row["scale_max"]), top=q.top_box, confidence=q.confidence,
                    method=q.method), stat
    mean = MeanStat(n, float(row["sum"]), float(row["sum_sq"]), row["min"], row["max"])
    if kind == "ces":
        return ces(mean, int(row["scale_max"]), q.confidence), mean
    return mean_ci(mean, q.confidence, bounds=(float(row["scale_min"]), float(row["scale_max"])),
                   metric="rating"), mean


def _compare(kind: str, cur: Any, prev: Any, confidence: float) -> StatResult:
    if kind == "nps":
        return nps_difference(cur, prev, confidence)
    if kind == "csat":
        return two_proportion_test(cur, prev, confidence)
    return welch_t(cur, prev, confidence)


def _iso(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()[:10]
    return v


@register_query("nps", ScoreQuery, "Net Promoter Score per group/period with adjusted-Wald intervals.")
@register_query("csat", ScoreQuery, "CSAT top-box share per group/period with intervals.")
@register_query("ces", ScoreQuery, "Customer Effort Score (mean on 1-5 or 1-7) with t intervals.")
@register_query("rating", ScoreQuery, "Mean of any rating question with t intervals.")
def run_scores(ws: Workspace, q: ScoreQuery) -> dict[str, Any]:
    if q.compare and not q.period:
        raise QueryError("compare 'previous_period' needs a period (day, week, month, quarter or year)")
    if q.box and q.kind == "nps":
        raise QueryError("box does not apply to nps (promoters 9-10 and detractors 0-6 are fixed); use "
                         "kind 'rating' on the question for another split")
    source = "rollup" if _rollup_applies(ws, q) else "responses"
    props = _rollup_properties(ws) if source == "rollup" else ()
    data = ws.store.execute(_score_sql(q.model_dump_json(), source, props, ws.store.dialect)).to_pylist()
    if q.kind == "nps":
        for r in data:
            r["passives"] = int(r["n"] or 0) - int(r["promoters"] or 0) - int(r["detractors"] or 0)

    _check_scales(q, data)
    rows: list[dict[str, Any]] = []
    stats: list[Any] = []
    for r in data:
        res, stat = _estimate(q.kind, r, q)
        out: dict[str, Any] = {b: r[f"g{i}"] for i, b in enumerate(q.by)}
        if q.period:
            out["period"] = _iso(r["period"])
        out.update({"n": int(r["n"] or 0), "skipped": int(r["skipped"] or 0), "seen": int(r["seen"] or 0),
                    "dismissed": int(r["dismissed"] or 0), "scale": [r["scale_min"], r["scale_max"]]})
        if q.kind == "nps":
            out.update({k: int(r[k] or 0) for k in ("promoters", "passives", "detractors")})
        elif q.kind == "csat":
            out["top_box"] = int(r["top"] or 0)
        out.update(_result_fields(res))
        if q.box and q.kind != "csat":
            out["box"] = _box_fields(q, out["n"], int(r["top"] or 0))
        rows.append(out)
        stats.append(stat)
    if q.compare:
        _add_comparisons(q, rows, stats)
    return {
        "kind": q.kind,
        "question": q.question,
        "by": list(q.by),
        "period": q.period,
        "confidence": q.confidence,
        "denominator": "answered (skipped, seen and dismissed answers are counted apart and excluded)",
        "source": source,
        "warnings": _query_warnings(ws, q, rows, source),
        "rows": rows,
    }


def _query_warnings(ws: Workspace, q: ScoreQuery, rows: list[dict[str, Any]], source: str) -> list[str]:
    """What may make the answer not the one asked for: nothing matched (and what there is instead), a
    ``by`` name no answer carries, box values outside the scale."""
    out: list[str] = []
    if not rows:
        table = SCORE_ROLLUP if source == "rollup" else "responses"
        stored = ws.store.execute(f'SELECT DISTINCT "survey", "question" FROM "{table}" WHERE "question_type" = '
                                  f"'{q.kind}' ORDER BY 1, 2 LIMIT 21").to_pylist()
        if not stored:
            out.append(f"no {q.kind} answers are stored (question_type '{q.kind}')")
        else:
            names = ", ".join(f"{r['question']} (survey {r['survey']})" for r in stored[:20])
            out.append(f"no {q.kind} answer matches the question, survey, filters or date range; {q.kind} "
                       f"questions stored: {names}{', …' if len(stored) > 20 else ''}")
    for b in q.by:
        if rows and all(r.get(b) is None for r in rows):
            out.append(f"no matching answer has {b!r} (all fall in the empty group): check the column or "
                       "property name")
    if q.box:
        scales = {tuple(r["scale"]) for r in rows if None not in r["scale"]}
        outside = sorted({v for v in q.box for lo, hi in scales if not lo <= v <= hi})
        if outside:
            out.append(f"box value(s) {', '.join(f'{v:g}' for v in outside)} lie outside the scale "
                       f"{'; '.join(f'{lo}-{hi}' for lo, hi in sorted(scales))}: no answer can fall there")
    return out


def _utc_bounds(q: ScoreQuery) -> tuple[datetime | None, datetime | None]:
    dr = q.date_range
    if dr is None:
        return None, None
    return tuple(None if b is None else b if b.tzinfo is None else b.astimezone(UTC).replace(tzinfo=None)
                 for b in (dr.from_, dr.to))  # type: ignore[return-value]


def _rollup_applies(ws: Workspace, q: ScoreQuery) -> bool:
    """Whether the score rollup can answer ``q`` exactly, and is in step with ``responses`` (it is not when
    rows were written around the store, e.g. straight through the DuckDB connection)."""
    if not (q.use_rollup and "score_rollup" in ws.store.capabilities):
        return False
    props = _rollup_properties(ws)
    if not (can_use(q.by, [f.key for f in q.filters], props) and whole_days(*_utc_bounds(q))):
        return False
    t = ws.store.execute(f'SELECT (SELECT count(*) FROM "responses") AS a, '
                         f'(SELECT coalesce(sum("n"), 0) FROM "{SCORE_ROLLUP}") AS b').to_pylist()[0]
    return int(t["a"]) == int(t["b"])


@functools.lru_cache(maxsize=512)
def _score_sql(q_json: str, source: str, props: tuple[str, ...], dialect: str) -> str:
    """The SQL text of a score query, cached: building and rendering the sqlglot tree costs more than running
    the query on the rollup (a dashboard asks the same few queries again and again)."""
    return _score_select(ScoreQuery.model_validate_json(q_json), source, props).sql(dialect=dialect)


def _rollup_properties(ws: Workspace) -> tuple[str, ...]:
    return tuple(getattr(ws.store, "score_rollup_properties", ()))


def _score_select(q: ScoreQuery, source: str, props: tuple[str, ...] = ()) -> exp.Select:
    """One GROUP BY over sufficient statistics, from the answers or from the rollup (``source``; promoted
    properties ``props`` are read from their rollup columns)."""
    on_rollup = source == "rollup"
    time_col = "day" if on_rollup else "timestamp"
    keys = group_keys("responses", q.by, q.period, time_col)
    if on_rollup:
        keys = [to_rollup(k, props) for k in keys]
    scale_cols = [exp.column("scale_min"), exp.column("scale_max")]
    aggs = _agg(q.kind, q.top_box, q.box if q.kind != "nps" else None, exp.column("n") if on_rollup else None)
    sel = select(*keys, *scale_cols, *aggs).from_(exp.table_(SCORE_ROLLUP if on_rollup else "responses"))
    conds = [exp.column("question_type").eq(q.kind)]
    if q.survey:
        conds.append(exp.column("survey").eq(q.survey))
    if q.question:
        qs = [q.question] if isinstance(q.question, str) else q.question
        conds.append(exp.column("question").isin(*[exp.Literal.string(x) for x in qs]))
    if q.period:
        conds.append(exp.not_(exp.column(time_col).is_(exp.null())))
    if on_rollup:
        conds += [to_rollup(c, props) for c in where("responses", q.filters, None)]
        start, end = _utc_bounds(q)
        for bound, op in ((start, exp.GTE), (end, exp.LTE)):
            if bound is not None:
                conds.append(op(this=exp.column("day"), expression=exp.cast(
                    exp.Literal.string(bound.date().isoformat()), "DATE")))
    else:
        conds += where("responses", q.filters, q.date_range)
    for c in conds:
        sel = sel.where(c, copy=False)  # the builders copy the whole tree by default: most of the query's time
    group_aliases = [exp.column(f"g{i}") for i in range(len(q.by))] + (
        [exp.column("period")] if q.period else [])
    return sel.group_by(*group_aliases, *scale_cols, copy=False).order_by(*group_aliases, *scale_cols, copy=False)


def _result_fields(res: StatResult | None) -> dict[str, Any]:
    if res is None:
        return {"estimate": None, "ci_low": None, "ci_high": None, "method": None,
                "warnings": ["no answered question in this group"]}
    return {"estimate": _finite(res.estimate), "ci_low": _finite(res.ci_low), "ci_high": _finite(res.ci_high),
            "method": res.method, "warnings": list(res.warnings)}


def _box_fields(q: ScoreQuery, n: int, k: int) -> dict[str, Any]:
    """Share of answered scores in ``q.box`` with its interval (the method of the query)."""
    out: dict[str, Any] = {"values": list(q.box or []), "count": k}
    if n == 0:
        return {**out, "share": None, "ci_low": None, "ci_high": None, "method": None}
    r = proportion_ci(ProportionStat(n, k), q.confidence, q.method, metric="box share")
    return {**out, "share": _finite(r.estimate), "ci_low": _finite(r.ci_low), "ci_high": _finite(r.ci_high),
            "method": r.method}


def _finite(v: float | None) -> float | None:
    """A JSON-safe float (None for NaN and infinities), without StatResult.to_dict's deep copy."""
    return None if v is None or not math.isfinite(v) else float(v)


def _check_scales(q: ScoreQuery, data: list[dict[str, Any]]) -> None:
    """Refuse to mix scales inside one group (e.g. CES 1-5 with CES 1-7)."""
    seen: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    for r in data:
        key = tuple(r[f"g{i}"] for i in range(len(q.by))) + ((r["period"],) if q.period else ())
        scale = (r["scale_min"], r["scale_max"])
        if key in seen and seen[key] != scale and (r["n"] or 0):
            raise QueryError(
                f"{q.kind} answers on scales {seen[key][0]}-{seen[key][1]} and {scale[0]}-{scale[1]} fall in "
                "one group; they are not comparable. Choose one question, or add 'scale_max' to 'by'.")
        seen[key] = scale


def _add_comparisons(q: ScoreQuery, rows: list[dict[str, Any]], stats: list[Any]) -> None:
    """Change vs the previous period of the same group, p-values corrected across all comparisons."""
    by_group: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        by_group.setdefault(tuple(r[b] for b in q.by), []).append(i)
    tested: list[int] = []
    pvals: list[float] = []
    for idx in by_group.values():
        idx.sort(key=lambda i: rows[i]["period"])
        for prev_i, cur_i in itertools.pairwise(idx):
            cur, prev = rows[cur_i], rows[prev_i]
            cur.update({"previous_period": prev["period"], "previous_estimate": prev["estimate"],
                        "change": None, "change_ci_low": None, "change_ci_high": None, "p_value": None,
                        "p_value_adjusted": None, "significant": False})
            if stats[cur_i] is None or stats[prev_i] is None:
                continue
            if isinstance(stats[cur_i], MeanStat) and min(stats[cur_i].n, stats[prev_i].n) < 2:
                # Welch's t needs two answers on each side; say so instead of failing the whole query
                cur["warnings"] = [*cur.get("warnings", []), "change not tested: fewer than 2 answers in a period"]
                continue
            diff = _compare(q.kind, stats[cur_i], stats[prev_i], q.confidence)
            d = diff.to_dict()
            cur.update({"change": d["estimate"], "change_ci_low": d["ci_low"], "change_ci_high": d["ci_high"],
                        "p_value": d["p_value"]})
            if d["p_value"] is not None:  # to_dict maps an undefined p (NaN: no variance on either side) to None
                tested.append(cur_i)
                pvals.append(d["p_value"])
    if pvals:
        method = None if q.correction == "none" else q.correction
        adjusted = adjust_pvalues(pvals, method) if method else pvals
        for i, p in zip(tested, adjusted, strict=True):
            rows[i]["p_value_adjusted"] = float(p)
            rows[i]["significant"] = bool(p < q.alpha)
            rows[i]["correction"] = q.correction
