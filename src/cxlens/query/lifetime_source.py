"""SQL layer of the customer-lifetime query kinds: the per-customer summaries computed in the database.

Every lifetime kind (``clv``, ``churn``, ``customer_retention``, ``cohorts``, ``rfm``) reads ``transactions``
through the functions here, built with sqlglot expressions so another store renders them in its dialect:

* :func:`customer_expr` - who a transaction belongs to: the person of its ``distinct_id`` (or the distinct id
  itself when it belongs to no person), or any column / property (e.g. CDNOW's ``sample_id``);
* :func:`rft_summary` - the (frequency, recency, T, monetary value) summary of BG/NBD, Pareto/NBD and
  Gamma-Gamma, with the hold-out columns, in **one query**: purchases are first collapsed to daily purchase
  occasions (``GROUP BY customer, day``), then one ``GROUP BY customer`` with conditional aggregates computes
  first and last calibration day, calibration purchase days, calibration spend, first-day spend
  (``ARG_MIN``), hold-out purchase days and hold-out spend. The conventions are those of
  :func:`cxlens.lifetime.rfm_summary` (and of the published CDNOW summary), which the tests check;
* :func:`opportunity_summary` - discrete-time histories (x, t_x, n) for BG/BB, one row per customer;
* :func:`daily_occasions` - (customer, day, amount) purchase occasions for the retention and cohort tables.

Only per-customer (or per customer-day) aggregates leave the database.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.store.sql import Filter, field, filter_expr

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = [
    "UNIT_DAYS",
    "TransactionSource",
    "activity_source",
    "customer_expr",
    "daily_occasions",
    "date_days",
    "day_literal",
    "has_identities",
    "opportunity_summary",
    "parse_day",
    "rft_summary",
    "rft_summary_select",
    "transaction_bounds",
]

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375, "quarter": 91.3125, "year": 365.25}
"""Days per time unit (a month is a mean Gregorian month)."""

_EPOCH = date(1970, 1, 1)


class TransactionSource(BaseModel):
    """Which transactions a lifetime query reads and who they belong to (fields shared by the kinds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: str | None = Field(None, description="column or property naming the customer; default: the "
                                                   "person of distinct_id (or distinct_id without persons)")
    filters: list[Filter] = Field(default_factory=list, description="filters on transactions")


def parse_day(value: str | date | None, name: str) -> date | None:
    """A calendar day from an ISO date (a time part is ignored).

    Parameters
    ----------
    value : str, date or None
        ``"1997-09-30"`` or a date.
    name : str
        Query field, for the error message.

    Returns
    -------
    date or None
    """
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QueryError(f"{name}: expected an ISO date such as 1997-09-30, got {value!r}") from None


def day_literal(d: date) -> exp.Expression:
    """A DATE literal."""
    return exp.cast(exp.Literal.string(d.isoformat()), "DATE")


def date_days(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A DATE column as float64 days since 1970-01-01 (nulls become NaN)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.date32())
    if not pa.types.is_date32(arr.type):
        arr = arr.cast(pa.date32())
    ints = arr.cast(pa.int32())
    out = np.asarray(ints.fill_null(0), dtype=np.float64)
    if ints.null_count:
        out[np.asarray(ints.is_null())] = np.nan
    return out


def has_identities(ws: Workspace) -> bool:
    """Whether any distinct id is mapped to a person (otherwise the identity join is skipped)."""
    return ws.store.count("person_distinct_ids") > 0


def customer_expr(src: TransactionSource, identities: bool, table: str = "transactions") -> exp.Expression:
    """The customer of a row of ``table`` (``t`` alias; ``d`` is the identity map when joined)."""
    if src.customer is not None:
        return exp.cast(_qualify(field(table, src.customer), "t"), exp.DataType.build("VARCHAR"))
    if identities:
        return exp.func("COALESCE", exp.column("person_id", "d"), exp.column("distinct_id", "t"))
    return exp.column("distinct_id", "t")


def _qualify(e: exp.Expression, alias: str) -> exp.Expression:
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return exp.column(node.name, alias)
        return node

    return e.transform(fix)


def activity_source(src: TransactionSource, identities: bool, extra: list[exp.Expression],
                    table: str = "transactions") -> exp.Select:
    """``table t`` (with the identity map when needed) selecting ``customer``, ``ts`` (and ``amount``).

    Parameters
    ----------
    src : TransactionSource
        Customer column and filters (on ``table``).
    identities : bool
        Whether the identity map has rows (then customers are persons).
    extra : list of sqlglot.exp.Expression
        More WHERE conditions.
    table : {"transactions", "events"}
        The activity table; ``amount`` is selected from transactions only.

    Returns
    -------
    sqlglot.exp.Select
    """
    use_map = identities and src.customer is None
    cols = [customer_expr(src, use_map, table).as_("customer"), exp.column("timestamp", "t").as_("ts")]
    if table == "transactions":
        cols.append(exp.column("amount", "t").as_("amount"))
    sel = select(*cols).from_(exp.table_(table, alias="t"))
    if use_map:
        sel = sel.join(exp.table_("person_distinct_ids", alias="d"),
                       on=exp.column("distinct_id", "d").eq(exp.column("distinct_id", "t")), join_type="left")
    for f in src.filters:
        sel = sel.where(exp.paren(_qualify(filter_expr(table, f), "t")))
    for cond in extra:
        sel = sel.where(cond)
    return sel


def _occasions(src: TransactionSource, identities: bool, until: date | None) -> exp.Select:
    """Daily purchase occasions: ``customer, day, amount`` (amounts of one day summed)."""
    base = activity_source(src, identities, [])
    day = exp.cast(exp.column("ts"), "DATE")
    sel = select(exp.column("customer"), day.as_("day"), exp.Sum(this=exp.column("amount")).as_("amount")) \
        .from_(base.subquery("s")).where(exp.not_(exp.column("customer").is_(exp.null())))
    if until is not None:
        sel = sel.where(exp.LTE(this=day, expression=day_literal(until)))
    return sel.group_by(exp.column("customer"), day)


def transaction_bounds(ws: Workspace, src: TransactionSource) -> tuple[date, date, int]:
    """First and last transaction day and the number of transactions the source selects.

    Raises
    ------
    QueryError
        When no transaction matches (the message says so, instead of an empty result).
    """
    base = activity_source(src, has_identities(ws), [])
    day = exp.cast(exp.column("ts"), "DATE")
    row = ws.store.execute(select(exp.Min(this=day).as_("lo"), exp.Max(this=day).as_("hi"),
                                  exp.Count(this=exp.Star()).as_("n")).from_(base.subquery("s"))).to_pylist()[0]
    if not row["n"]:
        raise QueryError("no transactions match: import purchases into the transactions table first "
                         "(e.g. `cxlens import transactions CDNOW_master.txt`)" +
                         (" or relax the filters" if src.filters else ""))
    return row["lo"], row["hi"], int(row["n"])


def _if(cond: exp.Expression, true: exp.Expression, false: exp.Expression | None = None) -> exp.Expression:
    return exp.If(this=cond, true=true, false=false) if false is not None else exp.If(this=cond, true=true)


def rft_summary_select(src: TransactionSource, identities: bool, calibration_end: date,
                       observation_end: date | None) -> exp.Select:
    """The one query behind :func:`rft_summary` (dialect-neutral sqlglot; see the module docstring).

    Parameters
    ----------
    src : TransactionSource
    identities : bool
        Whether customers are resolved through the identity map.
    calibration_end, observation_end : date
        Last calibration day and last hold-out day (``None``: no hold-out columns).

    Returns
    -------
    sqlglot.exp.Select
        Columns ``customer``, ``first_day``, ``last_day``, ``n_days``, ``spend``, ``first_amount`` and, with
        ``observation_end``, ``n_hold`` and ``spend_hold``.
    """
    cal = day_literal(calibration_end)
    day, amt = exp.column("day"), exp.column("amount")
    in_cal = exp.LTE(this=day, expression=cal)
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    aggs = [
        exp.column("customer"),
        exp.Min(this=day).as_("first_day"),
        exp.Max(this=_if(in_cal, day)).as_("last_day"),
        exp.Sum(this=_if(in_cal, one, zero)).as_("n_days"),
        exp.Sum(this=_if(in_cal, amt)).as_("spend"),
        exp.ArgMin(this=amt, expression=day).as_("first_amount"),
    ]
    if observation_end is not None:
        aggs += [exp.Sum(this=_if(exp.not_(in_cal), one, zero)).as_("n_hold"),
                 exp.Sum(this=_if(exp.not_(in_cal), amt)).as_("spend_hold")]
    return select(*aggs).from_(_occasions(src, identities, observation_end or calibration_end).subquery("o")) \
        .group_by(exp.column("customer")).having(exp.LTE(this=exp.Min(this=day), expression=cal)) \
        .order_by(exp.column("customer"))


def rft_summary(ws: Workspace, src: TransactionSource, calibration_end: date, observation_end: date | None,
                time_unit: str) -> dict[str, np.ndarray]:
    """Per-customer BG/NBD inputs and hold-out counts, computed in one SQL query.

    Parameters
    ----------
    ws : Workspace
    src : TransactionSource
    calibration_end : date
        Last calibration day (inclusive).
    observation_end : date or None
        Last hold-out day (inclusive); ``None``: no hold-out columns.
    time_unit : {"day", "week"}
        Unit of recency and T (days, or days / 7).

    Returns
    -------
    dict of numpy.ndarray
        ``customer`` (object), ``frequency``, ``recency``, ``T``, ``monetary_value`` (mean spend of the repeat
        purchase days, 0 without), ``total_spend`` (calibration), ``first_day`` (days since epoch) and, with
        ``observation_end``, ``frequency_holdout``, ``monetary_value_holdout`` and ``duration_holdout``; sorted
        by customer.
    """
    unit = UNIT_DAYS[time_unit]
    sel = rft_summary_select(src, has_identities(ws), calibration_end, observation_end)
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        raise QueryError(f"no customer made a first purchase on or before calibration_end "
                         f"{calibration_end.isoformat()}")
    first = date_days(t.column("first_day"))
    last = date_days(t.column("last_day"))
    n = np.asarray(t.column("n_days").cast(pa.float64()), dtype=np.float64)
    spend = np.asarray(t.column("spend").cast(pa.float64()).fill_null(0.0), dtype=np.float64)
    first_amount = np.asarray(t.column("first_amount").cast(pa.float64()).fill_null(0.0), dtype=np.float64)
    cal_day = float((calibration_end - _EPOCH).days)
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(n > 1, (spend - first_amount) / np.maximum(n - 1, 1), 0.0)
    out = {
        "customer": np.asarray(t.column("customer").to_pylist(), dtype=object),
        "frequency": n - 1,
        "recency": (last - first) / unit,
        "T": (cal_day - first) / unit,
        "monetary_value": zbar,
        "total_spend": spend,
        "first_day": first,
    }
    if observation_end is not None:
        nh = np.asarray(t.column("n_hold").cast(pa.float64()), dtype=np.float64)
        sh = np.asarray(t.column("spend_hold").cast(pa.float64()).fill_null(0.0), dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value_holdout"] = np.where(nh > 0, sh / np.maximum(nh, 1), 0.0)
        out["frequency_holdout"] = nh
        out["duration_holdout"] = np.full(n.size, (observation_end - calibration_end).days / unit)
    return out


def opportunity_summary(ws: Workspace, src: TransactionSource, period: str, calibration_end: date,
                        opportunities: int | None) -> dict[str, np.ndarray]:
    """Discrete-time histories for BG/BB: per customer ``x`` repeat periods, ``t_x`` and ``n`` opportunities.

    The period of a customer's first purchase is the trial; each later calendar period up to the one holding
    ``calibration_end`` (capped at ``opportunities`` periods after the trial) is one opportunity; ``x`` counts
    the opportunities with a purchase, ``t_x`` is the opportunity of the last one (0 if none).

    Parameters
    ----------
    ws : Workspace
    src : TransactionSource
    period : {"day", "week", "month", "quarter", "year"}
        Length of one opportunity (calendar periods; weeks start on Monday).
    calibration_end : date
        Last day used; its period is the last opportunity.
    opportunities : int or None
        Cap on the number of opportunities per customer.

    Returns
    -------
    dict of numpy.ndarray
        ``customer``, ``frequency`` (x), ``recency`` (t_x), ``periods`` (n), ``spend`` (total spend of the
        repeat periods), sorted by customer.
    """
    unit = exp.var(period.upper())
    trunc = exp.DateTrunc(unit=exp.Literal.string(period.upper()), this=exp.column("day"))
    occ = _occasions(src, has_identities(ws), calibration_end)
    per = select(exp.column("customer"), exp.cast(trunc, "DATE").as_("p"),
                 exp.Sum(this=exp.column("amount")).as_("amount")) \
        .from_(occ.subquery("o")).group_by(exp.column("customer"), exp.cast(trunc, "DATE"))
    first = exp.Window(this=exp.Min(this=exp.column("p")), partition_by=[exp.column("customer")])
    win = select(exp.column("customer"), exp.column("p"), exp.column("amount"), first.as_("f")) \
        .from_(per.subquery("q"))
    k = exp.DateDiff(this=exp.column("p"), expression=exp.column("f"), unit=unit)
    end_p = exp.cast(exp.DateTrunc(unit=exp.Literal.string(period.upper()), this=day_literal(calibration_end)),
                     "DATE")
    n_expr = exp.DateDiff(this=end_p, expression=exp.column("f"), unit=unit)
    sel = select(exp.column("customer"), exp.Max(this=n_expr).as_("n_all"),
                 exp.Max(this=k).as_("t_x"), exp.Count(this=exp.Star()).as_("count"),
                 exp.Sum(this=exp.If(this=exp.GT(this=k, expression=exp.Literal.number(0)),
                                     true=exp.column("amount"))).as_("spend")) \
        .from_(win.subquery("w"))
    if opportunities is not None:
        sel = sel.where(exp.LTE(this=k, expression=exp.Literal.number(int(opportunities))))
    sel = sel.group_by(exp.column("customer")).order_by(exp.column("customer"))
    t = ws.store.execute(sel)
    if t.num_rows == 0:
        raise QueryError(f"no purchases on or before calibration_end {calibration_end.isoformat()}")
    n_all = np.asarray(t.column("n_all").cast(pa.float64()), dtype=np.float64)
    n = n_all if opportunities is None else np.minimum(n_all, float(opportunities))
    return {
        "customer": np.asarray(t.column("customer").to_pylist(), dtype=object),
        "frequency": np.asarray(t.column("count").cast(pa.float64()), dtype=np.float64) - 1,
        "recency": np.asarray(t.column("t_x").cast(pa.float64()), dtype=np.float64),
        "periods": n,
        "spend": np.asarray(t.column("spend").cast(pa.float64()).fill_null(0.0), dtype=np.float64),
    }


def daily_occasions(ws: Workspace, src: TransactionSource, until: date | None = None) -> dict[str, Any]:
    """Purchase occasions (customer, day, amount summed over the day), for retention and cohort tables.

    Returns
    -------
    dict
        ``customer`` (object array), ``day`` (datetime64[D]) and ``amount`` (float64).
    """
    t = ws.store.execute(_occasions(src, has_identities(ws), until))
    if t.num_rows == 0:
        raise QueryError("no transactions match: import purchases into the transactions table first")
    days = date_days(t.column("day")).astype(np.int64).astype("datetime64[D]")
    return {
        "customer": np.asarray(t.column("customer").to_pylist(), dtype=object),
        "day": days,
        "amount": np.asarray(t.column("amount").cast(pa.float64()).fill_null(0.0), dtype=np.float64),
    }
