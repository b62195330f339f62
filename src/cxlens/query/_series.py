"""Shared parts of the time-series event kinds (trends, lifecycle, stickiness): the date range, the table of
calendar periods in a time zone, and the event condition of one series."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    all_of,
    event_source,
    filter_condition,
    from_to_aliases,
    match_condition,
    timestamp_literal,
    zone,
)
from cxlens.query.registry import QueryModel
from cxlens.query.retention_periods import Periods, local_time, table_periods
from cxlens.store.sql import Filter

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["EventEntity", "SeriesDateRange", "SeriesQuery", "bounds_condition", "entity_condition",
           "series_periods"]

_Strict = ConfigDict(extra="forbid", frozen=True)


class EventEntity(BaseModel):
    """An event name (``None``: any event) and filters on it."""

    model_config = _Strict
    event: str | None = None
    properties: list[Filter] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _name(cls, data: object) -> object:
        return {"event": data} if isinstance(data, str) or data is None else data


class SeriesDateRange(BaseModel):
    """Local wall-clock dates or times in the query's time zone (an offset makes them instants). A missing
    bound defaults to the first / last matching event."""

    model_config = _Strict
    date_from: str | datetime | date | None = None
    date_to: str | datetime | date | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_to(cls, data: object) -> object:
        return from_to_aliases(data)


class SeriesQuery(QueryModel):
    """Fields shared by the time-series kinds: calendar periods of ``interval`` in ``timezone``."""

    interval: Literal["hour", "day", "week", "month"] = "day"
    date_range: SeriesDateRange | None = None
    timezone: str = "UTC"
    week_start: Literal["sunday", "monday"] = "sunday"
    global_properties: list[Filter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _zone(self) -> SeriesQuery:
        zone(self.timezone)
        return self


def entity_condition(entity: EventEntity, global_properties: list[Filter]) -> exp.Expression:
    """The condition selecting the events of one series.

    Parameters
    ----------
    entity : EventEntity
    global_properties : list of Filter
        Filters applied to every series.

    Returns
    -------
    sqlglot.exp.Expression
    """
    return all_of([match_condition(entity.event, entity.properties),
                   *[filter_condition(f) for f in global_properties]])


def series_periods(ws: Workspace, period: str, dr: SeriesDateRange | None, tz: str, week_start: str,
                   cond: exp.Expression, with_person: bool, identities: bool) -> Periods | None:
    """The calendar periods of a time series.

    Parameters
    ----------
    ws : Workspace
    period : {"hour", "day", "week", "month"}
    dr : SeriesDateRange or None
    tz : str
        IANA name.
    week_start : {"sunday", "monday"}
    cond : sqlglot.exp.Expression
        Condition of the matching events (for the default bounds).
    with_person, identities : bool
        How to build the event source (see :func:`cxlens.query._events.event_source`).

    Returns
    -------
    Periods or None
        ``None`` when a bound is missing and no event matches.
    """
    from zoneinfo import ZoneInfo

    dr = dr or SeriesDateRange()
    lo, hi = dr.date_from, dr.date_to
    if lo is None or hi is None:
        lt = local_time(exp.column("timestamp"), tz)
        q = select(exp.Min(this=lt).as_("lo"), exp.Max(this=lt.copy()).as_("hi")).from_(
            event_source(with_person, identities).subquery("ev")).where(cond)
        row = ws.store.execute(q).to_pylist()[0]
        if row["lo"] is None:
            return None
        lo = row["lo"] if lo is None else lo
        hi = row["hi"] if hi is None else hi
    return table_periods(period, 1, lo, hi, ZoneInfo(tz), week_start)


def bounds_condition(periods: Periods, tz: str) -> exp.Expression:
    """Local time inside the periods of the table.

    Parameters
    ----------
    periods : Periods
    tz : str

    Returns
    -------
    sqlglot.exp.Expression
    """
    lt = local_time(exp.column("timestamp"), tz)
    return exp.Between(this=lt, low=timestamp_literal(periods.starts[0]), high=timestamp_literal(periods.last))
