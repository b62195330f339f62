"""Dialect-neutral SQL building blocks (sqlglot expressions).

Query kinds build their SQL only from these helpers and sqlglot's builder; the store renders the expression
in its own dialect. Property access, time truncation and string comparison semantics live here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from cxlens.errors import QueryError
from cxlens.schema.tables import TABLES

__all__ = ["TIME_COLUMNS", "Filter", "field", "filter_expr", "literal", "time_column"]

TIME_COLUMNS = {
    "events": "timestamp", "responses": "timestamp", "tickets": "opened_at", "reviews": "timestamp",
    "transactions": "timestamp", "sessions": "started_at", "tasks": "timestamp", "persons": "created_at",
    "accounts": "created_at",
}

Operator = Literal["exact", "is_not", "icontains", "not_icontains", "is_set", "is_not_set",
                   "gt", "gte", "lt", "lte"]


class Filter(BaseModel):
    """A filter on a column or property: values compare as strings (``true``/``false`` for booleans),
    except ``gt``/``gte``/``lt``/``lte`` which compare numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    operator: Operator = "exact"
    value: Any = None
    type: Literal["event", "person"] = Field("event", description="where the key lives")


def time_column(table: str) -> str | None:
    """The column that places a row of ``table`` in time."""
    return TIME_COLUMNS.get(table)


def literal(v: Any) -> exp.Expression:
    """A SQL literal for a Python value (strings for everything but numbers)."""
    if v is None:
        return exp.null()
    if isinstance(v, bool):
        return exp.Literal.string("true" if v else "false")
    if isinstance(v, (int, float)):
        return exp.Literal.number(v)
    return exp.Literal.string(str(v))


def field(table: str, name: str) -> exp.Expression:
    """A typed column of ``table``, or ``properties.<key>`` / a bare unknown name as a JSON property."""
    cols = TABLES[table].column_names
    if name in cols:
        return exp.column(name)
    key = name.removeprefix("properties.")
    segments = key.split(".")
    if not key or "'" in key or not all(segments):
        raise QueryError(f"invalid property name {name!r}")
    if "properties" not in cols:
        raise QueryError(f"{table} has no column {name!r}; columns: {', '.join(cols)}")
    # each dot-separated segment is a quoted JSON-path key, so that names such as "$browser" or "[G" stay keys
    # instead of path syntax (an unquoted "[G" was a DuckDB binder error, i.e. a 500 in the API)
    path = "$." + ".".join('"' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"' for seg in segments)
    return exp.JSONExtractScalar(this=exp.column("properties"), expression=exp.Literal.string(path))


def _as_text(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("VARCHAR"))


def filter_expr(table: str, f: Filter) -> exp.Expression:
    """The WHERE condition of one filter."""
    col = field(table, f.key)
    text = _as_text(col)
    values: Sequence[Any] = f.value if isinstance(f.value, list) else [f.value]
    if f.operator == "exact":
        return text.isin(*[literal(v if isinstance(v, str) else _str(v)) for v in values])
    if f.operator == "is_not":
        return exp.or_(col.is_(exp.null()),
                       exp.not_(text.isin(*[literal(v if isinstance(v, str) else _str(v)) for v in values])))
    if f.operator in ("icontains", "not_icontains"):
        cond = exp.ILike(this=text, expression=literal(f"%{f.value}%"))
        return cond if f.operator == "icontains" else exp.or_(col.is_(exp.null()), exp.not_(cond))
    if f.operator == "is_set":
        return exp.not_(col.is_(exp.null()))
    if f.operator == "is_not_set":
        return col.is_(exp.null())
    num = exp.TryCast(this=text, to=exp.DataType.build("DOUBLE"))
    ops = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}
    return ops[f.operator](this=num, expression=literal(_number(f)))


def _number(f: Filter) -> float:
    """The numeric value of a gt/gte/lt/lte filter, or a QueryError that names the filter."""
    v = f.value
    try:
        if isinstance(v, bool):
            raise TypeError
        x = float(v)
    except (TypeError, ValueError):
        raise QueryError(f"filter on {f.key!r}: operator {f.operator!r} compares numbers; got {v!r}",
                         field="filters", value=v) from None
    if x != x or x in (float("inf"), float("-inf")):
        raise QueryError(f"filter on {f.key!r}: {v!r} is not a finite number", field="filters", value=v)
    return x


def _str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
