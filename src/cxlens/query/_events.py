"""Shared building blocks of the event query kinds (funnel, retention, trends, lifecycle, stickiness, paths).

Every event query reads the same source: ``events`` joined to the identity map so that each row carries its
*actor* (the person id of its distinct id, or the distinct id itself when it belongs to no person) and, when a
person filter or breakdown needs them, the person's columns under a ``p_`` prefix. Filters are the shared
:class:`~cxlens.store.sql.Filter` model; this module turns them into sqlglot conditions on that source, turns
user date ranges (instants, dates, naive wall-clock in a time zone) into UTC bounds, and encodes a fetched
Arrow table into the integer arrays the numpy kernels work on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.schema.tables import TABLES
from cxlens.store.distinct_codes import CODE_COLUMN, DICT_TABLE, EVENT_COLUMN
from cxlens.store.sql import Filter, field, filter_expr

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = [
    "PERSON_PREFIX",
    "actor_changes",
    "actor_key",
    "all_of",
    "any_of",
    "as_text",
    "coded_group_sql",
    "coded_source",
    "encode_codes",
    "event_source",
    "filter_condition",
    "from_to_aliases",
    "has_identities",
    "instant_bounds",
    "match_condition",
    "needs_person",
    "parse_instant",
    "timestamp_literal",
    "timestamps_us",
    "zone",
]

PERSON_PREFIX = "p_"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name``.

    Parameters
    ----------
    name : str or None
        An IANA name such as ``"Europe/Paris"``; ``None`` means UTC.

    Returns
    -------
    ZoneInfo

    Raises
    ------
    QueryError
        When the zone is unknown.
    """
    if name is not None and not name.strip():
        raise QueryError("timezone is empty; use an IANA name such as 'Europe/Paris', or leave it out for UTC")
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'") from None


def from_to_aliases(data: object) -> object:
    """A ``date_range`` given as ``{"from", "to"}`` (as in every other query kind) read as
    ``{"date_from", "date_to"}``; a key already given under its long name is left alone."""
    if isinstance(data, dict) and ("from" in data or "to" in data):
        data = dict(data)
        for short, long in (("from", "date_from"), ("to", "date_to")):
            if short in data and long not in data:
                data[long] = data.pop(short)
    return data


def parse_instant(value: str | datetime | date | None, tz: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A user bound as a naive UTC datetime.

    Parameters
    ----------
    value : str, datetime, date or None
        An ISO-8601 string or a datetime (with an offset: that instant; without one: wall-clock in ``tz``),
        or a bare date: the start of that local day, or its last microsecond when ``end``.
    tz : ZoneInfo
        Zone of naive values.
    end : bool
        Whether a bare date stands for the end of its day.

    Returns
    -------
    datetime or None
        Naive UTC, ``None`` when ``value`` is ``None``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if _DATE_ONLY.match(text) else datetime.fromisoformat(text)
        except ValueError:
            raise QueryError(f"invalid date or instant {value!r}; use ISO-8601") from None
    if not isinstance(value, datetime):
        day = datetime.combine(value, time.max if end else time.min)
        value = day
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC).replace(tzinfo=None)


def instant_bounds(date_range: Any, tz: ZoneInfo, column: str = "timestamp") -> list[exp.Expression]:
    """``column >= from`` and ``column <= to`` for a ``{"from", "to"}`` range of the event kinds.

    Parameters
    ----------
    date_range : object with ``from_`` and ``to`` (or None)
        Bounds as :func:`parse_instant` reads them; a bare ``to`` date covers its whole local day.
    tz : ZoneInfo
        The time zone of naive bounds.
    column : str, default "timestamp"

    Returns
    -------
    list of sqlglot.exp.Expression
        Zero, one or two conditions.
    """
    if date_range is None:
        return []
    lo = parse_instant(date_range.from_, tz)
    hi = parse_instant(date_range.to, tz, end=True)
    conds: list[exp.Expression] = []
    if lo is not None:
        conds.append(exp.GTE(this=exp.column(column), expression=timestamp_literal(lo)))
    if hi is not None:
        conds.append(exp.LTE(this=exp.column(column), expression=timestamp_literal(hi)))
    return conds


