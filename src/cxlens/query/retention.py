"""Query kind ``retention``: cohorts of actors by the period of a target event, and who returns later.

``{"kind": "retention", "target": {"event": "signup"}, "returning": {"event": "login"}, "period": "week",
"total_intervals": 8, "mode": "first_time"}``

Row ``i`` is the cohort of period ``i``; column 0 is the cohort size and column ``j`` the members returning
in period ``i + j`` (inside the table, so row ``i`` has ``N - i`` columns). Periods are calendar hours, days,
weeks (starting ``week_start``) or months in ``timezone``. Modes: ``recurring`` (an actor is in the cohort of
every period where it did the target event), ``first_time`` (one cohort: the period of its first-ever target
event matching the filters; none when that lies outside the table), ``first_ever`` (the very first event with
the target's name must itself match the filters). ``cumulative``: column ``j`` counts returns in period
``i + j`` or later. ``minimum_occurrences``: a return needs that many returning events in the period. A
return in the cohort's own period adds nothing. With an event breakdown an actor belongs to a value through
its target event and a return counts only when the returning event carries the same value.

One SQL query aggregates the events per actor (and breakdown value) in the database: the periods with a
target event (recurring) or the period of the first target event of all time (first-time modes), and the
periods with a return, as bitmasks of up to 62 periods per word. numpy then fills the table from these
compact rows (one per actor), so no per-event data leaves the database. Where the store keeps integer
distinct-id codes (:mod:`cxlens.store.distinct_codes`) the GROUP BY runs on them, through a perfect hash
table (:func:`~cxlens.query._events.coded_group_sql`), instead of hashing the id strings.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    all_of,
    any_of,
    as_text,
    coded_group_sql,
    coded_source,
    encode_codes,
    event_source,
    filter_condition,
    from_to_aliases,
    has_identities,
    match_condition,
    needs_person,
    timestamp_literal,
    zone,
)
from cxlens.query.registry import QueryModel, register_query
from cxlens.query.retention_periods import Periods, local_time, period_index_sql, table_periods
from cxlens.store.distinct_codes import ensure_codes
from cxlens.store.sql import Filter

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["RetentionBreakdown", "RetentionDateRange", "RetentionEntity", "RetentionQuery", "retention_select",
           "run_retention"]

_Strict = ConfigDict(extra="forbid", frozen=True)
CODED = True
"""Use the integer distinct-id codes when the store has them (tests switch it off to reach the string path)."""


class RetentionEntity(BaseModel):
    """An event name (``None``: any event) and filters on it."""

    model_config = _Strict
    event: str | None = None
    properties: list[Filter] = Field(default_factory=list)


class RetentionDateRange(BaseModel):
    """Local wall-clock dates or times in the query's time zone (an offset makes them instants)."""

    model_config = _Strict
    date_from: str | datetime | date | None = None
    date_to: str | datetime | date | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_to(cls, data: object) -> object:
        return from_to_aliases(data)


class RetentionBreakdown(BaseModel):
    """Split cohorts by an event property (of the target event) or a person property."""

    model_config = _Strict
    type: Literal["event", "person"] = "event"
    property: str


class RetentionQuery(QueryModel):
    """A cohort retention table (see the module docstring)."""

    kind: Literal["retention"] = "retention"
    target: RetentionEntity = Field(default_factory=RetentionEntity)
    returning: RetentionEntity | None = Field(None, description="default: the target")
    period: Literal["hour", "day", "week", "month"] = "day"
    total_intervals: int = Field(11, ge=1, le=10_000)
    date_range: RetentionDateRange | None = None
    timezone: str = "UTC"
    week_start: Literal["sunday", "monday"] = "sunday"
    mode: Literal["recurring", "first_time", "first_ever"] = "recurring"
    cumulative: bool = False
    minimum_occurrences: int = Field(1, ge=1)
    breakdown: RetentionBreakdown | None = None
    global_properties: list[Filter] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for k in ("target", "returning"):
                if isinstance(data.get(k), str):
                    data[k] = {"event": data[k]}
        return data

    @model_validator(mode="after")
    def _zone(self) -> RetentionQuery:
        zone(self.timezone)
        return self


