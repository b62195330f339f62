"""Query kind ``event_tasks``: UX task metrics measured from product events.

``{"kind": "event_tasks", "start": "checkout_start", "success": "order_placed", "error": "form_error",
"abandon": "checkout_cancel", "timeout": {"value": 30, "unit": "minute"}}``

An *attempt* starts at each start event of an actor and runs until its next start event. Within it, in time
order (a start sorts before other events at its instant):

* **success**: the first success event, unless an abandon event came before it or the timeout had passed;
* **abandoned**: an abandon event came first (``abandon_event``), or the timeout passed (``timeout``), or a new
  attempt started before either (``restarted``);
* **open**: none of these yet (no timeout given and no later start); open attempts are counted but left out
  of the rates.

Metrics over the closed attempts (successes + abandoned), each with its interval from :mod:`cxlens.stats`:
success rate and abandonment rate (adjusted Wald), error rate = attempts with at least one error event before
the attempt ended (adjusted Wald) and errors per attempt (t interval), time on task of successful attempts in
seconds (geometric mean below 25, median from 25 on, as :func:`cxlens.stats.task_time`; zero durations left
out), clicks to completion = events between the start and the success, the success included (mean with t
interval and median with binomial interval). ``click_events`` restricts which events count as clicks
(default: every event). ``breakdown`` splits by a property of the start event (or of the person).

Per-attempt aggregation runs in the database (window functions); numpy classifies the attempts and
:mod:`cxlens.stats` computes the intervals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp, select

from cxlens.query._events import (
    all_of,
    any_of,
    as_text,
    event_source,
    filter_condition,
    has_identities,
    instant_bounds,
    match_condition,
    needs_person,
    timestamps_us,
    zone,
)
from cxlens.query._series import EventEntity
from cxlens.query.registry import QueryModel, register_query
from cxlens.stats import MeanStat, ProportionStat, errors_per_attempt, mean_ci, median_ci, proportion_ci, task_time
from cxlens.store.sql import Filter

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["EventTasksQuery", "TaskTimeout", "run_event_tasks", "task_attempts_select"]

_Strict = ConfigDict(extra="forbid", frozen=True)
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400}


class TaskTimeout(BaseModel):
    """How long an attempt may run before it counts as abandoned."""

    model_config = _Strict
    value: int = Field(ge=1)
    unit: Literal["second", "minute", "hour", "day", "week"] = "minute"

    @property
    def microseconds(self) -> int:
        return self.value * _UNIT_S[self.unit] * 1_000_000


class TaskDateRange(BaseModel):
    """Inclusive instants: only events inside count (starts, outcomes and clicks); a bare date means its whole
    day."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str | datetime | date | None = Field(None, alias="from")
    to: str | datetime | date | None = None


class TaskBreakdown(BaseModel):
    """Split by a property of the start event or of the person."""

    model_config = _Strict
    type: Literal["event", "person"] = "event"
    property: str


