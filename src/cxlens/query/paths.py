"""Query kind ``paths``: what actors do after (or before) an event, as Sankey-ready nodes and links.

``{"kind": "paths", "start_point": "$pageview", "step_limit": 4}`` or ``{"kind": "paths", "end_point":
"purchase"}``

Each actor's events in the date range, in time order (ties by item), become a sequence of *items*: the event
name, or, with ``item_property``, that property's value where the event has it (e.g. the page path of a
pageview). Consecutive repeats of an item are collapsed (``collapse_repeats``). An actor's path is the
``step_limit`` items starting at its first ``start_point`` (or its first item when no point is given), or the
``step_limit`` items ending at its first ``end_point``; steps are numbered 1..``step_limit`` so that with an
end point the end is the last step. Node ``"{step}_{item}"`` counts the actors whose path has that item at that
step; link ``(a, b)`` counts the actors going from node ``a`` to node ``b``. ``dropoff`` of a node = actors
whose path ends there. ``next`` / ``previous`` list the items right after the start / right before the end.
The whole sequence work runs in the database (window functions); only the aggregated nodes and links come
back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    all_of,
    event_source,
    filter_condition,
    has_identities,
    needs_person,
    parse_instant,
    timestamp_literal,
    zone,
)
from cxlens.query.registry import QueryModel, register_query
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["PathsDateRange", "PathsQuery", "paths_select", "run_paths_query"]


class PathsDateRange(BaseModel):
    """Inclusive instants; a bare date means its whole day, a naive time is wall-clock in the timezone."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str | datetime | date | None = Field(None, alias="from")
    to: str | datetime | date | None = None


class PathsQuery(QueryModel):
    """User paths (see the module docstring)."""

    kind: Literal["paths"] = "paths"
    start_point: str | None = None
    end_point: str | None = None
    step_limit: int = Field(5, ge=2, le=20)
    item_property: str | None = Field(None, description="use this property's value as the item where set")
    include_events: list[str] = Field(default_factory=list, description="only these events (default all)")
    exclude_events: list[str] = Field(default_factory=list)
    collapse_repeats: bool = True
    date_range: PathsDateRange | None = None
    timezone: str = "UTC"
    global_properties: list[Filter] = Field(default_factory=list)
    edge_limit: int = Field(50, ge=1)
    min_edge_weight: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> PathsQuery:
        zone(self.timezone)
        if self.start_point is not None and self.end_point is not None:
            raise ValueError("give start_point or end_point, not both")
        return self


def _win(fn: exp.Expression, partition: str, order: list[exp.Expression] | None = None) -> exp.Window:
    o = exp.Order(expressions=[exp.Ordered(this=x) for x in order]) if order else None
    return exp.Window(this=fn, partition_by=[exp.column(partition)], order=o)


def paths_select(q: PathsQuery, identities: bool) -> exp.Select:
    """Per-actor paths (``actor, step, item, nxt``): one row per step of each path, ``nxt`` the next item.

    Parameters
    ----------
    q : PathsQuery
    identities : bool

    Returns
    -------
    sqlglot.exp.Select
    """
    text = exp.DataType.build("VARCHAR")
    item: exp.Expression = exp.column("event")
    if q.item_property:
        item = exp.func("COALESCE", exp.cast(field("events", q.item_property), text), exp.column("event"))
    where = [filter_condition(f) for f in q.global_properties]
    if q.include_events:
        where.append(exp.column("event").isin(*[exp.Literal.string(e) for e in q.include_events]))
    if q.exclude_events:
        where.append(exp.not_(exp.column("event").isin(*[exp.Literal.string(e) for e in q.exclude_events])))
    tz = zone(q.timezone)
    if q.date_range is not None:
        lo = parse_instant(q.date_range.from_, tz)
        hi = parse_instant(q.date_range.to, tz, end=True)
        if lo is not None:
            where.append(exp.GTE(this=exp.column("timestamp"), expression=timestamp_literal(lo)))
        if hi is not None:
            where.append(exp.LTE(this=exp.column("timestamp"), expression=timestamp_literal(hi)))
    src = event_source(needs_person(q.global_properties), identities).subquery("ev")
    base = select(exp.column("actor"), exp.column("timestamp"), item.as_("item")).from_(src).where(all_of(where))
    order = [exp.column("timestamp"), exp.column("item")]
    rows = base.subquery("b")
    if q.collapse_repeats:
        prev = _win(exp.Anonymous(this="LAG", expressions=[exp.column("item")]), "actor", order)
        lagged = select(exp.Star(), prev.as_("prev")).from_(rows).subquery("l")
        rows = select(exp.column("actor"), exp.column("timestamp"), exp.column("item")).from_(lagged).where(
            exp.or_(exp.column("prev").is_(exp.null()), exp.column("prev").neq(exp.column("item")))).subquery("d")
    numbered = select(exp.Star(), _win(exp.RowNumber(), "actor", order).as_("rn")).from_(rows).subquery("n")
    point = q.start_point if q.start_point is not None else q.end_point
    if point is None:
        anchor: exp.Expression = exp.Literal.number(1)
    else:
        hit = exp.Case().when(exp.column("item").eq(exp.Literal.string(point)), exp.column("rn"))
        anchor = _win(exp.Min(this=hit), "actor")
    anchored = select(exp.Star(), anchor.as_("s")).from_(numbered).subquery("a")
    rn, s, depth = exp.column("rn"), exp.column("s"), exp.Literal.number(q.step_limit)
    if q.end_point is None:
        step = exp.Add(this=exp.Sub(this=rn.copy(), expression=s.copy()), expression=exp.Literal.number(1))
        keep = exp.and_(exp.GTE(this=rn.copy(), expression=s.copy()),
                        exp.LT(this=rn.copy(), expression=exp.Add(this=s.copy(), expression=depth.copy())))
    else:
        step = exp.Sub(this=depth.copy(), expression=exp.paren(exp.Sub(this=s.copy(), expression=rn.copy())))
        keep = exp.and_(exp.LTE(this=rn.copy(), expression=s.copy()),
                        exp.GT(this=rn.copy(), expression=exp.Sub(this=s.copy(), expression=depth.copy())))
    kept = select(exp.column("actor"), step.as_("step"), exp.column("item")).from_(anchored).where(
        exp.and_(s.is_(exp.null()).not_(), keep)).subquery("k")
    nxt = _win(exp.Anonymous(this="LEAD", expressions=[exp.column("item")]), "actor", [exp.column("step")])
    return select(exp.column("actor"), exp.column("step"), exp.column("item"), nxt.as_("nxt")).from_(kept)


