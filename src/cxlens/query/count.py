"""Query kind ``count``: rows of any table, optionally grouped and filtered.

``{"kind": "count", "table": "events", "by": ["event"], "filters": [...], "date_range": {...}}``
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query.registry import QueryModel, register_query
from cxlens.schema.tables import KINDS, TABLES
from cxlens.store.sql import Filter, field, filter_expr, time_column

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["CountQuery", "DateRange", "TableName"]


def _known_table(v: str) -> str:
    if v not in TABLES:
        raise ValueError(f"unknown table {v!r}; tables: {', '.join(KINDS)}")
    return v


#: A canonical table name, validated (the error lists the tables).
TableName = Annotated[str, AfterValidator(_known_table)]


class DateRange(BaseModel):
    """Inclusive instants (ISO-8601); either end may be omitted."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None


class CountQuery(QueryModel):
    """Count rows of ``table``, grouped by columns or properties."""

    kind: str = "count"
    table: TableName = "events"
    by: list[str] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    limit: int | None = Field(None, ge=1, le=1_000_000)



def where(table: str, filters: list[Filter], date_range: DateRange | None) -> list[exp.Expression]:
    """WHERE conditions shared by the simple query kinds."""
    conds = [filter_expr(table, f) for f in filters]
    if date_range and (date_range.from_ or date_range.to):
        tcol = time_column(table)
        if tcol is None:
            raise QueryError(f"{table} has no time column to apply date_range to")
        for bound, op in ((date_range.from_, exp.GTE), (date_range.to, exp.LTE)):
            if bound is not None:
                naive = bound if bound.tzinfo is None else bound.astimezone(UTC).replace(tzinfo=None)
                lit = exp.cast(exp.Literal.string(naive.isoformat(sep=" ")), "TIMESTAMP")
                conds.append(op(this=exp.column(tcol), expression=lit))
    return conds


@register_query("count", CountQuery, "Rows of a table, grouped by columns or properties.")
def run_count(ws: Workspace, q: CountQuery) -> dict[str, Any]:
    cols = [field(q.table, b).as_(f"g{i}") for i, b in enumerate(q.by)]
    sel = select(*cols, exp.Count(this=exp.Star()).as_("count")).from_(exp.table_(q.table))
    for cond in where(q.table, q.filters, q.date_range):
        sel = sel.where(cond)
    if cols:
        sel = sel.group_by(*[exp.column(f"g{i}") for i in range(len(cols))])
        sel = sel.order_by(exp.Ordered(this=exp.column("count"), desc=True),
                           *[exp.column(f"g{i}") for i in range(len(cols))])
    if q.limit:
        sel = sel.limit(q.limit)
    result = ws.store.execute(sel)
    rows = result.to_pylist()
    out_rows = [{**{b: r[f"g{i}"] for i, b in enumerate(q.by)}, "count": r["count"]} for r in rows]
    return {
        "kind": "count",
        "table": q.table,
        "by": list(q.by),
        "rows": out_rows,
        "total": sum(r["count"] for r in rows),
    }
