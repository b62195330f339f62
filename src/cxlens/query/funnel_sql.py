"""The one SQL query of a funnel: the relevant events with their actor, time and step / exclusion bitmasks.

Each step's condition (event name, step filters, first-time-for-user) and each exclusion's condition become
one bit of an integer column, so the database does all filtering and the kernels only see integers. Strict
funnels keep every event in range (any event that does not fill the next step breaks the paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlglot import exp, select

from cxlens.query._events import (
    actor_changes,
    actor_key,
    all_of,
    any_of,
    as_text,
    encode_codes,
    event_source,
    filter_condition,
    has_identities,
    instant_bounds,
    match_condition,
    needs_person,
    timestamps_us,
    zone,
)

if TYPE_CHECKING:
    from cxlens.query.funnel import FunnelQuery
    from cxlens.workspace import Workspace

__all__ = ["FunnelRows", "fetch_rows", "funnel_select"]


@dataclass
class FunnelRows:
    """Funnel events as arrays, sorted by (actor, t, sm, xm, bd): actor code (0..n_actors-1, increasing), time
    (us), step bits, exclusion bits, breakdown code (codes follow the sorted values ``bd_values``)."""

    actor: np.ndarray
    n_actors: int
    t: np.ndarray
    sm: np.ndarray
    xm: np.ndarray
    bd: np.ndarray
    bd_values: list[tuple[str, ...]]


def _bitmask(conds: list[exp.Expression | None]) -> exp.Expression:
    terms: list[exp.Expression] = [
        exp.Case().when(c, exp.Literal.number(1 << i)).else_(exp.Literal.number(0))
        for i, c in enumerate(conds) if c is not None
    ]
    if not terms:
        return exp.Literal.number(0)
    out = terms[0]
    for term in terms[1:]:
        out = exp.Add(this=out, expression=term)
    return out


def _first_time_flag(cand: exp.Expression) -> exp.Expression:
    """TRUE on the actor's first-ever row (all time) satisfying ``cand``."""
    order = exp.Order(expressions=[
        exp.Ordered(this=exp.column("timestamp")), exp.Ordered(this=exp.column("event_id")),
        exp.Ordered(this=exp.cast(exp.column("properties"), exp.DataType.build("VARCHAR")))])
    flag = exp.Case().when(cand, exp.Literal.number(1)).else_(exp.Literal.number(0))
    rn = exp.Window(this=exp.RowNumber(), partition_by=[exp.column("actor"), flag], order=order)
    first = exp.Case().when(cand, rn).else_(exp.null())
    return exp.func("COALESCE", exp.EQ(this=first, expression=exp.Literal.number(1)), exp.false())


_actor_key = actor_key  # module-level name, so tests can simulate a hash collision


def funnel_select(q: FunnelQuery, hashed: bool = False, identities: bool = True) -> exp.Select:
    """The SQL of a funnel.

    Parameters
    ----------
    q : FunnelQuery
    hashed : bool
        Identify actors by hashes (DuckDB) rather than strings.
    identities : bool
        Whether the identity map has rows (otherwise its join is skipped).

    Returns
    -------
    sqlglot.exp.Select
        ``k1[, k2], timestamp, sm, xm, bd0..`` sorted by ``k1``, time, step bits, exclusion bits, breakdown.
    """
    n = len(q.steps)
    bd = q.breakdown
    filters = list(q.global_properties) + [f for s in q.steps for f in s.properties] + \
        [f for x in q.exclusions for f in x.properties]
    src: exp.Expression = event_source(needs_person(filters, bool(bd and bd.type == "person")), identities)
    step_conds: list[exp.Expression] = []
    first_cols: list[exp.Expression] = []
    for i, s in enumerate(q.steps):
        cond = match_condition(s.event, s.properties)
        if s.first_time_for_user is not None:
            cand = cond if s.first_time_for_user == "event_and_filters" else match_condition(s.event, [])
            first_cols.append(_first_time_flag(cand).as_(f"ft{i}"))
            cond = exp.and_(exp.paren(cond), exp.column(f"ft{i}"))
        step_conds.append(cond)
    if first_cols:
        src = select(exp.Star(), *first_cols).from_(src.subquery("src0"))
    excl_conds: list[exp.Expression | None] = [None] * n
    for i in range(1, n):
        hits = [match_condition(x.event, x.properties) for x in q.exclusions if x.from_step + 1 <= i <= x.to_step]
        if hits:
            excl_conds[i] = any_of(hits)
    where: list[exp.Expression] = instant_bounds(q.date_range, zone(q.timezone))
    where += [filter_condition(f) for f in q.global_properties]
    if q.order != "strict":
        names = [s.event for s in q.steps] + [x.event for x in q.exclusions]
        if all(name is not None for name in names):
            where.append(exp.column("event").isin(*[exp.Literal.string(str(x)) for x in sorted(set(names))]))
    keys = _actor_key(hashed)
    cols: list[exp.Expression] = [
        *keys, exp.column("timestamp"), _bitmask(list(step_conds)).as_("sm"), _bitmask(excl_conds).as_("xm"),
    ]
    if bd is not None:
        cols += [as_text(bd.type, p).as_(f"bd{j}") for j, p in enumerate(bd.properties)]
    order = ["k1", "timestamp", "sm", "xm"] + \
        [f"bd{j}" for j in range(len(bd.properties) if bd else 0)]
    inner = select(*cols).from_(src.subquery("ev")).where(all_of(where))
    outer = select(exp.Star()).from_(inner.subquery("rows"))
    if q.order != "strict":  # keep events matching a step or an exclusion (conditions evaluated once)
        zero = exp.Literal.number(0)
        outer = outer.where(exp.or_(exp.NEQ(this=exp.column("sm"), expression=zero),
                                    exp.NEQ(this=exp.column("xm"), expression=zero)))
    return outer.order_by(*order)


def fetch_rows(ws: Workspace, q: FunnelQuery, hashed: bool | None = None) -> FunnelRows:
    """Run :func:`funnel_select` and encode the result as arrays.

    Parameters
    ----------
    ws : Workspace
    q : FunnelQuery
    hashed : bool or None
        Hash actor ids (default: when the store is DuckDB). Two actors sharing the first hash would be
        merged; the second hash then changes inside a run of equal first hashes, and the query runs again
        with the actor strings.

    Returns
    -------
    FunnelRows
    """
    if hashed is None:
        hashed = getattr(ws.store, "dialect", "") == "duckdb"
    table = ws.store.execute(funnel_select(q, hashed, has_identities(ws)))
    size = table.num_rows
    change = actor_changes(table, hashed)
    if change is None:
        return fetch_rows(ws, q, hashed=False)
    actor = np.cumsum(change) - 1
    if q.breakdown is not None and size:
        bd, values = encode_codes([table.column(f"bd{j}") for j in range(len(q.breakdown.properties))])
    else:
        bd, values = np.zeros(size, dtype=np.int64), [()]
    sm = table.column("sm").to_numpy().astype(np.int64) if size else np.zeros(0, np.int64)
    xm = table.column("xm").to_numpy().astype(np.int64) if size else np.zeros(0, np.int64)
    return FunnelRows(actor, int(actor[-1]) + 1 if size else 0, timestamps_us(table.column("timestamp")), sm, xm,
                      bd, [tuple(str(v) for v in vals) for vals in values])