@register_query("paths", PathsQuery, "Top paths after or before an event, as Sankey nodes and links.")
def run_paths_query(ws: Workspace, q: PathsQuery) -> dict[str, Any]:
    """Run a paths query.

    Parameters
    ----------
    ws : Workspace
    q : PathsQuery

    Returns
    -------
    dict
        ``{"kind": "paths", "actors", "nodes": [{"name", "step", "item", "count", "dropoff"}],
        "links": [{"source", "target", "value"}], "next" | "previous": [{"item", "count"}]}``.
    """
    steps = paths_select(q, has_identities(ws)).subquery("p")
    node_q = select(exp.column("step"), exp.column("item"), exp.Count(this=exp.Star()).as_("c"),
                    exp.Sum(this=exp.Case().when(exp.column("nxt").is_(exp.null()), exp.Literal.number(1))
                            .else_(exp.Literal.number(0))).as_("drop")).from_(steps).group_by(
        exp.column("step"), exp.column("item"))
    link_q = select(exp.column("step"), exp.column("item"), exp.column("nxt"), exp.Count(this=exp.Star()).as_("c")
                    ).from_(steps.copy()).where(exp.column("nxt").is_(exp.null()).not_()).group_by(
        exp.column("step"), exp.column("item"), exp.column("nxt"))
    nodes_raw = ws.store.execute(node_q).to_pylist()
    links_raw = ws.store.execute(link_q).to_pylist()
    links_raw = [r for r in links_raw if r["c"] >= q.min_edge_weight]
    links_raw.sort(key=lambda r: (-r["c"], r["step"], r["item"], r["nxt"]))
    links_raw = links_raw[: q.edge_limit]
    name = "{}_{}".format
    links = [{"source": name(r["step"], r["item"]), "target": name(r["step"] + 1, r["nxt"]), "value": int(r["c"])}
             for r in links_raw]
    used = {x for link in links for x in (link["source"], link["target"])}
    nodes = [{"name": name(r["step"], r["item"]), "step": int(r["step"]), "item": r["item"], "count": int(r["c"]),
              "dropoff": int(r["drop"])} for r in nodes_raw]
    nodes.sort(key=lambda r: (r["step"], -r["count"], r["item"]))
    first_step = min((r["step"] for r in nodes), default=1)
    actors = sum(r["count"] for r in nodes if r["step"] == first_step) if q.end_point is None else \
        sum(r["count"] for r in nodes if r["step"] == q.step_limit)
    anchor_step = first_step if q.end_point is None else q.step_limit
    out: dict[str, Any] = {"kind": "paths", "actors": actors, "links": links,
                           "nodes": [r for r in nodes if r["name"] in used or r["step"] == anchor_step]}
    if q.end_point is not None:
        out["previous"] = [{"item": r["item"], "count": r["count"]} for r in nodes if r["step"] == q.step_limit - 1]
    else:
        out["next"] = [{"item": r["item"], "count": r["count"]} for r in nodes if r["step"] == 2]
    return out
