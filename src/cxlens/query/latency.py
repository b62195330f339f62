"""Query kind ``latency``: percentiles of a numeric event property (page load time) by page, with intervals.

``{"kind": "latency", "event": "$pageview", "property": "load_ms", "by": ["$pathname"],
"percentiles": [50, 75, 95, 99]}``

Values that are not numbers are left out. Each group reports ``n``, mean and every requested percentile as a
:class:`~cxlens.stats.StatResult` dict with its distribution-free order-statistic interval
(:func:`cxlens.stats.latency.percentile_ci`; small groups get a coverage warning). Groups are ordered by
``n``, the ``limit`` largest kept. The database filters, groups and sorts; numpy picks the order statistics.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    all_of,
    as_text,
    event_source,
    filter_condition,
    has_identities,
    instant_bounds,
    match_condition,
    needs_person,
    zone,
)
from cxlens.query._series import EventEntity
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats.latency import percentile_ci
from cxlens.store.sql import Filter, field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["LatencyQuery", "latency_select", "run_latency"]


class LatencyDateRange(BaseModel):
    """Inclusive instants; a bare date means its whole day."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str | datetime | date | None = Field(None, alias="from")
    to: str | datetime | date | None = None


class LatencyQuery(QueryModel):
    """Latency percentiles (see the module docstring)."""

    kind: Literal["latency"] = "latency"
    event: EventEntity = Field(default_factory=lambda: EventEntity(event="$pageview"))
    property: str
    by: list[str] = Field(default_factory=list, description="event properties to group by, e.g. the page")
    percentiles: list[float] = Field(default_factory=lambda: [50.0, 75.0, 95.0, 99.0], min_length=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    date_range: LatencyDateRange | None = None
    timezone: str = "UTC"
    global_properties: list[Filter] = Field(default_factory=list)
    limit: int = Field(50, ge=1)

    @field_validator("percentiles")
    @classmethod
    def _range(cls, v: list[float]) -> list[float]:
        bad = [p for p in v if not 0 < p < 100]
        if bad:
            raise ValueError(f"percentiles must lie strictly between 0 and 100, got {bad}")
        return v

    @model_validator(mode="after")
    def _zone(self) -> LatencyQuery:
        zone(self.timezone)
        return self


def latency_select(q: LatencyQuery, identities: bool) -> exp.Select:
    """``g0.., v`` sorted by group then value (numeric values only).

    Parameters
    ----------
    q : LatencyQuery
    identities : bool

    Returns
    -------
    sqlglot.exp.Select
    """
    filters = [*q.event.properties, *q.global_properties]
    src = event_source(needs_person(filters), identities).subquery("ev")
    v = exp.TryCast(this=exp.cast(field("events", q.property), exp.DataType.build("VARCHAR")),
                    to=exp.DataType.build("DOUBLE"))
    conds = [match_condition(q.event.event, q.event.properties), *[filter_condition(f) for f in q.global_properties]]
    conds += instant_bounds(q.date_range, zone(q.timezone))
    cols = [as_text("event", b).as_(f"g{i}") for i, b in enumerate(q.by)]
    inner = select(*cols, v.as_("v")).from_(src).where(all_of(conds)).subquery("x")
    order = [exp.column(f"g{i}") for i in range(len(q.by))] + [exp.column("v")]
    return select(exp.Star()).from_(inner).where(exp.column("v").is_(exp.null()).not_()).order_by(*order)


@register_query("latency", LatencyQuery, "Percentiles (p50/p75/p95/p99) of a numeric event property, by page.")
def run_latency(ws: Workspace, q: LatencyQuery) -> dict[str, Any]:
    """Run a latency query.

    Parameters
    ----------
    ws : Workspace
    q : LatencyQuery

    Returns
    -------
    dict
        ``{"kind": "latency", "property", "rows": [{<by>..., "n", "mean", "p50": StatResult dict, ...}],
        "other_groups"}``.
    """
    table = ws.store.execute(latency_select(q, has_identities(ws)))
    size = table.num_rows
    values = np.asarray(table.column("v").to_numpy(zero_copy_only=False), dtype=np.float64) if size else np.zeros(0)
    keys = [table.column(f"g{i}").to_pylist() for i in range(len(q.by))]
    change = np.ones(size, dtype=bool)  # first row of each group (rows are sorted by group)
    if q.by and size > 1:
        same = np.ones(size - 1, dtype=bool)
        for k in keys:
            arr = np.asarray(k, dtype=object)
            same &= arr[1:] == arr[:-1]
        change[1:] = ~same
    elif size > 1:
        change[1:] = False
    starts = np.flatnonzero(change) if size else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], size]
    order = np.argsort(-(ends - starts), kind="stable")
    rows = []
    for gi in order[: q.limit]:
        a, b = int(starts[gi]), int(ends[gi])
        x = values[a:b]
        row: dict[str, Any] = {name: keys[i][a] for i, name in enumerate(q.by)}
        row["n"] = b - a
        row["mean"] = float(x.mean())
        for p in q.percentiles:
            row[f"p{p:g}"] = percentile_ci(x, p, q.confidence).to_dict()
        rows.append(row)
    return {"kind": "latency", "property": q.property, "rows": rows,
            "other_groups": max(0, len(starts) - q.limit)}
