"""Query kind ``conversion``: the share of rows with a true boolean column, with an interval, by group.

``{"kind": "conversion", "table": "sessions", "column": "converted", "by": ["VisitorType"]}``

Works on any table and any boolean column or property (``true``/``1`` count as converted, ``false``/``0`` as
not, missing values are left out of the denominator). One GROUP BY in the database; the interval comes from
:func:`cxlens.stats.proportion_ci` (adjusted Wald by default). Rows are ordered by group size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from sqlglot import exp, select

from cxlens.query.count import DateRange, TableName, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats import ProportionStat, proportion_ci
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["ConversionQuery", "conversion_select", "run_conversion"]


class ConversionQuery(QueryModel):
    """Conversion rate of a boolean column (see the module docstring)."""

    kind: Literal["conversion"] = "conversion"
    table: TableName = "sessions"
    column: str = "converted"
    by: list[str] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    confidence: float = Field(0.95, gt=0, lt=1)
    method: Literal["adjusted-wald", "wilson", "exact", "wald"] = "adjusted-wald"



def conversion_select(q: ConversionQuery) -> exp.Select:
    """``g0.., n, successes`` per group.

    Parameters
    ----------
    q : ConversionQuery

    Returns
    -------
    sqlglot.exp.Select
    """
    text = exp.Lower(this=exp.cast(field(q.table, q.column), exp.DataType.build("VARCHAR")))
    yes = text.isin(exp.Literal.string("true"), exp.Literal.string("1"))
    known = exp.or_(yes.copy(), text.copy().isin(exp.Literal.string("false"), exp.Literal.string("0")))
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    cols = [field(q.table, b).as_(f"g{i}") for i, b in enumerate(q.by)]
    sel = select(*cols, exp.Sum(this=exp.Case().when(known, one).else_(zero)).as_("n"),
                 exp.Sum(this=exp.Case().when(yes, one.copy()).else_(zero.copy())).as_("successes"),
                 exp.Count(this=exp.Star()).as_("rows")).from_(exp.table_(q.table))
    for cond in where(q.table, q.filters, q.date_range):
        sel = sel.where(cond)
    if cols:
        sel = sel.group_by(*[exp.column(f"g{i}") for i in range(len(cols))])
    return sel


@register_query("conversion", ConversionQuery, "Conversion rate of a boolean column with an interval, by group.")
def run_conversion(ws: Workspace, q: ConversionQuery) -> dict[str, Any]:
    """Run a conversion query.

    Parameters
    ----------
    ws : Workspace
    q : ConversionQuery

    Returns
    -------
    dict
        ``{"kind": "conversion", "table", "column", "rows": [{<by>..., "n", "successes", "missing", "rate":
        StatResult dict}]}``.
    """
    rows = ws.store.execute(conversion_select(q)).to_pylist()
    out = []
    for r in sorted(rows, key=lambda r: (-(r["rows"] or 0), *[str(r[f"g{i}"]) for i in range(len(q.by))])):
        n, s = int(r["n"] or 0), int(r["successes"] or 0)
        if r["rows"] == 0:
            continue
        res = proportion_ci(ProportionStat(n, s), q.confidence, q.method, metric="conversion_rate")
        out.append({**{b: r[f"g{i}"] for i, b in enumerate(q.by)}, "n": n, "successes": s,
                    "missing": int(r["rows"]) - n, "rate": res.to_dict()})
    return {"kind": "conversion", "table": q.table, "column": q.column, "by": list(q.by), "rows": out}
