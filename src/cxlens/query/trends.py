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
One GROUP BY per series runs in the database (periods x breakdown values). Where every row carries its
integer distinct-id code (:mod:`cxlens.store.distinct_codes`) and the series needs no persons join, actors are
those codes (:func:`~cxlens.query._events.coded_source`): counting distinct integers instead of strings; when
no series needs the persons join, the series other than ``unique`` ones are one scan (each aggregate
``FILTER``-ed by its series' condition, the periods and the whole range as two grouping sets) instead of two
per series (a distinct count in grouping sets costs more than its own two GROUP BYs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    any_of,
    as_text,
    coded_group_sql,
    coded_source,
    event_source,
    has_identities,
    needs_person,
)
from cxlens.query._series import EventEntity, SeriesQuery, bounds_condition, entity_condition, series_periods
from cxlens.query.registry import register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql
from cxlens.store.distinct_codes import ensure_codes
from cxlens.store.sql import field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["TrendsBreakdown", "TrendsQuery", "TrendsSeries", "run_trends", "trends_combined_select",
           "trends_select"]

_Strict = ConfigDict(extra="forbid", frozen=True)
Math = Literal["total", "unique", "sum", "avg", "min", "max"]
CODED = True
"""Use the integer distinct-id codes when the store has them (tests switch it off to reach the string path)."""
ONE_SCAN = True
"""With codes, compute the series other than ``unique`` ones in one scan (tests switch it off to compare)."""


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


def _person_join(q: TrendsQuery, s: TrendsSeries) -> bool:
    bd = q.breakdown
    return needs_person([*s.properties, *q.global_properties], bool(bd and bd.type == "person"))


def trends_select(q: TrendsQuery, s: TrendsSeries, periods: Periods, identities: bool,
                  by_period: bool, *, coded: bool = False) -> exp.Select:
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
    coded : bool
        Actors are integer codes (:func:`~cxlens.query._events.coded_source`; the series must need no
        persons join).

    Returns
    -------
    sqlglot.exp.Select
    """
    bd = q.breakdown
    with_person = _person_join(q, s)
    cond = exp.and_(entity_condition(s, q.global_properties), bounds_condition(periods, q.timezone))
    cols: list[exp.Expression] = []
    group: list[exp.Expression] = []
    if by_period:
        cols.append(period_index_sql(local_time(exp.column("timestamp"), q.timezone), periods).as_("p"))
        group.append(exp.column("p"))
    if bd is not None:
        cols.append(as_text(bd.type, bd.property).as_("bd"))
        group.append(exp.column("bd"))
    src = coded_source(identities) if coded else event_source(with_person, identities)
    sel = select(*cols, _value(s).as_("v")).from_(src.subquery("ev")).where(cond)
    return sel.group_by(*group) if group else sel


def trends_combined_select(q: TrendsQuery, series: list[TrendsSeries], periods: Periods,
                           identities: bool) -> exp.Select:
    """Several series in one scan of :func:`~cxlens.query._events.coded_source` (none may need the persons
    join): ``g, p, [bd,] v0, n0, v1, n1, ...``.

    Rows with ``g = 0`` are per period (and breakdown value), rows with ``g = 1`` over the whole range; ``v{i}``
    is the value of ``series[i]`` over its rows in the group and ``n{i}`` their number (a group with
    ``n{i} = 0`` is one that series' own GROUP BY would not return).

    Parameters
    ----------
    q : TrendsQuery
    series : list of TrendsSeries
        Series of ``q``.
    periods : Periods
    identities : bool
        Whether the identity map has rows.

    Returns
    -------
    sqlglot.exp.Select
    """
    bd = q.breakdown
    conds = [entity_condition(s, q.global_properties) for s in series]
    p = period_index_sql(local_time(exp.column("timestamp"), q.timezone), periods)
    cols: list[exp.Expression] = [exp.Anonymous(this="GROUPING", expressions=[exp.column("p")]).as_("g"),
                                  exp.column("p")]
    inner: list[exp.Expression] = [exp.Star(), p.as_("p")]
    if bd is not None:
        inner.append(as_text(bd.type, bd.property).as_("bd"))
        cols.append(exp.column("bd"))
    for i, (s, cond) in enumerate(zip(series, conds, strict=True)):
        cols.append(exp.Filter(this=_value(s), expression=exp.Where(this=exp.paren(cond.copy()))).as_(f"v{i}"))
        cols.append(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(
            this=exp.paren(cond.copy()))).as_(f"n{i}"))
    rows = select(*inner).from_(coded_source(identities).subquery("ev")).where(
        exp.and_(bounds_condition(periods, q.timezone), any_of(conds)))
    keys = [exp.column("bd")] if bd is not None else []
    sets = exp.GroupingSets(expressions=[exp.Tuple(expressions=[exp.column("p"), *keys]),
                                         exp.Tuple(expressions=[k.copy() for k in keys])])
    out = select(*cols).from_(rows.subquery("r"))
    out.set("group", exp.Group(grouping_sets=[sets]))
    return out


def _series_rows(ws: Workspace, q: TrendsQuery, periods: Periods, identities: bool,
                 ) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per series, the rows of its GROUP BY per period and over the range (``[p,] [bd,] v``)."""
    joins = [_person_join(q, s) for s in q.series]
    codes = CODED and not all(joins) and ensure_codes(ws.store)
    out: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    one_scan = ONE_SCAN and codes and not any(joins)
    together = [i for i, s in enumerate(q.series) if s.math != "unique"] if one_scan else []
    if together:
        sel = trends_combined_select(q, [q.series[i] for i in together], periods, identities)
        rows = ws.store.execute(coded_group_sql(ws, sel)).to_pylist()
        for j, i in enumerate(together):
            per, tot = ([{"p": r["p"], "bd": r.get("bd"), "v": r[f"v{j}"]} for r in rows if r["g"] == g and r[f"n{j}"]]
                        for g in (0, 1))
            out[i] = (per, tot)
    for i, (s, join) in enumerate(zip(q.series, joins, strict=True)):
        if i in out:
            continue
        coded = codes and not join
        per, tot = (ws.store.execute(coded_group_sql(ws, sel) if coded else sel).to_pylist()
                    for sel in (trends_select(q, s, periods, identities, by, coded=coded) for by in (True, False)))
        out[i] = (per, tot)
    return [out[i] for i in range(len(q.series))]


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
    for i, (s, (per, tot)) in enumerate(zip(q.series, _series_rows(ws, q, periods, ident), strict=True)):
        name = s.name or (s.event or "All events") + ("" if s.math == "total" else f" ({s.math})")
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