WORD = 62
"""Periods per bitmask word (BIGINT bit operations, sign bit unused)."""
SMALL_TABLE = 16
SMALL_CELLS = 1 << 22
"""Tables of at most ``SMALL_TABLE`` periods whose (cell, return pattern) histogram has at most ``SMALL_CELLS``
bins are counted through that histogram (see ``_count``)."""


def _bit(cond: exp.Expression, w: int) -> exp.Expression:
    """BIT_OR of ``1 << (p - 62 w)`` over rows where ``cond`` holds and ``p`` falls in word ``w``."""
    p = exp.column("p")
    in_word = exp.and_(cond, exp.column("p").is_(exp.null()).not_(),
                       exp.IntDiv(this=p.copy(), expression=exp.Literal.number(WORD)).eq(exp.Literal.number(w)))
    shift = exp.BitwiseLeftShift(this=exp.cast(exp.Literal.number(1), "BIGINT"),
                                 expression=exp.Mod(this=p.copy(), expression=exp.Literal.number(WORD)))
    return exp.BitwiseOrAgg(this=exp.Case().when(in_word, shift).else_(exp.null()))


def _flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case().when(cond, exp.Literal.number(1)).else_(exp.Literal.number(0))


def _min_ts(cond: exp.Expression) -> exp.Expression:
    return exp.Min(this=exp.Case().when(cond, exp.column("timestamp")).else_(exp.null()))


def _person_join(q: RetentionQuery) -> bool:
    ret = q.returning or q.target
    bd = q.breakdown
    return needs_person([*q.global_properties, *q.target.properties, *ret.properties], bool(bd and bd.type == "person"))