def timestamp_literal(naive_utc: datetime) -> exp.Expression:
    """A TIMESTAMP literal.

    Parameters
    ----------
    naive_utc : datetime
        A naive datetime (UTC, or local wall-clock when compared with local times).

    Returns
    -------
    sqlglot.exp.Expression
    """
    return exp.cast(exp.Literal.string(naive_utc.isoformat(sep=" ")), "TIMESTAMP")


def needs_person(filters: Iterable[Filter], extra: bool = False) -> bool:
    """Whether the persons table must be joined.

    Parameters
    ----------
    filters : iterable of Filter
        Filters of the query; a ``person`` filter needs the join.
    extra : bool
        Another reason to join (e.g. a person breakdown).

    Returns
    -------
    bool
    """
    return extra or any(f.type == "person" for f in filters)


def event_source(with_person: bool, identities: bool = True) -> exp.Select:
    """``events`` with its actor (person id, or the distinct id when it belongs to no person).

    Parameters
    ----------
    with_person : bool
        Also join ``persons``; its columns appear prefixed ``p_`` (``p_properties``, ...).
    identities : bool
        ``False`` (the identity map is empty) skips the identity join: each distinct id is its own actor.

    Returns
    -------
    sqlglot.exp.Select
        Columns of ``events`` plus ``actor`` (and ``p_*``).
    """
    cols: list[exp.Expression] = [exp.column(c, "e") for c in TABLES["events"].column_names]
    if not (identities or with_person):
        return select(*cols, exp.column("distinct_id", "e").as_("actor")).from_(exp.table_("events", alias="e"))
    cols.append(exp.func("COALESCE", exp.column("person_id", "d"), exp.column("distinct_id", "e")).as_("actor"))
    if with_person:
        cols += [exp.column(c, "p").as_(PERSON_PREFIX + c) for c in TABLES["persons"].column_names]
    sel = select(*cols).from_(exp.table_("events", alias="e")).join(
        exp.table_("person_distinct_ids", alias="d"),
        on=exp.column("distinct_id", "d").eq(exp.column("distinct_id", "e")), join_type="left")
    if with_person:
        sel = sel.join(exp.table_("persons", alias="p"),
                       on=exp.column("person_id", "p").eq(exp.column("person_id", "d")), join_type="left")
    return sel


def coded_source(identities: bool) -> exp.Select:
    """``events`` with an integer actor (see :mod:`cxlens.store.distinct_codes`; every row must be coded).

    The actor of a row is the code of its distinct id, or, when the id belongs to a person, the smallest code
    among the ids whose actor string (person id, or the id itself when unmapped) is the same -- so actors are
    the same groups as in :func:`event_source`, identified by integers. Codes are not dense.

    Parameters
    ----------
    identities : bool
        ``False`` (the identity map is empty) skips the identity join.

    Returns
    -------
    sqlglot.exp.Select
        Columns of ``events``, the event-name code ``_cxlens_ev``, and ``actor`` (BIGINT).
    """
    cols: list[exp.Expression] = [exp.column(c, "e") for c in (*TABLES["events"].column_names, EVENT_COLUMN)]
    did = exp.column(CODE_COLUMN, "e")
    events = exp.table_("events", alias="e")
    if not identities:
        return select(*cols, did.as_("actor")).from_(events)
    name = exp.func("COALESCE", exp.column("person_id", "d"), exp.column("distinct_id", "k"))
    smallest = exp.Window(this=exp.Min(this=exp.column("code", "k")), partition_by=[name])
    every = select(exp.column("code", "k").as_("did"), smallest.as_("actor")).from_(
        exp.table_(DICT_TABLE, alias="k")).join(
        exp.table_("person_distinct_ids", alias="d"),
        on=exp.column("distinct_id", "d").eq(exp.column("distinct_id", "k")), join_type="left")
    merged = select(exp.Star()).from_(every.subquery("m0")).where(
        exp.NEQ(this=exp.column("actor"), expression=exp.column("did")))
    actor = exp.func("COALESCE", exp.column("actor", "m"), did)
    return select(*cols, actor.as_("actor")).from_(events).join(
        merged.subquery("m"), on=exp.column("did", "m").eq(did.copy()), join_type="left")


