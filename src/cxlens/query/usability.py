"""Query kinds ``sus`` and ``tasks``: usability questionnaires and task metrics with intervals.

``{"kind": "sus", "survey": "sus", "by": ["variant"]}`` scores the System Usability Scale from answers stored
as ``rating`` questions whose ids end in the item number (``sus_01`` .. ``sus_10``); one respondent =
one ``response_id``.

``{"kind": "tasks", "study": "openshift", "by": ["task", "variant"], "compare": "variant"}`` gives, per task,
completion rate (adjusted Wald), time on task of completed attempts (geometric mean with a log-t interval
below 25 attempts, median with a binomial interval from 25), satisfaction and errors per attempt, and
compares versions (N-1 two-proportion test, Welch t on log times), p-values corrected across tasks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats import (
    LogMeanStat,
    MeanStat,
    ProportionStat,
    StatResult,
    adjust_pvalues,
    completion_rate,
    errors_per_attempt,
    mean_ci,
    sus,
    task_time,
    two_proportion_test,
    welch_t,
)
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["SusQuery", "TasksQuery"]


class SusQuery(QueryModel):
    """SUS per group: mean with t interval, grade, percentile, Usability and Learnability subscales."""

    kind: Literal["sus"] = "sus"
    survey: str = "sus"
    by: list[str] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1)
    benchmark: float | None = Field(None, description="test the mean against this value, e.g. 68")


class TasksQuery(QueryModel):
    """Per-task usability metrics with intervals, optionally comparing versions."""

    kind: Literal["tasks"] = "tasks"
    study: str | None = None
    by: list[str] = Field(default_factory=lambda: ["task", "variant"])
    filters: list[Filter] = Field(default_factory=list)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    compare: Literal["variant"] | None = None
    correction: Literal["holm", "bh", "none"] = "holm"
    alpha: float = Field(0.05, gt=0, lt=0.5)


def _fields(res: StatResult | None) -> dict[str, Any] | None:
    if res is None:
        return None
    d = res.to_dict()
    return {k: d[k] for k in ("estimate", "ci_low", "ci_high", "n", "method", "warnings")}


@register_query("sus", SusQuery, "System Usability Scale per group with interval, grade and subscales.")
def run_sus(ws: Workspace, q: SusQuery) -> dict[str, Any]:
    item = exp.cast(exp.RegexpExtract(this=exp.column("question"), expression=exp.Literal.string("([0-9]+)$"),
                                      group=exp.Literal.number(1)), "INT")
    keys = [field("responses", b).as_(f"g{i}") for i, b in enumerate(q.by)]
    pivots = [exp.Max(this=exp.If(this=item.eq(k), true=exp.column("score"))).as_(f"i{k}")
              for k in range(1, 11)]
    sel = select(*keys, exp.column("response_id"), *pivots).from_("responses")
    conds = [exp.column("survey").eq(q.survey), exp.column("question_type").eq("rating"),
             exp.column("status").eq("answered")]
    for c in conds + where("responses", q.filters, q.date_range):
        sel = sel.where(c)
    group = [exp.column(f"g{i}") for i in range(len(q.by))]
    sel = sel.group_by(*group, exp.column("response_id"))
    df = ws.store.execute(sel).to_pandas()
    if df.empty:
        raise QueryError(f"no answered SUS items in survey {q.survey!r}; import a SUS questionnaire first "
                         "(e.g. `cxlens import responses sus.csv`)")
    items = [f"i{k}" for k in range(1, 11)]
    rows = []
    groups = df.groupby([f"g{i}" for i in range(len(q.by))], dropna=False) if q.by else [((), df)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        res = sus(part[items], q.confidence, missing="drop", benchmark=q.benchmark)
        d = res.to_dict()
        rows.append({**{b: _py(k) for b, k in zip(q.by, key, strict=True)}, "respondents": len(part),
                     **_fields(res), "p_value": d["p_value"], **{k: d["extra"].get(k) for k in (
                         "sd", "median", "min", "max", "grade", "percentile", "usability", "learnability",
                         "dropped")}})
    return {"kind": "sus", "survey": q.survey, "by": list(q.by), "confidence": q.confidence, "rows": rows}


def _py(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


@register_query("tasks", TasksQuery, "Usability task metrics (completion, time, satisfaction, errors).")
def run_tasks(ws: Workspace, q: TasksQuery) -> dict[str, Any]:
    if q.compare and "variant" not in q.by:
        raise QueryError("compare 'variant' needs 'variant' in 'by'")
    cols = [field("tasks", b).as_(f"g{i}") for i, b in enumerate(q.by)]
    base = ["completed", "time_s", "satisfaction", "errors"]
    sel = select(*cols, *[exp.column(c) for c in base]).from_("tasks")
    conds = [exp.column("study").eq(q.study)] if q.study else []
    for c in conds + where("tasks", q.filters, None):
        sel = sel.where(c)
    df = ws.store.execute(sel).to_pandas()
    if df.empty:
        raise QueryError("no task rows match; import a task table first (e.g. `cxlens import tasks FILE`)")
    gcols = [f"g{i}" for i in range(len(q.by))]
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    groups = df.groupby(gcols, dropna=False, sort=True) if gcols else [((), df)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        row, stats = _task_metrics(part, q.confidence)
        rows.append({**{b: _py(k) for b, k in zip(q.by, key, strict=True)}, **row})
        kept.append(stats)
    if q.compare:
        _compare_variants(q, rows, kept)
    return {"kind": "tasks", "study": q.study, "by": list(q.by), "confidence": q.confidence, "rows": rows}


def _task_metrics(part: pd.DataFrame, confidence: float) -> tuple[dict[str, Any], dict[str, Any]]:
    done = part["completed"].dropna().astype(bool)
    comp = ProportionStat(int(done.size), int(done.sum()))
    times = part.loc[part["completed"].fillna(False).astype(bool), "time_s"].dropna()
    times = times[times > 0]
    sat = part["satisfaction"].dropna()
    errs = part["errors"].dropna()
    row = {
        "attempts": len(part),
        "completion": _fields(completion_rate(comp, confidence)) if comp.n else None,
        "time": _fields(task_time(times.to_numpy(), confidence)) if len(times) else None,
        "satisfaction": _fields(mean_ci(sat.to_numpy(), confidence, metric="satisfaction"))
        if len(sat) else None,
        "errors_per_attempt": _fields(errors_per_attempt(errs.to_numpy(), confidence)) if len(errs) else None,
    }
    stats = {"completion": comp,
             "log_time": LogMeanStat.from_values(times.to_numpy()) if len(times) else None,
             "satisfaction": MeanStat.from_values(sat.to_numpy()) if len(sat) else None}
    return row, stats


def _compare_variants(q: TasksQuery, rows: list[dict[str, Any]], stats: list[dict[str, Any]]) -> None:
    """Each variant against the first variant of the same other-keys group (e.g. the same task)."""
    others = [b for b in q.by if b != "variant"]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r[b] for b in others), []).append(i)
    tests: list[tuple[int, str, StatResult]] = []
    for idx in groups.values():
        ref = idx[0]
        for i in idx[1:]:
            rows[i]["compared_with"] = rows[ref]["variant"]
            a, b = stats[i], stats[ref]
            if a["completion"].n and b["completion"].n:
                tests.append((i, "completion", two_proportion_test(a["completion"], b["completion"],
                                                                   q.confidence)))
            for name in ("log_time", "satisfaction"):
                if a[name] is not None and b[name] is not None and a[name].n > 1 and b[name].n > 1:
                    tests.append((i, name, welch_t(a[name], b[name], q.confidence)))
    pvals = [t.p_value if t.p_value is not None else float("nan") for _, _, t in tests]
    adjusted = adjust_pvalues(pvals, q.correction) if (pvals and q.correction != "none") else pvals
    for (i, name, t), p_adj in zip(tests, adjusted, strict=True):
        d = t.to_dict()
        rows[i].setdefault("comparison", {})[name] = {
            "difference": d["estimate"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "p_value": d["p_value"], "p_value_adjusted": None if math.isnan(p_adj) else float(p_adj),
            "significant": bool(not math.isnan(p_adj) and p_adj < q.alpha), "method": d["method"],
            "note": "difference of mean log times (ln ratio of geometric means)"
            if name == "log_time" else None,
        }