def retention_select(q: RetentionQuery, periods: Periods, identities: bool = True, *,
                     coded: bool = False) -> exp.Select:
    """The SQL of a retention table: one row per actor (and breakdown value).

    Parameters
    ----------
    q : RetentionQuery
    periods : Periods
        The table's periods.
    identities : bool
        Whether the identity map has rows (otherwise its join is skipped).
    coded : bool
        Group by integer actor codes (:func:`~cxlens.query._events.coded_source`; no person join): the same
        groups, much cheaper to hash than the distinct-id strings.

    Returns
    -------
    sqlglot.exp.Select
        ``[bd,] rm0.., tm0..`` (recurring) or ``[bd,] p0, rm0..`` (first-time modes): bitmasks of periods
        with a return / a target event (62 periods per word), or the cohort period.
    """
    ret = q.returning or q.target
    bd = q.breakdown
    src = (coded_source(identities) if coded else event_source(_person_join(q), identities)).subquery("ev")
    glob = [filter_condition(f) for f in q.global_properties]
    target = all_of([match_condition(q.target.event, q.target.properties), *glob])
    back = all_of([match_condition(ret.event, ret.properties), *glob])
    named = match_condition(q.target.event, [])
    lt = local_time(exp.column("timestamp"), q.timezone)
    words = (periods.n + WORD - 1) // WORD
    group = [exp.column("actor")] + ([exp.column("bd")] if bd else [])
    first = q.mode != "recurring"
    ever = q.mode == "first_ever"  # only this mode compares with the first event of the target's name
    base_cols = [exp.column("actor"), exp.column("timestamp"), period_index_sql(lt, periods).as_("p"),
                 exp.paren(target).as_("is_t"), exp.paren(back).as_("is_r")]
    if ever:
        base_cols.append(exp.paren(named).as_("is_n"))
    if bd:
        base_cols.append(as_text(bd.type, bd.property).as_("bd"))
    if first:
        where = any_of([named, back])  # every event of the target's name counts for "first", all time
    else:
        lo, hi = periods.starts[0], periods.last
        where = all_of([
            exp.GTE(this=exp.column("timestamp"), expression=timestamp_literal(lo - timedelta(days=1))),
            exp.LTE(this=exp.column("timestamp"), expression=timestamp_literal(hi + timedelta(days=1))),
            any_of([target, back])])
    rows = select(*base_cols).from_(src).where(where).subquery("r")
    if q.minimum_occurrences > 1:
        agg_cols = [*group, exp.column("p"), exp.Max(this=_flag(exp.column("is_t"))).as_("t_any"),
                    exp.Sum(this=_flag(exp.column("is_r"))).as_("r_cnt")]
        if first:
            agg_cols += [_min_ts(exp.column("is_t")).as_("f_full")]
        if ever:
            agg_cols += [_min_ts(exp.column("is_n")).as_("f_named")]
        rows = select(*agg_cols).from_(rows).group_by(*group, exp.column("p")).subquery("a")
        t_ok: exp.Expression = exp.column("t_any").eq(exp.Literal.number(1))
        r_ok: exp.Expression = exp.GTE(this=exp.column("r_cnt"), expression=exp.Literal.number(q.minimum_occurrences))
        fn, ff = exp.Min(this=exp.column("f_named")), exp.Min(this=exp.column("f_full"))
    else:
        t_ok, r_ok = exp.column("is_t"), exp.column("is_r")
        fn, ff = _min_ts(exp.column("is_n")) if ever else None, _min_ts(exp.column("is_t"))
    cols = [*group, *[_bit(r_ok, w).as_(f"rm{w}") for w in range(words)]]
    if not first:
        cols += [_bit(t_ok, w).as_(f"tm{w}") for w in range(words)]
        return select(*cols).from_(rows).group_by(*group)
    cols += [ff.as_("f_full")] + ([fn.as_("f_named")] if ever and fn is not None else [])
    per_value = select(*cols).from_(rows).group_by(*group).subquery("b")
    key = exp.column("f_full" if q.mode == "first_time" else "f_named")
    if bd is not None and bd.type == "event":
        order = exp.Order(expressions=[exp.Ordered(this=key.copy()), exp.Ordered(this=exp.column("bd"))])
        rn = exp.Window(this=exp.RowNumber(), partition_by=[exp.column("actor")], order=order)
        ranked = select(exp.Star(), rn.as_("rn")).from_(per_value).where(key.is_(exp.null()).not_())
        per_value = select(exp.Star()).from_(ranked.subquery("c")).where(
            exp.column("rn").eq(exp.Literal.number(1))).subquery("d")
    cohort = exp.column("f_full") if q.mode == "first_time" else exp.Case().when(
        exp.column("f_full").eq(exp.column("f_named")), exp.column("f_named")).else_(exp.null())
    p0 = period_index_sql(local_time(cohort, q.timezone), periods)
    out_cols = [*([exp.column("bd")] if bd else []), p0.as_("p0"), *[exp.column(f"rm{w}") for w in range(words)]]
    outer = select(*out_cols).from_(per_value)
    return select(exp.Star()).from_(outer.subquery("e")).where(exp.column("p0").is_(exp.null()).not_())


def _masks(table: pa.Table, prefix: str, words: int, n: int) -> np.ndarray:
    """Bitmask columns ``prefix0..`` as a bool matrix (rows x periods)."""
    out = np.zeros((table.num_rows, words * WORD), dtype=bool)
    for w in range(words):
        m = np.asarray(table.column(f"{prefix}{w}").fill_null(0).to_numpy(), dtype=np.int64)
        for b in range(WORD):
            out[:, w * WORD + b] = (m >> b) & 1
    return out[:, :n]