class EventTasksQuery(QueryModel):
    """Task metrics from events (see the module docstring)."""

    kind: Literal["event_tasks"] = "event_tasks"
    start: EventEntity
    success: EventEntity
    error: EventEntity | None = None
    abandon: EventEntity | None = None
    timeout: TaskTimeout | None = None
    click_events: list[str] | None = Field(None, description="events counted as clicks (default: all)")
    date_range: TaskDateRange | None = None
    timezone: str = "UTC"
    breakdown: TaskBreakdown | None = None
    global_properties: list[Filter] = Field(default_factory=list)
    confidence: float = Field(0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> EventTasksQuery:
        zone(self.timezone)
        if self.start == self.success:
            raise ValueError("start and success must be different events")
        return self


def _flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case().when(cond, exp.Literal.number(1)).else_(exp.Literal.number(0))


def _part_min(expr: exp.Expression) -> exp.Window:
    return exp.Window(this=exp.Min(this=expr), partition_by=[exp.column("actor"), exp.column("att")])


def task_attempts_select(q: EventTasksQuery, identities: bool) -> exp.Select:
    """One row per attempt: ``actor, att, t0, t_ok, t_ab, errors, clicks, last[, bd]`` sorted by actor, att.

    ``t_ok`` is the success time (already checked against abandon and timeout), ``t_ab`` the first abandon
    event, ``errors`` the error events before the attempt ended, ``clicks`` the events after the start up to the
    success, ``last`` whether it is the actor's last attempt.

    Parameters
    ----------
    q : EventTasksQuery
    identities : bool

    Returns
    -------
    sqlglot.exp.Select
    """
    ents = [q.start, q.success, *(e for e in (q.error, q.abandon) if e is not None)]
    filters = [f for e in ents for f in e.properties] + list(q.global_properties)
    bd = q.breakdown
    src = event_source(needs_person(filters, bool(bd and bd.type == "person")), identities).subquery("ev")
    glob = [filter_condition(f) for f in q.global_properties]
    is_s = all_of([match_condition(q.start.event, q.start.properties), *glob])
    is_ok = all_of([match_condition(q.success.event, q.success.properties), *glob])
    is_err = all_of([match_condition(q.error.event, q.error.properties), *glob]) if q.error else exp.false()
    is_ab = all_of([match_condition(q.abandon.event, q.abandon.properties), *glob]) if q.abandon else exp.false()
    if q.click_events is None:
        is_click: exp.Expression = exp.true()
    else:
        is_click = exp.column("event").isin(*[exp.Literal.string(e) for e in q.click_events]) if q.click_events \
            else exp.false()
    where: list[exp.Expression] = [any_of([is_s, is_ok, is_err, is_ab, is_click])]
    where += instant_bounds(q.date_range, zone(q.timezone))
    cols = [exp.column("actor"), exp.column("timestamp"), _flag(is_s).as_("is_s"), _flag(is_ok).as_("is_ok"),
            _flag(is_err).as_("is_err"), _flag(is_ab).as_("is_ab"), _flag(is_click).as_("is_c")]
    if bd is not None:
        cols.append(exp.Case().when(is_s.copy(), as_text(bd.type, bd.property)).as_("bd"))
    flagged = select(*cols).from_(src).where(all_of(where)).subquery("f")
    order = exp.Order(expressions=[exp.Ordered(this=exp.column("timestamp")),
                                   exp.Ordered(this=exp.column("is_s"), desc=True)])
    att = exp.Window(this=exp.Sum(this=exp.column("is_s")), partition_by=[exp.column("actor")], order=order,
                     spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                                         end="CURRENT ROW"))
    numbered = select(exp.Star(), att.as_("att")).from_(flagged).subquery("n")
    one = exp.Literal.number(1)
    ts = exp.column("timestamp")

    def when(flag: str) -> exp.Expression:
        return exp.Case().when(exp.column(flag).eq(one), ts.copy())

    timed = select(exp.Star(), _part_min(when("is_s")).as_("t0"), _part_min(when("is_ok")).as_("t_ok0"),
                   _part_min(when("is_ab")).as_("t_ab"),
                   exp.Window(this=exp.Max(this=exp.column("att")), partition_by=[exp.column("actor")]).as_("att_n")
                   ).from_(numbered).where(exp.GTE(this=exp.column("att"), expression=one)).subquery("t")
    t0, t_ok0, t_ab = exp.column("t0"), exp.column("t_ok0"), exp.column("t_ab")
    deadline: exp.Expression | None = None
    if q.timeout is not None:
        deadline = exp.Add(this=t0.copy(), expression=exp.Interval(
            this=exp.Literal.string(str(q.timeout.value * _UNIT_S[q.timeout.unit])), unit=exp.var("SECOND")))
    ok_conds: list[exp.Expression] = [
        t_ok0.copy().is_(exp.null()).not_(),
        exp.or_(t_ab.copy().is_(exp.null()), exp.LTE(this=t_ok0.copy(), expression=t_ab.copy()))]
    if deadline is not None:
        ok_conds.append(exp.LTE(this=t_ok0.copy(), expression=deadline.copy()))
    t_ok = exp.Case().when(exp.and_(*ok_conds), t_ok0.copy())
    ab_ok = t_ab.copy().is_(exp.null()).not_()
    if deadline is not None:
        ab_ok = exp.and_(ab_ok, exp.LTE(this=t_ab.copy(), expression=deadline.copy()))
    end = exp.func("COALESCE", t_ok.copy(), exp.Case().when(ab_ok, t_ab.copy()),
                   *([deadline.copy()] if deadline is not None else []))
    ended = select(exp.Star(), t_ok.as_("t_ok"), end.as_("t_end")).from_(timed).subquery("e")
    before_end = exp.or_(exp.column("t_end").is_(exp.null()), exp.LTE(this=ts.copy(), expression=exp.column("t_end")))
    errors = exp.Sum(this=_flag(exp.and_(exp.column("is_err").eq(one), before_end)))
    clicks = exp.Sum(this=_flag(exp.and_(exp.column("is_c").eq(one), exp.column("is_s").eq(exp.Literal.number(0)),
                                         exp.LTE(this=ts.copy(), expression=exp.column("t_ok")))))
    out = [exp.column("actor"), exp.column("att"), exp.Min(this=exp.column("t0")).as_("t0"),
           exp.Min(this=exp.column("t_ok")).as_("t_ok"), exp.Min(this=exp.column("t_ab")).as_("t_ab"),
           errors.as_("errors"), clicks.as_("clicks"),
           exp.Max(this=_flag(exp.column("att").eq(exp.column("att_n")))).as_("last")]
    if bd is not None:
        out.append(exp.Max(this=exp.column("bd")).as_("bd"))
    return select(*out).from_(ended).group_by(exp.column("actor"), exp.column("att")).order_by(
        exp.column("actor"), exp.column("att"))


