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
The database filters the events and sorts them by actor and time (one query); numpy collapses repeats, finds
the anchors and counts nodes and links in a few linear passes over integer codes. Where every row carries its
integer codes (:mod:`cxlens.store.distinct_codes`) and no person filter needs the persons join, the actors are
distinct-id codes (:func:`~cxlens.query._events.coded_source`) and, when the items are the event names, the
items are looked up by event-name code: the rows sorted are three integers instead of hashed strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    actor_changes,
    actor_key,
    all_of,
    coded_source,
    event_source,
    filter_condition,
    has_identities,
    instant_bounds,
    needs_person,
    zone,
)
from cxlens.query.registry import QueryModel, register_query
from cxlens.store.distinct_codes import EVENT_COLUMN, ensure_codes, event_codes
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["PathsDateRange", "PathsQuery", "paths_select", "run_paths_query"]

CODED = True
"""Use the integer distinct-id and event-name codes when the store has them (tests switch it off to reach
the string path)."""


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


def _item_expr(q: PathsQuery) -> exp.Expression:
    if q.item_property:
        text = exp.DataType.build("VARCHAR")
        return exp.func("COALESCE", exp.cast(field("events", q.item_property), text), exp.column("event"))
    return exp.column("event")


def _path_events(q: PathsQuery, identities: bool, cols: list[exp.Expression], coded: bool = False) -> exp.Select:
    """``cols`` of the events that can be on a path (filters, included/excluded events, date range), from
    :func:`~cxlens.query._events.coded_source` when ``coded``."""
    where = [filter_condition(f) for f in q.global_properties]
    if q.include_events:
        where.append(exp.column("event").isin(*[exp.Literal.string(e) for e in q.include_events]))
    if q.exclude_events:
        where.append(exp.not_(exp.column("event").isin(*[exp.Literal.string(e) for e in q.exclude_events])))
    where += instant_bounds(q.date_range, zone(q.timezone))
    src = coded_source(identities) if coded else event_source(needs_person(q.global_properties), identities)
    return select(*cols).from_(src.subquery("ev")).where(all_of(where))


def items_select(q: PathsQuery, identities: bool, coded: bool = False) -> exp.Select:
    """The distinct items of the path events.

    Parameters
    ----------
    q : PathsQuery
    identities : bool
    coded : bool
        Read :func:`~cxlens.query._events.coded_source`.

    Returns
    -------
    sqlglot.exp.Select
    """
    return _path_events(q, identities, [_item_expr(q).as_("item")], coded).distinct()


def paths_select(q: PathsQuery, hashed: bool, identities: bool, *, coded: bool = False,
                 item_events: Sequence[int] | None = None) -> exp.Select:
    """The path events as ``k1[, k2], code`` sorted by actor, time, item, where ``code`` is the item's row in
    the Arrow table ``path_items`` (``item``, ``code``, in sorted item order) joined in by the caller: integer
    codes are cheaper to sort and move than the strings.

    Parameters
    ----------
    q : PathsQuery
    hashed : bool
        Identify actors by hashes (see :func:`cxlens.query._events.actor_key`).
    identities : bool
        Whether the identity map has rows.
    coded : bool
        Actors are integer codes (:func:`~cxlens.query._events.coded_source`; ``hashed`` is then ignored).
    item_events : sequence of int or None
        With ``coded`` and no ``item_property``: the event-name code of each item (in item order). Rows are
        then matched to items by that code, from a ``VALUES`` list instead of ``path_items``.

    Returns
    -------
    sqlglot.exp.Select
    """
    by_code = coded and not q.item_property and item_events is not None
    keys_in = [exp.column("actor").as_("k1")] if coded else actor_key(hashed)
    item = exp.column(EVENT_COLUMN).as_("ev") if by_code else _item_expr(q).as_("item")
    inner = _path_events(q, identities, [*keys_in, exp.column("timestamp"), item], coded)
    keys = [exp.column("k1", "r")] + ([exp.column("k2", "r")] if hashed and not coded else [])
    on = "ev" if by_code else "item"
    lookup: exp.Expression = exp.table_("path_items", alias="c")
    if by_code and item_events is not None:
        lookup = exp.values([(int(e), i) for i, e in enumerate(item_events)], alias="c", columns=["ev", "code"])
    return select(*keys, exp.column("code", "c")).from_(inner.subquery("r")).join(
        lookup, on=exp.column(on, "r").eq(exp.column(on, "c"))).order_by(
        exp.column("k1", "r"), exp.column("timestamp", "r"), exp.column("code", "c"))


COUNT_BINS = 1 << 22
"""Keys below this many are counted by ``numpy.bincount`` (linear), larger ones by ``numpy.unique`` (a sort)."""


