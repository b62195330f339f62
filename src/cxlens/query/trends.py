"""Query kind ``trends``: event counts, unique actors or a numeric property's sum/average per period.

``{"kind": "trends", "series": [{"event": "$pageview"}, {"event": "signup", "math": "unique"}],
"interval": "day", "date_range": {"date_from": "2024-05-01", "date_to": "2024-05-31"},
"breakdown": {"property": "$browser"}}``

Periods are calendar hours, days, weeks (starting ``week_start``) or months in ``timezone``; every period of
the range is present (zero when empty). ``math``: ``total`` (events), ``unique`` (actors: persons through
their distinct ids), ``sum`` / ``avg`` / ``min`` / ``max`` of ``math_property`` (values that are not numbers
are left out). Each series has ``data`` (one value per period) and ``aggregated`` (the whole range: the sum
of the periods for ``total``/``sum``, distinct actors over the range for ``unique``, the overall mean/min/max
otherwise). A breakdown splits each series by an event or person property (``""`` when missing); the
``limit`` values with the largest aggregated value are kept, ``other_values`` says how many were left out.
One GROUP BY per series runs in the database (periods x breakdown values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import any_of, as_text, event_source, has_identities, needs_person
from cxlens.query._series import EventEntity, SeriesQuery, bounds_condition, entity_condition, series_periods
from cxlens.query.registry import register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql
from cxlens.store.sql import field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["TrendsBreakdown", "TrendsQuery", "TrendsSeries", "run_trends"]

_Strict = ConfigDict(extra="forbid", frozen=True)
Math = Literal["total", "unique", "sum", "avg", "min", "max"]


class TrendsSeries(EventEntity):
    """One line of the chart: which events, and what to compute on them."""

    math: Math = "total"
    math_property: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _property(self) -> TrendsSeries:
        if self.math in ("sum", "avg", "min", "max") and not self.math_property:
            raise ValueError(f"math {self.math!r} needs math_property (the numeric property)")
        return self


class TrendsBreakdown(BaseModel):
    """Split every series by an event property or a person property."""

    model_config = _Strict
    type: Literal["event", "person"] = "event"
    property: str
    limit: int = Field(25, ge=1)


class TrendsQuery(SeriesQuery):
    """Event trends (see the module docstring)."""

    kind: Literal["trends"] = "trends"
    series: list[TrendsSeries] = Field(min_length=1)
    breakdown: TrendsBreakdown | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("series"), list):
            data = {**data, "series": [{"event": s} if isinstance(s, str) or s is None else s
                                       for s in data["series"]]}
        return data



def _value(s: TrendsSeries) -> exp.Expression:
    """The series' aggregate over the rows of one group."""
    if s.math == "total":
        return exp.Count(this=exp.Star())
    if s.math == "unique":
        return exp.Count(this=exp.Distinct(expressions=[exp.column("actor")]))
    num = exp.TryCast(this=exp.cast(field("events", str(s.math_property)), exp.DataType.build("VARCHAR")),
                      to=exp.DataType.build("DOUBLE"))
    fn = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}[s.math]
    return fn(this=num)


def trends_select(q: TrendsQuery, s: TrendsSeries, periods: Periods, identities: bool,
                  by_period: bool) -> exp.Select:
    """The GROUP BY of one series: ``[p,] [bd,] v``.

    Parameters
    ----------
    q : TrendsQuery
    s : TrendsSeries
    periods : Periods
    identities : bool
        Whether the identity map has rows.
    by_period : bool
        Group by period (else one value over the whole range).

    Returns
    -------
    sqlglot.exp.Select
    """
    bd = q.breakdown
    with_person = needs_person([*s.properties, *q.global_properties], bool(bd and bd.type == "person"))
    cond = exp.and_(entity_condition(s, q.global_properties), bounds_condition(periods, q.timezone))
    cols: list[exp.Expression] = []
    group: list[exp.Expression] = []
    if by_period:
        cols.append(period_index_sql(local_time(exp.column("timestamp"), q.timezone), periods).as_("p"))
        group.append(exp.column("p"))
    if bd is not None:
        cols.append(as_text(bd.type, bd.property).as_("bd"))
        group.append(exp.column("bd"))
    sel = select(*cols, _value(s).as_("v")).from_(event_source(with_person, identities).subquery("ev")).where(cond)
    return sel.group_by(*group) if group else sel


@register_query("trends", TrendsQuery, "Event counts, unique actors or property sums/averages per period.")
def run_trends(ws: Workspace, q: TrendsQuery) -> dict[str, Any]:
    """Run a trends query.

    Parameters
    ----------
    ws : Workspace
    q : TrendsQuery

    Returns
    -------
    dict
        ``{"kind": "trends", "interval", "dates": [...], "series": [{"name", "math", "breakdown_value",
        "data": [...], "aggregated"}], "other_values"}``.
    """
    ident = has_identities(ws)
    bd = q.breakdown
    with_person = needs_person([f for s in q.series for f in s.properties] + list(q.global_properties))
    periods = series_periods(ws, q.interval, q.date_range, q.timezone, q.week_start,
                             any_of([entity_condition(s, q.global_properties) for s in q.series]), with_person,
                             ident)
    if periods is None:
        return {"kind": "trends", "interval": q.interval, "dates": [], "series": [], "other_values": 0}
    n = periods.n
    out_series: list[dict[str, Any]] = []
    other = 0
    for i, s in enumerate(q.series):
        name = s.name or (s.event or "All events") + ("" if s.math == "total" else f" ({s.math})")
        per = ws.store.execute(trends_select(q, s, periods, ident, True)).to_pylist()
        tot = ws.store.execute(trends_select(q, s, periods, ident, False)).to_pylist()
        zero: float | None = 0 if s.math in ("total", "unique", "sum") else None
        if bd is None:
            data: list[Any] = [zero] * n
            for r in per:
                if r["p"] is not None:
                    data[int(r["p"])] = _num(r["v"], zero)
            out_series.append({"name": name, "series": i, "math": s.math, "data": data,
                               "aggregated": _num(tot[0]["v"] if tot else None, zero)})
            continue
        totals = {r["bd"]: _num(r["v"], zero) for r in tot}
        keep = sorted(totals, key=lambda v: (-(totals[v] or 0), v))[: bd.limit]
        other = max(other, len(totals) - len(keep))
        by_value: dict[str, list[Any]] = {v: [zero] * n for v in keep}
        for r in per:
            if r["bd"] in by_value and r["p"] is not None:
                by_value[r["bd"]][int(r["p"])] = _num(r["v"], zero)
        for v in keep:
            out_series.append({"name": name, "series": i, "math": s.math, "breakdown_value": v,
                               "data": by_value[v], "aggregated": totals[v]})
    return {"kind": "trends", "interval": q.interval, "dates": [d.isoformat() for d in periods.starts],
            "series": out_series, "other_values": other}


def _num(v: Any, zero: float | None) -> Any:
    if v is None:
        return zero
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f