MAX_PERFECT_BITS = 22
"""Largest actor-code range (in bits) for which :func:`coded_group_sql` asks for a perfect hash table."""


def coded_group_sql(ws: Workspace, query: exp.Expression) -> str:
    """The DuckDB SQL of ``query``, a GROUP BY over integer actor codes, run with a perfect hash table.

    Why: the codes are dense (0 .. number of distinct ids), so DuckDB can aggregate into an array indexed by
    the code instead of a hash table -- it does so only when the key range has at most
    ``perfect_ht_threshold`` bits (12 by default, i.e. 4096 groups); with 500k actors that is 3x faster. The
    setting is raised for this statement's session only (a fresh cursor), never inside a transaction, where
    the session is the store's own connection.

    Parameters
    ----------
    ws : Workspace
    query : sqlglot.exp.Expression

    Returns
    -------
    str
    """
    sql = ws.store.render(query)
    if getattr(ws.store, "_in_tx", True):
        return sql
    size = ws.store.execute(f'SELECT count(*) AS n FROM "{DICT_TABLE}"').column(0)[0].as_py()
    bits = max(12, int(size).bit_length() + 1)  # one more for NULL keys
    return sql if bits > MAX_PERFECT_BITS else f"SET SESSION perfect_ht_threshold = {bits}; {sql}"


def has_identities(ws: Workspace) -> bool:
    """Whether any distinct id is mapped to a person (otherwise the identity join can be skipped).

    Parameters
    ----------
    ws : Workspace

    Returns
    -------
    bool
    """
    return ws.store.count("person_distinct_ids") > 0


def _to_person(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Column):
        return exp.column(PERSON_PREFIX + node.name)
    return node


def filter_condition(f: Filter) -> exp.Expression:
    """The condition of one filter on :func:`event_source` rows.

    Parameters
    ----------
    f : Filter
        An event filter (``properties`` of the event or an event column) or a person filter
        (``persons.properties`` or a persons column).

    Returns
    -------
    sqlglot.exp.Expression
        Parenthesised, ready to combine.
    """
    if f.type == "person":
        return exp.paren(filter_expr("persons", f).transform(_to_person))
    return exp.paren(filter_expr("events", f))


def all_of(conds: Sequence[exp.Expression]) -> exp.Expression:
    """AND of ``conds``.

    Parameters
    ----------
    conds : sequence of sqlglot.exp.Expression

    Returns
    -------
    sqlglot.exp.Expression
        ``TRUE`` when ``conds`` is empty.
    """
    return exp.and_(*conds) if conds else exp.true()


def any_of(conds: Sequence[exp.Expression]) -> exp.Expression:
    """OR of ``conds``.

    Parameters
    ----------
    conds : sequence of sqlglot.exp.Expression

    Returns
    -------
    sqlglot.exp.Expression
        ``FALSE`` when ``conds`` is empty.
    """
    return exp.or_(*[exp.paren(c) for c in conds]) if conds else exp.false()


def match_condition(event: str | None, filters: Sequence[Filter]) -> exp.Expression:
    """The condition selecting one kind of event.

    Parameters
    ----------
    event : str or None
        Event name; ``None`` matches any event.
    filters : sequence of Filter
        All must pass.

    Returns
    -------
    sqlglot.exp.Expression
    """
    conds = [] if event is None else [exp.column("event").eq(exp.Literal.string(event))]
    return all_of(conds + [filter_condition(f) for f in filters])