def _counts(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct non-negative ``keys`` (all below ``size``), sorted, and how often each occurs."""
    if size > COUNT_BINS:
        return np.unique(keys, return_counts=True)
    counts = np.bincount(keys, minlength=size)
    ids = np.flatnonzero(counts)
    return ids, counts[ids]


@register_query("paths", PathsQuery, "Top paths after or before an event, as Sankey nodes and links.")
def run_paths_query(ws: Workspace, q: PathsQuery) -> dict[str, Any]:
    """Run a paths query.

    The database filters and sorts the events; numpy collapses repeats, finds each actor's anchor, keeps its
    ``step_limit`` items and counts nodes and links (``numpy.unique`` on integer codes), so the cost is one
    sort plus a few linear passes.

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
    ident = has_identities(ws)
    coded = CODED and not needs_person(q.global_properties) and ensure_codes(ws.store)
    hashed = getattr(ws.store, "dialect", "") == "duckdb" and not coded
    side = "previous" if q.end_point is not None else "next"
    items = sorted(str(v) for v in ws.store.execute(items_select(q, ident, coded)).column("item").to_pylist())
    if not items:
        return {"kind": "paths", "actors": 0, "links": [], "nodes": [], side: []}
    lookup = {"path_items": pa.table({"item": pa.array(items, pa.string()),
                                      "code": pa.array(np.arange(len(items), dtype=np.int64))})}
    names = event_codes(ws.store, items) if coded and not q.item_property else {}
    if names and all(i in names for i in items):  # (a name without a code: rows added since ensure_codes)
        table = ws.store.execute(paths_select(q, hashed, ident, coded=True, item_events=[names[i] for i in items]))
    else:
        table = ws.store.execute_with(paths_select(q, hashed, ident, coded=coded), lookup)
    change = actor_changes(table, hashed)
    if change is None:
        hashed = False
        table = ws.store.execute_with(paths_select(q, hashed, ident), lookup)
        change = actor_changes(table, hashed)
        assert change is not None
    code = np.asarray(table.column("code").to_numpy(), dtype=np.int64)
    if q.collapse_repeats:
        keep = change.copy()
        keep[1:] |= code[1:] != code[:-1]
        code, change = code[keep], change[keep]
    actor = np.cumsum(change) - 1
    first = np.flatnonzero(change)
    pos = np.arange(len(code)) - first[actor]
    n_actors = len(first)
    point = q.start_point if q.start_point is not None else q.end_point
    if point is None:
        anchor = np.zeros(n_actors, dtype=np.int64)
    else:
        anchor = np.full(n_actors, -1, dtype=np.int64)
        if point in items:
            hits = np.flatnonzero(code == items.index(point))
            who = actor[hits]  # sorted (rows are): the first hit of each actor is where ``who`` changes
            at = np.flatnonzero(np.r_[True, who[1:] != who[:-1]]) if len(who) else hits[:0]
            anchor[who[at]] = pos[hits[at]]
    a = anchor[actor]
    depth = q.step_limit
    if q.end_point is None:
        step = pos - a + 1
        kept = (a >= 0) & (step >= 1) & (step <= depth)
    else:
        step = depth - (a - pos)
        kept = (a >= 0) & (pos <= a) & (step >= 1)
    actor, step, code = actor[kept], step[kept], code[kept]
    has_next = np.zeros(len(code), dtype=bool)
    has_next[:-1] = actor[1:] == actor[:-1]
    n_items = len(items)
    node_key = step * n_items + code
    node_ids, node_counts = _counts(node_key, (depth + 1) * n_items)
    if (depth + 1) * n_items <= COUNT_BINS:
        drops = np.bincount(node_key[~has_next], minlength=(depth + 1) * n_items)[node_ids]
    else:
        drops = np.bincount(np.searchsorted(node_ids, node_key[~has_next]), minlength=len(node_ids))
    link_key = node_key[:-1][has_next[:-1]] * n_items + code[1:][has_next[:-1]]
    link_ids, link_counts = _counts(link_key, (depth + 1) * n_items * n_items)
    name = "{}_{}".format
    nodes = [{"name": name(int(k // n_items), items[k % n_items]), "step": int(k // n_items),
              "item": items[k % n_items], "count": int(c), "dropoff": int(d)}
             for k, c, d in zip(node_ids.tolist(), node_counts.tolist(), drops.tolist(), strict=True)]
    links_all = []
    for k, c in zip(link_ids.tolist(), link_counts.tolist(), strict=True):
        if c < q.min_edge_weight:
            continue
        src_step, src_item, dst_item = k // (n_items * n_items), (k // n_items) % n_items, k % n_items
        links_all.append((-c, src_step, items[src_item], items[dst_item]))
    links_all.sort()
    links = [{"source": name(s, a_), "target": name(s + 1, b_), "value": -c} for c, s, a_, b_ in
             links_all[: q.edge_limit]]
    nodes.sort(key=lambda r: (r["step"], -r["count"], r["item"]))
    anchor_step = (min((r["step"] for r in nodes), default=1) if q.end_point is None else depth)
    used = {x for link in links for x in (link["source"], link["target"])}
    near = 2 if q.end_point is None else depth - 1
    return {"kind": "paths", "actors": sum(r["count"] for r in nodes if r["step"] == anchor_step),
            "links": links, "nodes": [r for r in nodes if r["name"] in used or r["step"] == anchor_step],
            side: [{"item": r["item"], "count": r["count"]} for r in nodes if r["step"] == near]}
