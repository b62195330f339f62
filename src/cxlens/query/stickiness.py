"""Query kind ``stickiness``: how many actors were active in exactly 1, 2, ..., N periods of the range.

``{"kind": "stickiness", "event": {"event": "$pageview"}, "interval": "day",
"date_range": {"date_from": "2024-05-01", "date_to": "2024-05-31"}}``

An actor is active in a period (calendar hour, day, week or month in ``timezone``) when it has a matching
event in it. ``data[k - 1]`` = actors active in exactly ``k`` periods; ``percent`` = their share of all actors
active at least once; ``cumulative[k - 1]`` = actors active in ``k`` periods or more. Counted in the database
with two GROUP BYs (per actor, then per number of periods); where every row carries its integer distinct-id
code (:mod:`cxlens.store.distinct_codes`) and no person filter needs the persons join, the actors are those
codes (:func:`~cxlens.query._events.coded_source`), grouped through a perfect hash table instead of hashing
strings, and with at most :data:`MASK_PERIODS` periods an actor's periods are the set bits of a BIT_OR
instead of a distinct count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from sqlglot import exp, select

from cxlens.query._events import coded_group_sql, coded_source, event_source, has_identities, needs_person
from cxlens.query._series import EventEntity, SeriesQuery, bounds_condition, entity_condition, series_periods
from cxlens.query.registry import register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql
from cxlens.store.distinct_codes import ensure_codes

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["StickinessQuery", "run_stickiness", "stickiness_select"]

CODED = True
"""Use the integer distinct-id codes when the store has them (tests switch it off to reach the string path)."""
MASK_PERIODS = 62
"""With codes and at most this many periods, count an actor's periods as the set bits of one BIGINT."""


class StickinessQuery(SeriesQuery):
    """Actors by number of active periods (see the module docstring)."""

    kind: Literal["stickiness"] = "stickiness"
    event: EventEntity = Field(default_factory=EventEntity)


def stickiness_select(q: StickinessQuery, periods: Periods, identities: bool, *,
                      coded: bool = False) -> exp.Select:
    """``k, actors``: number of actors active in exactly ``k`` periods.

    Parameters
    ----------
    q : StickinessQuery
    periods : Periods
    identities : bool
    coded : bool
        Actors are integer codes (:func:`~cxlens.query._events.coded_source`; no person filter allowed);
        with at most :data:`MASK_PERIODS` periods, ``k`` is the number of set bits of the actor's periods
        (``BIT_COUNT(BIT_OR(1 << p))``), cheaper than a distinct count.

    Returns
    -------
    sqlglot.exp.Select
    """
    filters = [*q.event.properties, *q.global_properties]
    src = (coded_source(identities) if coded else event_source(needs_person(filters), identities)).subquery("ev")
    cond = exp.and_(entity_condition(q.event, q.global_properties), bounds_condition(periods, q.timezone))
    p = period_index_sql(local_time(exp.column("timestamp"), q.timezone), periods)
    k: exp.Expression = exp.Count(this=exp.Distinct(expressions=[p]))
    if coded and periods.n <= MASK_PERIODS:
        bit = exp.BitwiseLeftShift(this=exp.cast(exp.Literal.number(1), "BIGINT"), expression=p)
        k = exp.func("BIT_COUNT", exp.BitwiseOrAgg(this=bit))
    per_actor = select(exp.column("actor"), k.as_("k")).from_(src).where(cond).group_by(
        exp.column("actor")).subquery("a")
    return select(exp.column("k"), exp.Count(this=exp.Star()).as_("actors")).from_(per_actor).group_by(
        exp.column("k"))


@register_query("stickiness", StickinessQuery, "Actors by number of periods in which they were active.")
def run_stickiness(ws: Workspace, q: StickinessQuery) -> dict[str, Any]:
    """Run a stickiness query.

    Parameters
    ----------
    ws : Workspace
    q : StickinessQuery

    Returns
    -------
    dict
        ``{"kind": "stickiness", "interval", "periods", "dates", "data", "percent", "cumulative", "actors"}``.
    """
    ident = has_identities(ws)
    filters = [*q.event.properties, *q.global_properties]
    periods = series_periods(ws, q.interval, q.date_range, q.timezone, q.week_start,
                             entity_condition(q.event, q.global_properties), needs_person(filters), ident)
    if periods is None:
        return {"kind": "stickiness", "interval": q.interval, "periods": 0, "dates": [], "data": [],
                "percent": [], "cumulative": [], "actors": 0}
    n = periods.n
    data = [0] * n
    coded = CODED and not needs_person(filters) and ensure_codes(ws.store)
    sel = stickiness_select(q, periods, ident, coded=coded)
    for r in ws.store.execute(coded_group_sql(ws, sel) if coded else sel).to_pylist():
        data[int(r["k"]) - 1] = int(r["actors"])
    total = sum(data)
    cumulative = [sum(data[k:]) for k in range(n)]
    return {"kind": "stickiness", "interval": q.interval, "periods": n,
            "dates": [d.isoformat() for d in periods.starts], "data": data,
            "percent": [d / total if total else 0.0 for d in data], "cumulative": cumulative, "actors": total}