def _nullable_us(col: Any) -> tuple[np.ndarray, np.ndarray]:
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return timestamps_us(col), valid


@register_query("event_tasks", EventTasksQuery, "Task success, abandonment, time on task, clicks, errors "
                                                "from events.")
def run_event_tasks(ws: Workspace, q: EventTasksQuery) -> dict[str, Any]:
    """Run an event-tasks query.

    Parameters
    ----------
    ws : Workspace
    q : EventTasksQuery

    Returns
    -------
    dict
        ``{"kind": "event_tasks", "rows": [{"breakdown_value"?, "attempts", "successes", "abandoned", "open",
        "abandon_reasons", "success_rate", "abandonment_rate", "error_rate", "errors_per_attempt",
        "time_on_task", "clicks_mean", "clicks_median"}]}``; metrics are :class:`~cxlens.stats.StatResult`
        dicts.
    """
    table = ws.store.execute(task_attempts_select(q, has_identities(ws)))
    n = table.num_rows
    t0, _ = _nullable_us(table.column("t0"))
    t_ok, ok = _nullable_us(table.column("t_ok"))
    t_ab, has_ab = _nullable_us(table.column("t_ab"))
    errors = np.asarray(table.column("errors").to_numpy(zero_copy_only=False), dtype=np.float64) if n else np.zeros(0)
    clicks = np.asarray(table.column("clicks").fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64) \
        if n else np.zeros(0)
    last = np.asarray(table.column("last").to_numpy(zero_copy_only=False), dtype=bool) if n else np.zeros(0, bool)
    next_t0 = np.r_[t0[1:], 0] if n else t0  # rows are sorted by actor, attempt
    deadline = t0 + q.timeout.microseconds if q.timeout else np.full(n, np.iinfo(np.int64).max)
    ab_event = ~ok & has_ab & (t_ab <= deadline)
    restarted = ~ok & ~ab_event & ~last & (next_t0 < deadline)
    timed_out = ~ok & ~ab_event & ~restarted & (q.timeout is not None)
    open_ = ~ok & ~ab_event & ~restarted & ~timed_out
    if q.breakdown is not None:
        values = np.asarray(table.column("bd").fill_null("").to_numpy(zero_copy_only=False), dtype=object)
        groups = sorted(set(values.tolist()))
    else:
        values, groups = np.full(n, "", dtype=object), [""]
    rows = []
    for g in groups:
        sel = values == g
        row: dict[str, Any] = {} if q.breakdown is None else {"breakdown_value": g}
        row.update(_metrics(sel, ok, ab_event, restarted, timed_out, open_, errors, clicks,
                            (t_ok - t0) / 1e6, q.confidence))
        rows.append(row)
    return {"kind": "event_tasks", "rows": rows}


def _metrics(sel: np.ndarray, ok: np.ndarray, ab_event: np.ndarray, restarted: np.ndarray, timed_out: np.ndarray,
             open_: np.ndarray, errors: np.ndarray, clicks: np.ndarray, duration: np.ndarray,
             conf: float) -> dict[str, Any]:
    closed = sel & ~open_
    n_closed = int(closed.sum())
    succ = sel & ok
    n_succ = int(succ.sum())
    err_n = errors[closed]
    times = duration[succ]
    positive = times[times > 0]
    out: dict[str, Any] = {
        "attempts": int(sel.sum()), "successes": n_succ, "abandoned": n_closed - n_succ,
        "open": int((sel & open_).sum()),
        "abandon_reasons": {"abandon_event": int((sel & ab_event).sum()), "restarted": int((sel & restarted).sum()),
                            "timeout": int((sel & timed_out).sum())},
        "success_rate": proportion_ci(ProportionStat(n_closed, n_succ), conf, metric="success_rate").to_dict(),
        "abandonment_rate": proportion_ci(ProportionStat(n_closed, n_closed - n_succ), conf,
                                          metric="abandonment_rate").to_dict(),
        "error_rate": proportion_ci(ProportionStat(n_closed, int((err_n > 0).sum())), conf,
                                    metric="error_rate").to_dict(),
        "errors_per_attempt": errors_per_attempt(MeanStat.from_values(err_n), conf).to_dict() if n_closed else None,
        "time_on_task": task_time(positive, conf).to_dict() if len(positive) else None,
        "zero_durations": int((times <= 0).sum()),
        "clicks_mean": mean_ci(MeanStat.from_values(clicks[succ]), conf, bounds=(0.0, np.inf),
                               metric="clicks").to_dict() if n_succ else None,
        "clicks_median": median_ci(clicks[succ], conf, metric="clicks").to_dict() if n_succ else None,
    }
    return out
