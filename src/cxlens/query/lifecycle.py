"""Query kind ``lifecycle``: active actors per period split into new, returning and resurrecting, plus dormant.

``{"kind": "lifecycle", "event": {"event": "$pageview"}, "interval": "week",
"date_range": {"date_from": "2024-05-01", "date_to": "2024-06-30"}}``

PostHog's lifecycle semantics: an actor is *active* in a period when it has a matching event in it. An
active actor is **new** when it was created in that period (``persons.created_at``, or its first event of
any name when that is earlier or there is no person row), **returning** when it was also active in the
previous period, **resurrecting** otherwise (inactive in the previous period, created before). **Dormant**
counts the actors active in the previous period but not in this one; like PostHog it is reported as a
negative number. The period before the first one is read to classify the first period.

One SQL query returns the distinct (actor, period) pairs and each actor's creation time, sorted by actor
and period; numpy classifies the pairs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow.compute as pc
from pydantic import Field
from sqlglot import exp, select

from cxlens.query._events import PERSON_PREFIX, event_source, has_identities, needs_person
from cxlens.query._series import EventEntity, SeriesQuery, bounds_condition, entity_condition, series_periods
from cxlens.query.registry import register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql, shift

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["LifecycleQuery", "run_lifecycle"]

_EPOCH = datetime(1970, 1, 1)
STATUSES = ("new", "returning", "resurrecting", "dormant")


class LifecycleQuery(SeriesQuery):
    """Lifecycle of actors (see the module docstring)."""

    kind: Literal["lifecycle"] = "lifecycle"
    event: EventEntity = Field(default_factory=EventEntity)


def lifecycle_select(q: LifecycleQuery, ext: Periods, identities: bool) -> exp.Select:
    """Distinct (actor, period) pairs with the actor's local creation time, sorted by actor and period.

    Parameters
    ----------
    q : LifecycleQuery
    ext : Periods
        The table's periods with the one before prepended.
    identities : bool

    Returns
    -------
    sqlglot.exp.Select
        ``actor, p, created``.
    """
    filters = [*q.event.properties, *q.global_properties]
    src = event_source(needs_person(filters), identities).subquery("ev")
    cond = exp.and_(entity_condition(q.event, q.global_properties), bounds_condition(ext, q.timezone))
    p = period_index_sql(local_time(exp.column("timestamp"), q.timezone), ext)
    pairs = select(exp.column("actor"), p.as_("p")).from_(src).where(cond).group_by(
        exp.column("actor"), exp.column("p")).subquery("pairs")
    first = exp.Min(this=exp.column("timestamp"))
    made = exp.Min(this=exp.column(PERSON_PREFIX + "created_at"))
    created = exp.func("LEAST", exp.func("COALESCE", made, first.copy()), first)
    seen = select(exp.column("actor"), local_time(created, q.timezone).as_("created")).from_(
        event_source(True, identities).subquery("allev")).group_by(exp.column("actor")).subquery("seen")
    return select(exp.column("actor", "pairs"), exp.column("p"), exp.column("created")).from_(pairs).join(
        seen, on=exp.column("actor", "pairs").eq(exp.column("actor", "seen"))).order_by(
        exp.column("actor", "pairs"), exp.column("p"))


@register_query("lifecycle", LifecycleQuery, "New, returning, resurrecting and dormant actors per period.")
def run_lifecycle(ws: Workspace, q: LifecycleQuery) -> dict[str, Any]:
    """Run a lifecycle query.

    Parameters
    ----------
    ws : Workspace
    q : LifecycleQuery

    Returns
    -------
    dict
        ``{"kind": "lifecycle", "interval", "dates": [...], "new": [...], "returning": [...],
        "resurrecting": [...], "dormant": [...] (negative)}``.
    """
    ident = has_identities(ws)
    filters = [*q.event.properties, *q.global_properties]
    periods = series_periods(ws, q.interval, q.date_range, q.timezone, q.week_start,
                             entity_condition(q.event, q.global_properties), needs_person(filters), ident)
    if periods is None:
        return {"kind": "lifecycle", "interval": q.interval, "dates": [], **{s: [] for s in STATUSES}}
    ext = Periods(periods.period, [shift(periods.starts[0], periods.period, -1), *periods.starts], periods.last)
    table = ws.store.execute(lifecycle_select(q, ext, ident))
    n = periods.n
    counts = {s: np.zeros(n + 1, dtype=np.int64) for s in STATUSES}
    if table.num_rows:
        actor = table.column("actor").combine_chunks()
        same = np.zeros(table.num_rows, dtype=bool)  # row i has the same actor as row i - 1
        if table.num_rows > 1:
            same[1:] = pc.equal(actor.slice(1), actor.slice(0, table.num_rows - 1)).to_numpy(zero_copy_only=False)
        p = np.asarray(table.column("p").to_numpy(), dtype=np.int64)
        created = table.column("created").cast("timestamp[us]").cast("int64").to_numpy()
        lo = (ext.starts[0] - _EPOCH) // timedelta(microseconds=1)
        c = np.where(created < lo, -1, ext.index(created))
        prev_active = same & (np.r_[-10, p[:-1]] == p - 1)
        next_active = np.r_[same[1:], False] & (np.r_[p[1:], -10] == p + 1)
        table_row = p >= 1
        new = table_row & (c == p)
        np.add.at(counts["new"], p[new], 1)
        np.add.at(counts["returning"], p[table_row & ~new & prev_active], 1)
        np.add.at(counts["resurrecting"], p[table_row & ~new & ~prev_active], 1)
        gone = ~next_active & (p + 1 <= n)
        np.add.at(counts["dormant"], p[gone] + 1, -1)
    out: dict[str, Any] = {"kind": "lifecycle", "interval": q.interval,
                           "dates": [d.isoformat() for d in periods.starts]}
    for s in STATUSES:
        out[s] = counts[s][1:].tolist()
    return out