@register_query("retention", RetentionQuery, "Cohort retention table by hour, day, week or month.")
def run_retention(ws: Workspace, q: RetentionQuery) -> dict[str, Any]:
    """Run a retention query.

    Parameters
    ----------
    ws : Workspace
    q : RetentionQuery

    Returns
    -------
    dict
        ``{"kind": "retention", "row_dates": [...], "rows": [[...]]}`` or, with a breakdown,
        ``{"kind": "retention", "row_dates": [...], "breakdowns": {value: rows}}``.
    """
    tz = zone(q.timezone)
    dr = q.date_range or RetentionDateRange()
    periods = table_periods(q.period, q.total_intervals, dr.date_from, dr.date_to, tz, q.week_start)
    n = periods.n
    words = (n + WORD - 1) // WORD
    coded = CODED and not _person_join(q) and ensure_codes(ws.store)
    sel = retention_select(q, periods, has_identities(ws), coded=coded)
    table = ws.store.execute(coded_group_sql(ws, sel) if coded else sel)
    if q.breakdown is not None and table.num_rows:
        value, values = encode_codes([table.column("bd")])
        labels = [str(v[0]) for v in values]
    else:
        value, labels = np.zeros(table.num_rows, dtype=np.int64), [""]
    if q.mode == "recurring":
        if n <= WORD:
            tm = np.asarray(table.column("tm0").fill_null(0).to_numpy(), dtype=np.int64)
            rows, ci = np.nonzero(((tm[:, None] >> np.arange(n)) & 1).astype(bool))
        else:
            rows, ci = np.nonzero(_masks(table, "tm", words, n))
    else:
        rows = np.arange(table.num_rows)
        ci = np.asarray(table.column("p0").to_numpy(), dtype=np.int64)
    counts = _count(rows, ci, value, table, n, words, len(labels), q.cumulative)
    out: dict[str, Any] = {"kind": "retention", "row_dates": [d.isoformat() for d in periods.starts]}
    tables = {lab: [counts[v, i, : n - i].tolist() for i in range(n)] for v, lab in enumerate(labels)}
    if q.breakdown is None:
        out["rows"] = tables[""]
    else:
        out["breakdowns"] = {lab: t for lab, t in tables.items() if any(r[0] for r in t)}
    return out


def _count(rows: np.ndarray, ci: np.ndarray, value: np.ndarray, table: pa.Table, n: int, words: int,
           n_values: int, cumulative: bool) -> np.ndarray:
    """``out[v, i, j]``: size of cohort (value ``v``, period ``i``) for ``j = 0``, else its members returning
    in period ``i + j`` (or later, when ``cumulative``)."""
    out = np.zeros((n_values, n, n), dtype=np.int64)
    cell = value[rows] * n + ci
    out[:, :, 0] = np.bincount(cell, minlength=n_values * n).reshape(n_values, n)
    if len(rows) == 0 or n == 1:
        return out
    if n <= WORD:
        rm = np.asarray(table.column("rm0").fill_null(0).to_numpy(), dtype=np.int64)[rows]
        if cumulative:  # bit p set when a return happened in period p or later
            for b in range(n - 2, -1, -1):
                rm |= ((rm >> (b + 1)) & 1) << b
        if n <= SMALL_TABLE and (n_values * n) << n <= SMALL_CELLS:
            # count each (cell, returns relative to the cohort) pattern once, then expand the few patterns'
            # bits: one bincount instead of one pass over the actors per column
            rel = rm >> ci  # bit j: a return j periods after the cohort (rm has no bit beyond the table)
            patterns = np.bincount((cell << n) | rel, minlength=(n_values * n) << n).reshape(n_values * n, 1 << n)
            bit = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
            out[:, :, 1:] = (patterns @ bit)[:, 1:].reshape(n_values, n, n - 1)
            return out
        for j in range(1, n):
            ok = ci + j < n
            hit = ok & (((rm >> np.minimum(ci + j, WORD)) & 1) == 1)
            out[:, :, j] = np.bincount(cell[hit], minlength=n_values * n).reshape(n_values, n)
        return out
    back = _masks(table, "rm", words, n)
    if cumulative:
        back = np.logical_or.accumulate(back[:, ::-1], axis=1)[:, ::-1]
    for j in range(1, n):
        ok = np.flatnonzero(ci + j < n)
        hit = ok[back[rows[ok], ci[ok] + j]]
        out[:, :, j] = np.bincount(cell[hit], minlength=n_values * n).reshape(n_values, n)
    return out
