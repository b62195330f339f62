"""Query kind ``drivers``: key-driver analysis of an outcome question (NPS, CSAT or any score).

The inputs come from the ``responses`` table, one row per submission (``response_id``): every answered
numeric question becomes a column (the mean when a submission answered it twice), the outcome is one chosen
question, the drivers are other questions and/or themes. Themes come from a list-valued property of the
submission's text answers (for example ``topics`` of the NHS FFT preset, or the labels a theme model wrote):
1 when any comment of the submission carries the theme, 0 when it commented without it; submissions
without a comment are left out of a theme analysis. Incomplete submissions are dropped (listwise) and
counted.

The maths (Johnson's relative weights, exact Shapley/LMG decomposition of R², seeded vectorised bootstrap
percentile intervals, importance x performance quadrants) is in :mod:`cxlens.stats.drivers`.

``{"kind": "drivers", "survey": "relationship", "outcome": "nps", "drivers": ["price", "support", "ease"]}``
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats.drivers import driver_analysis, importance_performance
from cxlens.store.sql import Filter

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["DriversQuery"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DriversQuery(QueryModel):
    """Which rated attributes or themes move an outcome: relative weights and Shapley shares of R²."""

    kind: Literal["drivers"] = "drivers"
    outcome: str = Field(description="question id of the outcome (e.g. nps, csat, fft)")
    drivers: list[str] | None = Field(None, description="question ids of the drivers; default: every other "
                                                        "answered numeric question (unless themes are given)")
    themes: str | None = Field(None, description="property of the text answers that lists their themes, "
                                                 "e.g. 'topics'")
    min_theme_count: int = Field(30, ge=1, description="themes mentioned by fewer submissions are left out")
    max_themes: int = Field(10, ge=1, le=200, description="most frequent themes kept")
    survey: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    methods: list[Literal["relative_weights", "shapley"]] = Field(
        default_factory=lambda: ["relative_weights", "shapley"])
    n_boot: int = Field(1000, ge=0, le=20_000, description="bootstrap replicates for the intervals")
    seed: int | None = Field(0, description="bootstrap seed (same seed, same intervals)")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    higher_is_better: bool = Field(True, description="direction of the outcome (false for scales where 1 is "
                                                     "best, such as the NHS FFT rating)")


def _base(q: DriversQuery) -> list[exp.Expression]:
    conds = [exp.not_(exp.column("response_id").is_(exp.null()))]
    if q.survey:
        conds.append(exp.column("survey").eq(exp.Literal.string(q.survey)))
    return conds + where("responses", q.filters, q.date_range)


def _scores(ws: Workspace, q: DriversQuery, questions: list[str] | None) -> pd.DataFrame:
    score = exp.column("score")
    sel = select(exp.column("response_id"), exp.column("question"), exp.Avg(this=score).as_("value"),
                 exp.Min(this=exp.column("scale_min")).as_("lo"), exp.Max(this=exp.column("scale_max")).as_("hi")
                 ).from_("responses")
    conds = [*_base(q), exp.column("status").eq(exp.Literal.string("answered")), exp.not_(score.is_(exp.null()))]
    if questions is not None:
        conds.append(exp.column("question").isin(*[exp.Literal.string(x) for x in questions]))
    for c in conds:
        sel = sel.where(c)
    sel = sel.group_by(exp.column("response_id"), exp.column("question"))
    return ws.store.execute(sel).to_pandas()


def _themes(ws: Workspace, q: DriversQuery) -> pd.DataFrame:
    assert q.themes is not None
    if not _KEY.match(q.themes):
        raise QueryError(f"themes must name a property (letters, digits, _), not {q.themes!r}")
    path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=q.themes)])
    listed = exp.cast(exp.JSONExtract(this=exp.column("properties"), expression=path),
                      exp.DataType.build("ARRAY<VARCHAR>"))
    inner = select(exp.column("response_id"), exp.Explode(this=listed).as_("theme")).from_("responses")
    for c in [*_base(q), exp.column("question_type").eq(exp.Literal.string("text")),
              exp.not_(exp.column("properties").is_(exp.null()))]:
        inner = inner.where(c)
    commented = select(exp.column("response_id")).from_("responses")
    for c in [*_base(q), exp.column("question_type").eq(exp.Literal.string("text")),
              exp.not_(exp.JSONExtract(this=exp.column("properties"), expression=path.copy()).is_(exp.null()))]:
        commented = commented.where(c)
    pairs = ws.store.execute(inner.distinct()).to_pandas()
    base = ws.store.execute(commented.distinct()).to_pandas()
    if base.empty:
        raise QueryError(f"no text answer has a {q.themes!r} property; themes come from a list-valued property "
                         "of the text answers (e.g. 'topics')")
    onehot = pd.crosstab(pairs["response_id"], pairs["theme"]).clip(upper=1) if not pairs.empty else \
        pd.DataFrame(index=pd.Index([], name="response_id"))
    onehot = onehot.reindex(base["response_id"].unique(), fill_value=0)
    counts = onehot.sum(axis=0).sort_values(ascending=False, kind="stable")
    keep = counts[counts >= q.min_theme_count].index[: q.max_themes]
    return onehot[list(keep)].astype(float)


@register_query("drivers", DriversQuery, "Key-driver analysis: Johnson relative weights and Shapley (LMG) "
                                          "shares of R² with bootstrap intervals, importance x performance.")
def run_drivers(ws: Workspace, q: DriversQuery) -> dict[str, Any]:
    wanted = None if q.drivers is None else [q.outcome, *q.drivers]
    if q.drivers is None and q.themes:
        wanted = [q.outcome]
    long = _scores(ws, q, wanted)
    if long.empty or not (long["question"] == q.outcome).any():
        raise QueryError(f"no answered score for outcome question {q.outcome!r}"
                         + (f" in survey {q.survey!r}" if q.survey else ""))
    scales = long.groupby("question").agg(lo=("lo", "min"), hi=("hi", "max"))
    wide = long.pivot(index="response_id", columns="question", values="value")  # unique after GROUP BY
    rated = [c for c in (q.drivers if q.drivers is not None else wide.columns) if c != q.outcome]
    missing = [d for d in rated if d not in wide.columns]
    if missing:
        raise QueryError(f"no answered score for driver question(s) {', '.join(map(repr, missing))}; "
                         f"questions with scores: {', '.join(map(str, wide.columns))}")
    table = wide[[q.outcome, *rated]]
    theme_cols: list[str] = []
    if q.themes:
        th = _themes(ws, q)
        theme_cols = [f"theme:{t}" for t in th.columns]
        th.columns = theme_cols
        table = table.join(th, how="inner")
    names = [*rated, *theme_cols]
    if not names:
        raise QueryError("no drivers: name driver questions, or themes, or answer more than the outcome")
    n_all = len(table)
    table = table.dropna()
    warnings: list[str] = []
    const = [c for c in names if table[c].nunique() < 2]
    if const:
        warnings.append(f"left out (no variation): {', '.join(const)}")
        names = [c for c in names if c not in const]
    if len(table) <= len(names) + 1:
        raise QueryError(f"{len(table)} complete submissions for {len(names)} drivers: too few")
    X = table[names].to_numpy(float)
    y = table[q.outcome].to_numpy(float)
    try:
        res = driver_analysis(X, y, names, methods=tuple(q.methods), n_boot=q.n_boot,
                              confidence=q.confidence, seed=q.seed)
    except ValueError as e:
        raise QueryError(f"driver analysis failed: {e}") from None
    higher = q.higher_is_better
    o_lo, o_hi = float(scales.loc[q.outcome, "lo"]), float(scales.loc[q.outcome, "hi"])

    def to100(v: float, lo: float, hi: float, better_high: bool = True) -> float | None:
        if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
            return None
        s = 100.0 * (v - lo) / (hi - lo)
        return s if better_high else 100.0 - s

    rows = res.to_rows()
    perf: list[float | None] = []
    for row, name in zip(rows, names, strict=True):
        col = table[name].to_numpy(float)
        if name.startswith("theme:"):
            row.update({"type": "theme", "driver": name.removeprefix("theme:"), "mentions": int(col.sum()),
                        "mention_share": float(col.mean()),
                        "outcome_when_mentioned": float(y[col > 0].mean()),
                        "outcome_when_not": float(y[col == 0].mean()) if (col == 0).any() else None})
            perf.append(to100(row["outcome_when_mentioned"], o_lo, o_hi, higher))
        else:
            lo, hi = float(scales.loc[name, "lo"]), float(scales.loc[name, "hi"])
            row.update({"type": "rating", "mean": float(col.mean()), "scale": [lo, hi]})
            perf.append(to100(row["mean"], lo, hi))
        row["performance"] = perf[-1]
        b = row["beta"]
        row["direction"] = None if b is None else ("better" if (b > 0) == higher else "worse")
    key = "shapley" if res.shapley is not None else "relative_weight"
    imp = np.array([r[key]["estimate"] for r in rows], dtype=float)
    pf = np.array([np.nan if p is None else p for p in perf], dtype=float)
    if np.isfinite(pf).any():
        quad = importance_performance(imp, np.where(np.isfinite(pf), pf, np.nanmean(pf)))
        for r, qd, p in zip(rows, quad, pf, strict=True):
            r["quadrant"] = qd if np.isfinite(p) else None
    order = np.argsort(-imp, kind="stable")
    rows = [rows[i] | {"rank": k + 1} for k, i in enumerate(order)]
    return {
        "kind": "drivers", "outcome": q.outcome, "survey": q.survey, "n": res.n, "n_submissions": n_all,
        "n_dropped_incomplete": n_all - res.n, "r2": res.r2, "r2_ci": list(res.r2_ci), "confidence": res.confidence,
        "n_boot": res.n_boot, "seed": res.seed, "importance": key, "higher_is_better": higher,
        "performance": "rating mean on 0-100 of its scale; for themes, the outcome when mentioned on 0-100 "
                       "(100 = best)",
        "rows": rows, "warnings": [*warnings, *res.warnings],
    }
