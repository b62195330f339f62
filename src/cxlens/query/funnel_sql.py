"""The one SQL query of a funnel: the relevant events with their actor, time and step / exclusion bitmasks.

Each step's condition (event name, step filters, first-time-for-user) and each exclusion's condition become
one bit of an integer column, so the database does all filtering and the kernels only see integers. Strict
funnels keep every event in range (any event that does not fill the next step breaks the paths).

Actors are identified, from fastest to slowest: by the integer distinct-id codes kept beside ``events``
(:mod:`cxlens.store.distinct_codes`; DuckDB, no person join), by 64-bit hashes of the actor string (DuckDB,
checked for collisions), or by the strings. On codes, a funnel without breakdown or exclusions fetches its
rows unsorted and sorts them in numpy as one packed ``actor | time | step`` int64 per row
(:func:`fetch_parts`, :func:`pack`): the two halves of the rows are converted, packed and sorted in two
threads, then merged into two halves of the actors that the caller evaluates in two threads; everything
else is sorted by DuckDB. When its steps are distinct bare event names it also filters on the integer
event-name codes (``_cxlens_ev``, one bit mask tested inside DuckDB's scan: :func:`_code_filter`) and maps
codes to step bits with a lookup table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyarrow as pa
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
from cxlens.store.distinct_codes import EVENT_COLUMN, ensure_codes, event_codes

if TYPE_CHECKING:
    from cxlens.query.funnel import FunnelQuery
    from cxlens.workspace import Workspace

__all__ = ["FunnelRows", "Packing", "fetch_parts", "fetch_rows", "funnel_select", "pack", "packing", "sort_packed"]

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
                  ordered: bool = True, event_codes: Mapping[str, int] | None = None) -> exp.Select:
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
    event_codes : mapping or None
        With ``coded`` and not ``ordered``, when every step is one distinct event name: the event-name codes
        of those names that have one (:func:`~cxlens.store.distinct_codes.event_codes`). The rows are then
        filtered on the integer code and carry it as ``ec`` instead of ``sp`` (the caller maps it to steps).

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
    name_filter: exp.Expression | None = None
    where += [filter_condition(f) for f in q.global_properties]
    if q.order != "strict":
        names = [s.event for s in q.steps] + [x.event for x in q.exclusions]
        if all(name is not None for name in names):
            name_filter = exp.column("event").isin(*[exp.Literal.string(str(x)) for x in sorted(set(names))])
            where.append(name_filter)
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
        if lean and event_codes is not None:  # filter on the integer code; the caller maps codes to steps
            where = [w for w in where if w is not name_filter] + [_code_filter(list(event_codes.values()))]
            step_col = exp.column(EVENT_COLUMN).as_("ec")
        elif lean:  # the 1-based step number as one byte: sm = 1 << (sp - 1), computed by the caller
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


MASK_CODES = 63
"""Event-name codes below this are filtered by one bit mask (see :func:`_code_filter`)."""


def _code_filter(codes: list[int]) -> exp.Expression:
    """``_cxlens_ev`` is one of ``codes`` (none: FALSE).

    Why the bit mask: DuckDB evaluates ``((mask >> code) & 1) = 1`` inside the table scan, before it reads
    the other columns of the row group, whereas ``code IN (...)`` of scattered codes is only used to skip
    row groups and then filtered after every column was scanned (about 25 ms vs 45 ms on 10M rows)."""
    col = exp.column(EVENT_COLUMN)
    if not codes:
        return exp.false()
    if max(codes) < MASK_CODES:
        mask = sum(1 << c for c in set(codes))
        shifted = exp.BitwiseRightShift(this=exp.Literal.number(mask), expression=col)
        return exp.EQ(this=exp.paren(exp.BitwiseAnd(this=exp.paren(shifted), expression=exp.Literal.number(1))),
                      expression=exp.Literal.number(1))
    return col.isin(*[exp.Literal.number(c) for c in sorted(set(codes))])


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

    def pack(self, actor: np.ndarray, t: np.ndarray, sm: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """Packed keys of rows (any of the rows :func:`packing` was given, e.g. a slice of them).

        ``overwrite``: ``actor`` and ``t`` may be overwritten (the key is built in ``actor``'s memory),
        because every fresh array of millions of rows costs page faults, more than the arithmetic on it.
        """
        dt = np.subtract(t, self.t0, out=t if overwrite else None)
        if self.unit > 1:
            dt //= self.unit  # a division by a scalar constant: numpy makes it a multiplication
        dt <<= self.sm_bits
        key = np.left_shift(actor, self.t_bits + self.sm_bits, out=actor if overwrite else None)
        key |= dt
        key |= sm
        return key


def _multiples(t: np.ndarray, u: int) -> bool:
    """Whether every element is a multiple of ``u``: checked in blocks, so the temporaries stay in the cache
    (and ``//`` by a constant is several times faster than ``%``)."""
    step = 1 << 16
    for i in range(0, len(t), step):
        block = t[i:i + step]
        if not np.array_equal(block // u * u, block):
            return False
    return True


def packing(actor: np.ndarray, t: np.ndarray, sm_bits: int) -> Packing | None:
    """How to pack rows into one int64 ordering like (actor, t, sm), or ``None`` when 63 bits are too few.

    Parameters
    ----------
    actor, t : numpy.ndarray
        Non-empty; non-negative int64 actor codes, int64 microseconds.
    sm_bits : int
        Width of the step bits.

    Returns
    -------
    Packing or None
    """
    return _layout(int(t.min()), int(t.max()), int(actor.max()), sm_bits, lambda u: _multiples(t, u))


def _layout(t0: int, t_max: int, a_max: int, sm_bits: int, multiple_of: Callable[[int], bool]) -> Packing | None:
    """:func:`packing` from the rows' smallest and largest time and largest actor code; ``multiple_of(u)``
    says whether every time is a multiple of ``u``."""
    span = t_max - t0
    a_bits = a_max.bit_length()
    unit = 1
    if a_bits + span.bit_length() + sm_bits > 63:  # too wide in microseconds: try coarser units
        for u in (1_000_000, 1_000):
            if multiple_of(u):  # t0 is one of the times: every offset is a multiple when every time is
                unit = u
                break
    t_bits = (span // unit).bit_length()
    if a_bits + t_bits + sm_bits > 63:
        return None
    return Packing(t0, unit, t_bits, sm_bits)


def pack(actor: np.ndarray, t: np.ndarray, sm: np.ndarray, sm_bits: int, *,
         overwrite: bool = False) -> tuple[np.ndarray, Packing] | None:
    """One int64 per row ordering like (actor, t, sm), or ``None`` when it does not fit in 63 bits.

    Parameters
    ----------
    actor, t, sm : numpy.ndarray
        Non-empty; non-negative int64 actor codes, int64 microseconds, step bits below ``1 << sm_bits``.
    sm_bits : int
    overwrite : bool
        ``actor`` and ``t`` may be overwritten (see :meth:`Packing.pack`).

    Returns
    -------
    tuple of (numpy.ndarray, Packing) or None
    """
    how = packing(actor, t, sm_bits)
    if how is None:
        return None
    return how.pack(actor, t, sm, overwrite=overwrite), how


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
    dense = np.cumsum(change, dtype=np.int64)
    dense -= 1  # in place: one array of millions fewer to fault in
    return dense


def _rows(code: np.ndarray, t: np.ndarray, sm: np.ndarray) -> FunnelRows:
    """Sorted rows without exclusions or breakdown."""
    zero = np.zeros(len(code), np.int64)
    actor = _dense(code) if len(code) else zero
    return FunnelRows(actor, int(actor[-1]) + 1 if len(code) else 0, t, sm, zero, zero, [()])


def fetch_parts(ws: Workspace, q: FunnelQuery, parts: int = 1, min_rows: int = 0,
                pool: Executor | None = None) -> list[Callable[[], FunnelRows]] | None:
    """The rows of a funnel without breakdown or exclusions, on integer codes, in ``parts`` disjoint groups of
    actors, each sorted (and its actors numbered from 0) when its function is called.

    Why: the rows come from DuckDB unsorted and are packed into one int64 per row (:func:`pack`). With two
    parts the two halves of the *rows* are sorted in two threads (``pool`` runs the second), then each part
    merges the keys of its half of the actors from both sorted halves (contiguous slices, found by binary
    search) and unpacks them in its own thread: a boolean-mask selection of half the actors costs about
    4 ns a row per column (the mask is random, so it mispredicts), more than sorting.

    Parameters
    ----------
    ws : Workspace
    q : FunnelQuery
    parts : int
        1 or 2 groups (one when there are fewer than ``min_rows`` rows).
    min_rows : int
    pool : Executor or None
        Runs the second half's sort (``None``: the caller's thread sorts both).

    Returns
    -------
    list of callables, or None
        ``None`` when this path does not apply (breakdown, exclusions, person join, no codes).
    """
    if not CODED or q.breakdown is not None or q.exclusions or _person_join(q) or not ensure_codes(ws.store):
        return None
    n = len(q.steps)
    names = [s.event for s in q.steps]
    codes = None
    if all(isinstance(x, str) and not s.properties and s.first_time_for_user is None
           for x, s in zip(names, q.steps, strict=True)) and len(set(names)) == n and q.order != "strict" and n < 64:
        codes = event_codes(ws.store, [str(x) for x in names])
    table = ws.store.execute(funnel_select(q, identities=has_identities(ws), coded=True, ordered=False,
                                           event_codes=codes))
    if table.num_rows == 0:
        empty = np.zeros(0, np.int64)
        return [lambda: _rows(empty, empty, empty)]
    lut = None
    if "ec" in table.column_names and codes is not None:  # event-name code -> step bit, by a lookup table
        lut = np.zeros(max(codes.values(), default=0) + 1, dtype=np.uint8 if n <= 8 else np.int64)
        for j, x in enumerate(names):
            if x in codes:
                lut[codes[str(x)]] = 1 << j
    size = table.num_rows
    if parts < 2 or size < min_rows:
        code, t, sm = _columns(table, lut)
        return [lambda: _sorted_rows(code, t, sm, n)]
    # two halves of the rows, each converted, packed and sorted in its own thread; then each part merges
    # the keys of its half of the actors from both sorted halves
    half = size // 2

    def convert(rows: tuple[int, int]) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray],
                                                 tuple[int, int, int, dict[int, bool]]]:
        c = _columns(table.slice(*rows), lut)  # rows: (offset, length)
        return c, _stats(c[0], c[1], n)

    (c0, st0), (c1, st1) = _in_two(pool, convert, (0, half), (half, size - half))
    cols, stats = (c0, c1), (st0, st1)
    a_max = max(st[2] for st in stats)
    mid = (a_max + 1) // 2  # actors below / from the middle code

    def multiple_of(u: int) -> bool:
        return all(st[3][u] if u in st[3] else _multiples(c[1], u) for st, c in zip(stats, cols, strict=True))

    how = _layout(min(st[0] for st in stats), max(st[1] for st in stats), a_max, n, multiple_of)
    if how is None:
        code, t, sm = (np.concatenate([c[i] for c in cols]) for i in range(3))
        below = code < mid
        return [_part(code, t, sm, n, below), _part(code, t, sm, n, ~below)]
    first, second = _in_two(pool, _pack_sort(how), c0, c1)
    cut = mid << (how.t_bits + how.sm_bits)  # the smallest key of the upper actors
    i, j = int(np.searchsorted(first, cut)), int(np.searchsorted(second, cut))
    return [_merged(first[:i], second[:j], how), _merged(first[i:], second[j:], how)]


def _pack_sort(how: Packing) -> Callable[[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
    """Rows -> their packed keys (built in the codes' memory), sorted in place."""
    def run(cols: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        key = how.pack(*cols, overwrite=True)
        key.sort()
        return key
    return run


_T = TypeVar("_T")
_R = TypeVar("_R")


def _in_two(pool: Executor | None, fn: Callable[[_T], _R], a: _T, b: _T) -> tuple[_R, _R]:
    """``(fn(a), fn(b))``, ``fn(b)`` in ``pool`` (when there is one) while this thread runs ``fn(a)``."""
    done = pool.submit(fn, b) if pool is not None else None
    first = fn(a)
    return first, done.result() if done is not None else fn(b)


def _columns(table: pa.Table, lut: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(actor code, time us, step bits) of the unsorted rows of :func:`fetch_parts`, writable."""
    code = _writable(np.asarray(table.column("k1").to_numpy(), dtype=np.int64))
    t = _writable(timestamps_us(table.column("timestamp")))
    if lut is not None:
        sm = lut[np.asarray(table.column("ec").to_numpy(), dtype=np.int64)]
    elif "sp" in table.column_names:
        sm = np.left_shift(1, np.asarray(table.column("sp").to_numpy(), dtype=np.int64) - 1)
    else:
        sm = np.asarray(table.column("sm").to_numpy(), dtype=np.int64)
    return code, t, sm


def _stats(code: np.ndarray, t: np.ndarray, sm_bits: int) -> tuple[int, int, int, dict[int, bool]]:
    """Smallest and largest time, largest code, and, when these rows alone are too wide to pack in
    microseconds, whether their times are whole seconds / milliseconds (what :func:`_layout` will ask)."""
    if len(code) == 0:
        return 2**62, -(2**62), 0, {}
    t0, t1, a_max = int(t.min()), int(t.max()), int(code.max())
    multiple: dict[int, bool] = {}
    if a_max.bit_length() + (t1 - t0).bit_length() + sm_bits > 63:
        multiple[1_000_000] = _multiples(t, 1_000_000)
        if not multiple[1_000_000]:
            multiple[1_000] = _multiples(t, 1_000)
    return t0, t1, a_max, multiple


def _writable(a: np.ndarray) -> np.ndarray:
    """``a``, or a copy when it is a read-only view (of one Arrow chunk)."""
    return a if a.flags.writeable else a.copy()


def _sorted_rows(code: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int) -> FunnelRows:
    sm = sm.astype(np.int64, copy=False)  # step bits may come as bytes (lookup table); the kernels get int64
    if len(code) == 0:
        return _rows(code, t, sm)
    packed = pack(code, t, sm, n)
    if packed is None:
        o = np.lexsort((sm, t, code))
        return _rows(code[o], t[o], sm[o])
    key, how = packed
    key.sort()
    return _rows(*how.unpack(key))


def _merged(a: np.ndarray, b: np.ndarray, how: Packing) -> Callable[[], FunnelRows]:
    """The sorted rows of two sorted runs of packed keys, merged and unpacked when called (in a worker thread).

    Why ``kind="stable"``: for int64 numpy's stable sort is timsort, which finds the two runs and merges them
    in one linear pass (about 3x faster than re-sorting)."""
    def run() -> FunnelRows:
        key = np.concatenate([a, b])
        key.sort(kind="stable")
        return _rows(*how.unpack(key))
    return run


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