def as_text(kind: str, name: str) -> exp.Expression:
    """A property or column as text, ``''`` when missing (breakdown values).

    Parameters
    ----------
    kind : {"event", "person"}
        Where the property lives.
    name : str
        Column or property name (``properties.`` prefix optional).

    Returns
    -------
    sqlglot.exp.Expression
    """
    col = field("persons", name).transform(_to_person) if kind == "person" else field("events", name)
    return exp.func("COALESCE", exp.cast(col, exp.DataType.build("VARCHAR")), exp.Literal.string(""))


def timestamps_us(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A timestamp column as int64 microseconds since the epoch.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
        A timestamp column (any unit).

    Returns
    -------
    numpy.ndarray
        int64 microseconds (nulls become 0).
    """
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_timestamp(arr.type):
        raise QueryError(f"expected a timestamp column, got {arr.type}")
    if arr.type.unit != "us":
        arr = arr.cast(pa.timestamp("us"))
    return np.asarray(arr.cast(pa.int64()).fill_null(0), dtype=np.int64)


def encode_codes(cols: Sequence[pa.ChunkedArray | pa.Array]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Integer codes of the distinct tuples of ``cols``.

    Parameters
    ----------
    cols : sequence of pyarrow arrays
        Columns of equal length.

    Returns
    -------
    codes : numpy.ndarray
        int64 code per row; codes follow the sorted order of the tuples.
    values : list of tuple
        ``values[code]`` is the tuple of one code.
    """
    if not cols:
        raise ValueError("nothing to encode")
    per_col: list[np.ndarray] = []
    dicts: list[list[Any]] = []
    for c in cols:
        arr = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
        uniq = pc.unique(arr)
        order = pc.sort_indices(uniq)
        uniq = pc.take(uniq, order)
        idx = pc.index_in(arr, value_set=uniq)
        per_col.append(np.asarray(idx.fill_null(0), dtype=np.int64))
        dicts.append(uniq.to_pylist())
    if len(per_col) == 1:
        return per_col[0], [(v,) for v in dicts[0]]
    stacked = np.stack(per_col, axis=1)
    uniq_rows, codes = np.unique(stacked, axis=0, return_inverse=True)
    values = [tuple(dicts[j][int(r[j])] for j in range(len(dicts))) for r in uniq_rows]
    return codes.reshape(-1).astype(np.int64), values


def actor_key(hashed: bool) -> list[exp.Expression]:
    """How fetched rows identify their actor: the string itself (``k1``), or (DuckDB) a 64-bit hash of it,
    much cheaper to move and sort, plus a second independent hash ``k2`` that detects a collision of the first
    (see :func:`actor_changes`).

    Parameters
    ----------
    hashed : bool

    Returns
    -------
    list of sqlglot.exp.Expression
    """
    if not hashed:
        return [exp.column("actor").as_("k1")]
    salted = exp.DPipe(this=exp.column("actor"), expression=exp.Literal.string("\x1f"))
    return [exp.Anonymous(this="hash", expressions=[exp.column("actor")]).as_("k1"),
            exp.Anonymous(this="hash", expressions=[salted]).as_("k2")]


def actor_changes(table: pa.Table, hashed: bool) -> np.ndarray | None:
    """Where a new actor starts in rows sorted by ``k1`` (see :func:`actor_key`).

    Parameters
    ----------
    table : pyarrow.Table
        With ``k1`` (and ``k2`` when hashed), sorted by ``k1``.
    hashed : bool

    Returns
    -------
    numpy.ndarray or None
        Boolean mask, ``True`` on the first row of each actor; ``None`` when two actors share a first hash
        (the second hash changes inside a run of equal first hashes): fetch again without hashing.
    """
    size = table.num_rows
    change = np.zeros(size, dtype=bool)
    change[:1] = True
    if size > 1 and hashed:
        k1, k2 = table.column("k1").to_numpy(), table.column("k2").to_numpy()
        change[1:] = k1[1:] != k1[:-1]
        if ((k2[1:] != k2[:-1]) & ~change[1:]).any():
            return None
    elif size > 1:
        arr = table.column("k1").combine_chunks()
        change[1:] = pc.not_equal(arr.slice(1), arr.slice(0, size - 1)).to_numpy(zero_copy_only=False)
    return change
