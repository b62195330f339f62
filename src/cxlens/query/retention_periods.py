"""Calendar periods of a retention table: local wall-clock boundaries in a time zone and period indexes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlglot import exp

from cxlens.errors import QueryError
from cxlens.query._events import parse_instant, timestamp_literal

__all__ = ["Periods", "local_datetime", "local_time", "period_index_sql", "period_start", "shift", "table_periods"]

_EPOCH = datetime(1970, 1, 1)


def local_datetime(value: str | datetime | date | None, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """A user date as naive wall-clock time in ``tz``.

    Parameters
    ----------
    value : str, datetime, date or None
        ``None`` means now; a bare date its start (or its last microsecond when ``end``); a value with an
        offset is converted to ``tz``.
    tz : ZoneInfo
    end : bool

    Returns
    -------
    datetime
    """
    if value is None:
        return datetime.now(UTC).astimezone(tz).replace(tzinfo=None)
    if isinstance(value, datetime):
        return value if value.tzinfo is None else value.astimezone(tz).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time.max if end else time.min)
    utc = parse_instant(value, tz, end=end)
    assert utc is not None
    return utc.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def period_start(d: datetime, period: str, week_start: str) -> datetime:
    """Start of the calendar period holding wall-clock time ``d``.

    Parameters
    ----------
    d : datetime
    period : {"hour", "day", "week", "month"}
    week_start : {"sunday", "monday"}

    Returns
    -------
    datetime
    """
    if period == "hour":
        return d.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(d.date(), time.min)
    if period == "day":
        return day
    if period == "week":
        back = d.weekday() if week_start == "monday" else (d.weekday() + 1) % 7
        return day - timedelta(days=back)
    return day.replace(day=1)


def shift(d: datetime, period: str, k: int) -> datetime:
    """A period start moved by ``k`` periods.

    Parameters
    ----------
    d : datetime
    period : {"hour", "day", "week", "month"}
    k : int

    Returns
    -------
    datetime
    """
    if period == "hour":
        return d + timedelta(hours=k)
    if period == "day":
        return d + timedelta(days=k)
    if period == "week":
        return d + timedelta(weeks=k)
    months = d.year * 12 + d.month - 1 + k
    return d.replace(year=months // 12, month=months % 12 + 1)


def _us(d: datetime) -> int:
    return (d - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Periods:
    """The table's periods: ``starts[i]`` is the local start of row ``i``; events count up to ``last``."""

    period: str
    starts: list[datetime]
    last: datetime

    @property
    def n(self) -> int:
        return len(self.starts)

    def index(self, local_us: np.ndarray) -> np.ndarray:
        """Period index of local wall-clock times.

        Parameters
        ----------
        local_us : numpy.ndarray
            Microseconds since 1970-01-01 of naive local times.

        Returns
        -------
        numpy.ndarray
            Row index, ``-1`` outside the table.
        """
        lo, hi = _us(self.starts[0]), _us(self.last)
        if self.period == "month":
            months = local_us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
            first = self.starts[0].year * 12 + self.starts[0].month - 1 - 1970 * 12
            idx = months - first
        else:
            unit = {"hour": 3_600, "day": 86_400, "week": 7 * 86_400}[self.period] * 1_000_000
            idx = (local_us - lo) // unit
        ok = (local_us >= lo) & (local_us <= hi) & (idx >= 0) & (idx < self.n)
        return np.where(ok, idx, -1)


def table_periods(period: str, total: int, date_from: str | datetime | date | None,
                  date_to: str | datetime | date | None, tz: ZoneInfo, week_start: str) -> Periods:
    """The rows of a retention table.

    Parameters
    ----------
    period : {"hour", "day", "week", "month"}
    total : int
        Number of rows when ``date_from`` is not given.
    date_from, date_to : str, datetime, date or None
        Local wall-clock bounds; ``date_to`` (default now) is widened to the end of its day for day, week
        and month periods.
    tz : ZoneInfo
    week_start : {"sunday", "monday"}

    Returns
    -------
    Periods
        From ``date_from``'s period (or ``total`` periods back) to ``date_to``'s period.
    """
    to = local_datetime(date_to, tz, end=True)
    if period != "hour":
        to = datetime.combine(to.date(), time.max)
    end_start = period_start(to, period, week_start)
    if date_from is not None:
        first = period_start(local_datetime(date_from, tz), period, week_start)
        if first > end_start:
            raise QueryError("date_from is after date_to")
        starts = [first]
        while starts[-1] < end_start:
            starts.append(shift(first, period, len(starts)))
            if len(starts) > 10_000:
                raise QueryError(f"at most 10,000 {period}s fit in one table; use a longer period or a shorter "
                                 "date range")
    else:
        starts = [shift(end_start, period, k - total + 1) for k in range(total)]
    return Periods(period, starts, to)


def local_time(col: exp.Expression, tz: str) -> exp.Expression:
    """A stored (UTC) timestamp as naive wall-clock time in ``tz``.

    Parameters
    ----------
    col : sqlglot.exp.Expression
    tz : str
        IANA name.

    Returns
    -------
    sqlglot.exp.Expression
    """
    if tz == "UTC":
        return col
    return exp.AtTimeZone(this=exp.AtTimeZone(this=col, zone=exp.Literal.string("UTC")),
                          zone=exp.Literal.string(tz))


def period_index_sql(lt: exp.Expression, periods: Periods) -> exp.Expression:
    """Index of the period holding local time ``lt`` (NULL outside the table).

    Parameters
    ----------
    lt : sqlglot.exp.Expression
        Naive local time (see :func:`local_time`).
    periods : Periods

    Returns
    -------
    sqlglot.exp.Expression
    """
    start = timestamp_literal(periods.starts[0])
    unit = {"hour": "HOUR", "day": "DAY", "week": "DAY", "month": "MONTH"}[periods.period]
    idx: exp.Expression = exp.DateDiff(this=lt.copy(), expression=start, unit=exp.var(unit))
    if periods.period == "week":
        idx = exp.IntDiv(this=idx, expression=exp.Literal.number(7))
    inside = exp.Between(this=lt.copy(), low=start.copy(), high=timestamp_literal(periods.last))
    return exp.Case().when(inside, idx).else_(exp.null())
