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
and period; numpy classifies the pairs. Where every row carries its integer distinct-id code
(:mod:`cxlens.store.distinct_codes`) and no person filter needs the persons join, actors are those codes
(:func:`~cxlens.query._events.coded_source`): the first event of each distinct id is a GROUP BY on an
integer (through a perfect hash table), merged into actors and persons' creation times through the
dictionary of distinct ids (a few rows per id, not per event), and the pairs are grouped and sorted on
integers instead of strings; with at most :data:`MASK_PERIODS` periods there are no pairs to sort at all:
one row per actor carries its active periods as the bits of an integer, classified by bit operations.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field
from sqlglot import exp, select

from cxlens.query._events import (
    PERSON_PREFIX,
    coded_group_sql,
    coded_source,
    event_source,
    has_identities,
    needs_person,
)
from cxlens.query._series import EventEntity, SeriesQuery, bounds_condition, entity_condition, series_periods
from cxlens.query.registry import register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql, shift
from cxlens.store.distinct_codes import CODE_COLUMN, DICT_TABLE, ensure_codes

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["LifecycleQuery", "run_lifecycle"]

_EPOCH = datetime(1970, 1, 1)
STATUSES = ("new", "returning", "resurrecting", "dormant")
CODED = True
"""Use the integer distinct-id codes when the store has them (tests switch it off to reach the string path)."""
MASK_PERIODS = 62
"""With codes and at most this many periods (the one before the table included), each actor's active periods
are the bits of one BIGINT (sign bit unused)."""


class LifecycleQuery(SeriesQuery):
    """Lifecycle of actors (see the module docstring)."""

    kind: Literal["lifecycle"] = "lifecycle"
    event: EventEntity = Field(default_factory=EventEntity)


def _coded_seen(identities: bool) -> exp.Select:
    """``actor, created`` (UTC) of every coded actor with events: the first event of each distinct id (an
    integer GROUP BY over ``events``), then, through the dictionary, the actor of each id (as in
    :func:`~cxlens.query._events.coded_source`) and its person's ``created_at``."""
    did = exp.column(CODE_COLUMN)
    first = select(did.as_("did"), exp.Min(this=exp.column("timestamp")).as_("first")).from_("events").group_by(
        did.copy()).subquery("f")
    if not identities:  # no distinct id belongs to a person: no creation time but the first event
        return select(exp.column("did").as_("actor"), exp.column("first").as_("created")).from_(first)
    name = exp.func("COALESCE", exp.column("person_id", "d"), exp.column("distinct_id", "k"))
    smallest = exp.Window(this=exp.Min(this=exp.column("code", "k")), partition_by=[name])
    ids = select(exp.column("code", "k").as_("did"), smallest.as_("actor"), exp.column("created_at", "p").as_(
        "made")).from_(exp.table_(DICT_TABLE, alias="k")).join(
        exp.table_("person_distinct_ids", alias="d"),
        on=exp.column("distinct_id", "d").eq(exp.column("distinct_id", "k")), join_type="left").join(
        exp.table_("persons", alias="p"), on=exp.column("person_id", "p").eq(exp.column("person_id", "d")),
        join_type="left").subquery("i")
    early = exp.Min(this=exp.column("first", "f"))
    created = exp.func("LEAST", exp.func("COALESCE", exp.Min(this=exp.column("made", "i")), early.copy()), early)
    return select(exp.column("actor", "i"), created.as_("created")).from_(first).join(
        ids, on=exp.column("did", "i").eq(exp.column("did", "f"))).group_by(exp.column("actor", "i"))


