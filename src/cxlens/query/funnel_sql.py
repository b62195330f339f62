"""The one SQL query of a funnel: the relevant events with their actor, time and step / exclusion bitmasks.

Each step's condition (event name, step filters, first-time-for-user) and each exclusion's condition become
one bit of an integer column, so the database does all filtering and the kernels only see integers. Strict
funnels keep every event in range (any event that does not fill the next step breaks the paths).

Actors are identified, from fastest to slowest: by the integer distinct-id codes kept beside ``events``
(:mod:`cxlens.store.distinct_codes`; DuckDB, no person join), by 64-bit hashes of the actor string (DuckDB,
checked for collisions), or by the strings. On codes, a funnel without breakdown or exclusions fetches its
rows unsorted and sorts them in numpy as one packed ``actor | time | step`` int64 per row
(:func:`fetch_parts`, :func:`pack`), in two halves of the actors that the caller evaluates in two threads;
everything else is sorted by DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
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
    coded_source,
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
from cxlens.store.distinct_codes import ensure_codes

if TYPE_CHECKING:
    from cxlens.query.funnel import FunnelQuery
    from cxlens.workspace import Workspace

__all__ = ["FunnelRows", "Packing", "fetch_parts", "fetch_rows", "funnel_select", "pack", "sort_packed"]

CODED = True
"""Use the integer distinct-id codes when the store has them (tests switch it off to reach the string paths)."""


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


def _person_join(q: FunnelQuery) -> bool:
    bd = q.breakdown
    filters = list(q.global_properties) + [f for s in q.steps for f in s.properties] + \
        [f for x in q.exclusions for f in x.properties]
    return needs_person(filters, bool(bd and bd.type == "person"))


def funnel_select(q: FunnelQuery, hashed: bool = False, identities: bool = True, *, coded: bool = False,
                  ordered: bool = True) -> exp.Select:
    """The SQL of a funnel.

    Parameters
    ----------
    q : FunnelQuery
    hashed : bool
        Identify actors by hashes (DuckDB) rather than strings.
    identities : bool
        Whether the identity map has rows (otherwise its join is skipped).
    coded : bool
        Identify actors by integer codes (:func:`~cxlens.query._events.coded_source`; no person join).
    ordered : bool
        Sort the rows (``False``: the caller sorts them; on codes without exclusions it also gets no ``xm``
        and, when every step is one distinct event name, the step number ``sp`` instead of ``sm``).

    Returns
    -------
    sqlglot.exp.Select
        ``k1[, k2], timestamp, sm, xm, bd0..`` sorted by ``k1``, time, step bits, exclusion bits, breakdown.
    """
    n = len(q.steps)
    bd = q.breakdown
    src: exp.Expression = coded_source(identities) if coded else event_source(_person_join(q), identities)
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
    # steps and exclusions given by bare event names: the IN filter above already keeps exactly the rows
    # matching one of them, so no outer filter on the masks is needed (it costs a second pass)
    bare = q.order != "strict" and all(s.event is not None and not s.properties and s.first_time_for_user is None
                                       for s in q.steps) and all(x.event is not None and not x.properties
                                                                 for x in q.exclusions)
    keys = [exp.column("actor").as_("k1")] if coded else _actor_key(hashed)
    sm = _bitmask(list(step_conds))
    names = [str(s.event) for s in q.steps]
    lean = coded and not ordered and not q.exclusions  # the caller knows xm is 0 and reads "sp" when present
    step_col = sm.as_("sm")
    if coded and bare and not q.exclusions and len(set(names)) == n and n < 64:  # one name per step (DuckDB)
        position = exp.Anonymous(this="list_position", expressions=[
            exp.Array(expressions=[exp.Literal.string(x) for x in names]), exp.column("event")])
        if lean:  # the 1-based step number as one byte: sm = 1 << (sp - 1), computed by the caller
            step_col = exp.cast(position, exp.DataType.build("UTINYINT", dialect="duckdb")).as_("sp")
        else:
            step_col = exp.BitwiseLeftShift(this=exp.Literal.number(1), expression=exp.paren(exp.Sub(
                this=position, expression=exp.Literal.number(1)))).as_("sm")
    cols: list[exp.Expression] = [*keys, exp.column("timestamp"), step_col]
    if not lean:
        cols.append(_bitmask(excl_conds).as_("xm"))
    if bd is not None:
        cols += [as_text(bd.type, p).as_(f"bd{j}") for j, p in enumerate(bd.properties)]
    order = ["k1", "timestamp", "sm", "xm"] + \
        [f"bd{j}" for j in range(len(bd.properties) if bd else 0)]
    inner = select(*cols).from_(src.subquery("ev")).where(all_of(where))
    if bare:
        return inner.order_by(*order) if ordered else inner
    outer = select(exp.Star()).from_(inner.subquery("rows"))
    if q.order != "strict":  # keep events matching a step or an exclusion (conditions evaluated once)
        zero = exp.Literal.number(0)
        keep: exp.Expression = exp.NEQ(this=exp.column("sm"), expression=zero)
        if not lean:
            keep = exp.or_(keep, exp.NEQ(this=exp.column("xm"), expression=zero))
        outer = outer.where(keep)
    return outer.order_by(*order) if ordered else outer


@dataclass(frozen=True)
class Packing:
    """How :func:`pack` laid out ``actor | time | step bits`` in one int64 (see :func:`sort_packed`)."""

    t0: int  # smallest time (us)
    unit: int  # time is stored as (t - t0) // unit
    t_bits: int
    sm_bits: int

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(actor, t, sm) of packed keys."""
        t_out = key >> self.sm_bits
        t_out &= (1 << self.t_bits) - 1
        if self.unit > 1:
            t_out *= self.unit
        t_out += self.t0
        return key >> (self.t_bits + self.sm_bits), t_out, key & ((1 << self.sm_bits) - 1)