def lifecycle_select(q: LifecycleQuery, ext: Periods, identities: bool, *, coded: bool = False,
                     masks: bool = False) -> exp.Select:
    """Distinct (actor, period) pairs with the actor's local creation time, sorted by actor and period.

    Parameters
    ----------
    q : LifecycleQuery
    ext : Periods
        The table's periods with the one before prepended.
    identities : bool
    coded : bool
        Actors are integer codes (:func:`~cxlens.query._events.coded_source`; no person filter allowed):
        the same groups and creation times, cheaper to group and sort.
    masks : bool
        With ``coded`` and at most :data:`MASK_PERIODS` periods in ``ext``: one row per actor, its active
        periods as the bits of ``m`` (an integer GROUP BY through a perfect hash table, nothing to sort).

    Returns
    -------
    sqlglot.exp.Select
        ``actor, p, created``, or ``actor, m, created`` with ``masks``.
    """
    filters = [*q.event.properties, *q.global_properties]
    src = (coded_source(identities) if coded else event_source(needs_person(filters), identities)).subquery("ev")
    cond = exp.and_(entity_condition(q.event, q.global_properties), bounds_condition(ext, q.timezone))
    p = period_index_sql(local_time(exp.column("timestamp"), q.timezone), ext)
    if coded and masks:
        bit = exp.BitwiseLeftShift(this=exp.cast(exp.Literal.number(1), "BIGINT"), expression=p)
        pairs = select(exp.column("actor"), exp.BitwiseOrAgg(this=bit).as_("m")).from_(src).where(cond).group_by(
            exp.column("actor")).subquery("pairs")
    else:
        pairs = select(exp.column("actor"), p.as_("p")).from_(src).where(cond).group_by(
            exp.column("actor"), exp.column("p")).subquery("pairs")
    first = exp.Min(this=exp.column("timestamp"))
    made = exp.Min(this=exp.column(PERSON_PREFIX + "created_at"))
    created = exp.func("LEAST", exp.func("COALESCE", made, first.copy()), first)
    if coded:
        seen = select(exp.column("actor"), local_time(exp.column("created"), q.timezone).as_("created")).from_(
            _coded_seen(identities).subquery("made")).subquery("seen")
    else:
        seen = select(exp.column("actor"), local_time(created, q.timezone).as_("created")).from_(
            event_source(True, identities).subquery("allev")).group_by(exp.column("actor")).subquery("seen")
    cols = [exp.column("actor", "pairs"), exp.column("m" if coded and masks else "p"), exp.column("created")]
    out = select(*cols).from_(pairs).join(seen, on=exp.column("actor", "pairs").eq(exp.column("actor", "seen")))
    return out if coded and masks else out.order_by(exp.column("actor", "pairs"), exp.column("p"))


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
    coded = CODED and not needs_person(filters) and ensure_codes(ws.store)
    masks = coded and ext.n <= MASK_PERIODS
    sel = lifecycle_select(q, ext, ident, coded=coded, masks=masks)
    table = ws.store.execute(coded_group_sql(ws, sel) if coded else sel)
    n = periods.n
    counts = {s: np.zeros(n + 1, dtype=np.int64) for s in STATUSES}
    if table.num_rows:
        created = table.column("created").cast("timestamp[us]").cast("int64").to_numpy()
        lo = (ext.starts[0] - _EPOCH) // timedelta(microseconds=1)
        c = np.where(created < lo, -1, ext.index(created))
        (_count_masks if masks else _count_pairs)(table, c, n, counts)
    out: dict[str, Any] = {"kind": "lifecycle", "interval": q.interval,
                           "dates": [d.isoformat() for d in periods.starts]}
    for s in STATUSES:
        out[s] = counts[s][1:].tolist()
    return out


def _count_pairs(table: pa.Table, c: np.ndarray, n: int, counts: dict[str, np.ndarray]) -> None:
    """Add the statuses of (actor, period) rows sorted by actor and period to ``counts`` (indexed by the
    period of ``ext``); ``c`` is the row's creation period (``-1``: before the table)."""
    actor = table.column("actor").combine_chunks()
    same = np.zeros(table.num_rows, dtype=bool)  # row i has the same actor as row i - 1
    if table.num_rows > 1:
        same[1:] = pc.equal(actor.slice(1), actor.slice(0, table.num_rows - 1)).to_numpy(zero_copy_only=False)
    p = np.asarray(table.column("p").to_numpy(), dtype=np.int64)
    prev_active = same & (np.r_[-10, p[:-1]] == p - 1)
    next_active = np.r_[same[1:], False] & (np.r_[p[1:], -10] == p + 1)
    table_row = p >= 1
    new = table_row & (c == p)
    np.add.at(counts["new"], p[new], 1)
    np.add.at(counts["returning"], p[table_row & ~new & prev_active], 1)
    np.add.at(counts["resurrecting"], p[table_row & ~new & ~prev_active], 1)
    gone = ~next_active & (p + 1 <= n)
    np.add.at(counts["dormant"], p[gone] + 1, -1)


def _count_masks(table: pa.Table, c: np.ndarray, n: int, counts: dict[str, np.ndarray]) -> None:
    """Like :func:`_count_pairs` for one row per actor whose bit ``p`` of ``m`` says it was active in period
    ``p``: the same rules as bit operations on whole rows, then one count per bit position."""
    m = np.asarray(table.column("m").to_numpy(), dtype=np.int64)
    new = m & np.where(c >= 1, np.left_shift(1, np.maximum(c, 0)), 0)
    before = m << 1  # bit p: active in period p - 1
    table_rows = ~np.int64(1)
    status = {"new": new, "returning": m & before & ~new, "resurrecting": m & ~before & ~new & table_rows}
    gone = m & ~(m >> 1) & ((1 << n) - 1)  # bit p: active in p, not in p + 1 (the last period has no next)
    for p in range(1, n + 1):
        for s, bits in status.items():
            counts[s][p] += int(np.count_nonzero((bits >> p) & 1))
        counts["dormant"][p] -= int(np.count_nonzero((gone >> (p - 1)) & 1))