def pack(actor: np.ndarray, t: np.ndarray, sm: np.ndarray, sm_bits: int) -> tuple[np.ndarray, Packing] | None:
    """One int64 per row ordering like (actor, t, sm), or ``None`` when it does not fit in 63 bits.

    Parameters
    ----------
    actor, t, sm : numpy.ndarray
        Non-empty; non-negative int64 actor codes, microseconds, step bits below ``1 << sm_bits``.
    sm_bits : int

    Returns
    -------
    tuple of (numpy.ndarray, Packing) or None
    """
    t0 = int(t.min())
    dt = t - t0
    a_bits = int(actor.max()).bit_length()
    unit = 1
    if a_bits + int(dt.max()).bit_length() + sm_bits > 63:  # too wide in microseconds: try coarser units
        for u in (1_000_000, 1_000):
            coarse = dt // u
            if np.array_equal(coarse * u, dt):
                dt, unit = coarse, u
                break
    t_bits = int(dt.max()).bit_length()
    low = t_bits + sm_bits
    if a_bits + low > 63:
        return None
    key = actor << low  # built in place: each temporary is a pass over millions of rows
    dt <<= sm_bits
    key |= dt
    key |= sm
    return key, Packing(t0, unit, t_bits, sm_bits)


def sort_packed(actor: np.ndarray, t: np.ndarray, sm: np.ndarray,
                sm_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Rows sorted by (actor, t, sm) through one packed int64 key, or ``None`` when the key does not fit.

    Why: ``actor | time | step bits`` in one integer turns a three-column sort into one ``np.sort`` of int64
    (vectorised, several times faster than DuckDB's ORDER BY or ``np.lexsort`` on millions of rows), and
    unpacking gives back the sorted columns with no gather. Time is stored relative to its minimum, divided
    by 1 s or 1 ms when microseconds do not fit and every offset is a multiple (whole-second data needs 23
    bits for 90 days).

    Parameters
    ----------
    actor, t, sm : numpy.ndarray
        Non-negative int64 actor codes, microseconds, step bits below ``1 << sm_bits``.
    sm_bits : int

    Returns
    -------
    tuple of numpy.ndarray or None
    """
    if len(actor) == 0:
        return actor, t, sm
    packed = pack(actor, t, sm, sm_bits)
    if packed is None:
        return None
    key, how = packed
    key.sort()
    return how.unpack(key)


def _dense(code: np.ndarray) -> np.ndarray:
    """Codes 0, 1, ... of sorted, non-empty actor codes."""
    change = np.empty(len(code), dtype=bool)
    change[0] = True
    np.not_equal(code[1:], code[:-1], out=change[1:])
    return np.cumsum(change) - 1


def _rows(code: np.ndarray, t: np.ndarray, sm: np.ndarray) -> FunnelRows:
    """Sorted rows without exclusions or breakdown."""
    zero = np.zeros(len(code), np.int64)
    actor = _dense(code) if len(code) else zero
    return FunnelRows(actor, int(actor[-1]) + 1 if len(code) else 0, t, sm, zero, zero, [()])


def fetch_parts(ws: Workspace, q: FunnelQuery, parts: int = 1,
                min_rows: int = 0) -> list[Callable[[], FunnelRows]] | None:
    """The rows of a funnel without breakdown or exclusions, on integer codes, in ``parts`` disjoint groups of
    actors, each sorted (and its actors numbered from 0) when its function is called.

    Why: the rows come from DuckDB unsorted, one packed int64 per row (:func:`pack`); splitting the keys by
    actor range lets each part be sorted, unpacked and evaluated in its own thread.

    Parameters
    ----------
    ws : Workspace
    q : FunnelQuery
    parts : int
        1 or 2 groups (one when there are fewer than ``min_rows`` rows).
    min_rows : int

    Returns
    -------
    list of callables, or None
        ``None`` when this path does not apply (breakdown, exclusions, person join, no codes).
    """
    if not CODED or q.breakdown is not None or q.exclusions or _person_join(q) or not ensure_codes(ws.store):
        return None
    n = len(q.steps)
    table = ws.store.execute(funnel_select(q, identities=has_identities(ws), coded=True, ordered=False))
    if table.num_rows == 0:
        empty = np.zeros(0, np.int64)
        return [lambda: _rows(empty, empty, empty)]
    code = np.asarray(table.column("k1").to_numpy(), dtype=np.int64)
    t = timestamps_us(table.column("timestamp"))
    if "sp" in table.column_names:
        sm = np.left_shift(1, np.asarray(table.column("sp").to_numpy(), dtype=np.int64) - 1)
    else:
        sm = np.asarray(table.column("sm").to_numpy(), dtype=np.int64)
    del table
    if parts < 2 or len(code) < min_rows:
        return [lambda: _sorted_rows(code, t, sm, n)]
    below = code < (int(code.max()) + 1) // 2  # actors below / from the middle code
    return [_part(code, t, sm, n, below), _part(code, t, sm, n, ~below)]


def _sorted_rows(code: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int) -> FunnelRows:
    if len(code) == 0:
        return _rows(code, t, sm)
    packed = pack(code, t, sm, n)
    if packed is None:
        o = np.lexsort((sm, t, code))
        return _rows(code[o], t[o], sm[o])
    key, how = packed
    key.sort()
    return _rows(*how.unpack(key))


def _part(code: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int, mask: np.ndarray) -> Callable[[], FunnelRows]:
    """The rows selected by ``mask``, selected, packed and sorted when called (in a worker thread)."""
    return lambda: _sorted_rows(code[mask], t[mask], sm[mask], n)


def _fetch_coded(ws: Workspace, q: FunnelQuery) -> FunnelRows:
    """:func:`fetch_rows` on integer actor codes (sorted by DuckDB; see :func:`fetch_parts` for the rest)."""
    table = ws.store.execute(funnel_select(q, identities=has_identities(ws), coded=True))
    size = table.num_rows
    if size == 0:
        empty = np.zeros(0, np.int64)
        return FunnelRows(empty, 0, empty, empty, empty, empty, [()])
    actor = _dense(np.asarray(table.column("k1").to_numpy(), dtype=np.int64))
    sm = np.asarray(table.column("sm").to_numpy(), dtype=np.int64)
    xm = np.asarray(table.column("xm").to_numpy(), dtype=np.int64)
    if q.breakdown is not None:
        bd, values = encode_codes([table.column(f"bd{j}") for j in range(len(q.breakdown.properties))])
    else:
        bd, values = np.zeros(size, dtype=np.int64), [()]
    return FunnelRows(actor, int(actor[-1]) + 1, timestamps_us(table.column("timestamp")), sm, xm, bd,
                      [tuple(str(v) for v in vals) for vals in values])


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
        parts = fetch_parts(ws, q)
        if parts is not None:
            return parts[0]()
        if CODED and not _person_join(q) and ensure_codes(ws.store):
            return _fetch_coded(ws, q)
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
