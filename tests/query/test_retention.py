"""Retention query kind: one test per rule of issue 5, a brute-force oracle on random data, and OTTO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
import cxlens.query.retention
from cxlens.errors import QueryError

JAN1 = datetime(2024, 1, 1, 12, 0)  # a Monday, noon UTC


def ev(who: str, day: float, event: str = "e", **props: Any) -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (JAN1 + timedelta(days=day)).isoformat() + "Z",
            "properties": props}


def run(ws: cxlens.Workspace, events: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    if events:
        ws.add("events", events)
    q = {"kind": "retention", "target": {"event": "e"}, "period": "day", "total_intervals": 5,
         "date_range": {"date_to": "2024-01-05"}, **kw}
    return ws.query(q)


DAYS = [ev("a", 0), ev("a", 1), ev("a", 3), ev("b", 1), ev("b", 2), ev("c", 0), ev("c", 3), ev("d", 4)]


def test_recurring_cohort_of_every_period_with_a_target_event(ws: cxlens.Workspace) -> None:
    r = run(ws, DAYS)
    assert r["rows"] == [[2, 1, 0, 2, 0], [2, 1, 1, 0], [1, 0, 0], [2, 0], [1]]
    assert r["row_dates"] == [f"2024-01-0{d}T00:00:00" for d in range(1, 6)]


def test_first_time_one_cohort_at_the_first_target_event(ws: cxlens.Workspace) -> None:
    r = run(ws, [*DAYS, ev("old", -7), ev("old", 1)], mode="first_time")
    # "old" first did e before the table: not counted anywhere
    assert r["rows"] == [[2, 1, 0, 2, 0], [1, 1, 0, 0], [0, 0, 0], [0, 0], [1]]


def test_first_time_uses_the_first_event_matching_the_filters(ws: cxlens.Workspace) -> None:
    events = [ev("f", 0, k="1"), ev("f", 1, k="2"), ev("f", 2, k="1")]
    target = {"event": "e", "properties": [{"key": "k", "value": "2"}]}
    r = run(ws, events, mode="first_time", target=target, returning={"event": "e"})
    assert [row[:2] for row in r["rows"][:2]] == [[0, 0], [1, 1]]
    # first_ever: the very first e (k=1) does not match, so f is in no cohort
    r = run(ws, mode="first_ever", target=target, returning={"event": "e"})
    assert all(row[0] == 0 for row in r["rows"])


def test_first_ever_counts_when_the_first_event_matches(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("g", 1, k="2"), ev("g", 2, k="1")], mode="first_ever",
            target={"event": "e", "properties": [{"key": "k", "value": "2"}]}, returning={"event": "e"})
    assert r["rows"][1] == [1, 1, 0, 0]


def test_cumulative_counts_returns_in_that_period_or_later(ws: cxlens.Workspace) -> None:
    r = run(ws, DAYS, cumulative=True)
    assert r["rows"][0] == [2, 2, 2, 2, 0]
    assert r["rows"][1] == [2, 2, 1, 0]


def test_minimum_occurrences(ws: cxlens.Workspace) -> None:
    events = [ev("g", 0), ev("g", 1), ev("g", 2), ev("g", 2.1)]
    assert run(ws, events, minimum_occurrences=2)["rows"][0] == [1, 0, 1, 0, 0]
    assert run(ws, minimum_occurrences=1)["rows"][0] == [1, 1, 1, 0, 0]


def test_a_return_in_the_cohort_period_adds_nothing(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("h", 0), ev("h", 0.2)])
    assert r["rows"][0] == [1, 0, 0, 0, 0]


def test_returning_event_differs_from_target(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("u", 0, "signup"), ev("u", 1, "signup"), ev("u", 2, "login"), ev("v", 0, "login")],
            target={"event": "signup"}, returning={"event": "login"})
    assert r["rows"][0] == [1, 0, 1, 0, 0]
    assert r["rows"][1] == [1, 1, 0, 0]


def test_event_breakdown_counts_returns_with_the_same_value_only(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("i", 0, plan="free"), ev("i", 1, plan="pro"), ev("i", 2, plan="free")],
            breakdown={"type": "event", "property": "plan"})
    assert r["breakdowns"]["free"][0] == [1, 0, 1, 0, 0]
    assert r["breakdowns"]["pro"][1] == [1, 0, 0, 0]
    assert "rows" not in r


def test_person_breakdown(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["d1", "d2"], "properties": {"plan": "pro"}}])
    r = run(ws, [ev("d1", 0), ev("d2", 1), ev("z", 0)], breakdown={"type": "person", "property": "plan"})
    assert r["breakdowns"]["pro"][0] == [1, 1, 0, 0, 0]  # two devices, one person
    assert r["breakdowns"][""][0] == [1, 0, 0, 0, 0]


def test_global_properties(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("u", 0, env="prod"), ev("u", 1, env="test"), ev("v", 0, env="test")],
            global_properties=[{"key": "env", "value": "prod"}])
    assert r["rows"][0] == [1, 0, 0, 0, 0]


def test_periods_are_calendar_days_in_the_time_zone(ws: cxlens.Workspace) -> None:
    # 2024-01-01T23:30Z is already 2024-01-02 in Paris
    late = {"distinct_id": "n", "event": "e", "timestamp": "2024-01-01T23:30:00Z"}
    r = run(ws, [late], timezone="Europe/Paris")
    assert [row[0] for row in r["rows"]] == [0, 1, 0, 0, 0]
    r = run(ws, timezone="UTC")
    assert [row[0] for row in r["rows"]] == [1, 0, 0, 0, 0]


@pytest.mark.parametrize(("week_start", "first_dates", "cohorts"), [
    ("monday", ["2024-01-01T00:00:00", "2024-01-08T00:00:00"], [1, 1]),
    ("sunday", ["2023-12-31T00:00:00", "2024-01-07T00:00:00"], [0, 1]),
])
def test_week_start(ws: cxlens.Workspace, week_start: str, first_dates: list[str], cohorts: list[int]) -> None:
    # Sunday 2024-01-07 and Monday 2024-01-08
    r = run(ws, [ev("w", 6), ev("w", 7)], period="week", total_intervals=2, week_start=week_start,
            date_range={"date_to": "2024-01-08"})
    assert r["row_dates"] == first_dates
    assert [row[0] for row in r["rows"]] == cohorts
    if week_start == "monday":
        assert r["rows"][0] == [1, 1]


def test_month_periods(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("m", 0), ev("m", 31), ev("m", 70)], period="month", total_intervals=3,
            date_range={"date_to": "2024-03-15"})
    assert r["row_dates"] == ["2024-01-01T00:00:00", "2024-02-01T00:00:00", "2024-03-01T00:00:00"]
    assert r["rows"][0] == [1, 1, 1]


def test_hour_periods(ws: cxlens.Workspace) -> None:
    events = [{"distinct_id": "h", "event": "e", "timestamp": f"2024-01-01T{h:02d}:15:00Z"} for h in (10, 11, 13)]
    r = run(ws, events, period="hour", total_intervals=4, date_range={"date_to": "2024-01-01T13:30:00"})
    assert r["row_dates"][0] == "2024-01-01T10:00:00"
    assert r["rows"][0] == [1, 1, 0, 1]


def test_date_to_is_widened_to_the_end_of_its_day(ws: cxlens.Workspace) -> None:
    r = run(ws, [ev("x", 4)], date_range={"date_to": "2024-01-05T08:00:00"})  # the event is at 12:00 on Jan 5
    assert r["rows"][4] == [1]
    hourly = run(ws, period="hour", total_intervals=2, date_range={"date_to": "2024-01-05T11:59:00"})
    assert [row[0] for row in hourly["rows"]] == [0, 0]  # not widened for hours


def test_date_from_sets_the_first_row(ws: cxlens.Workspace) -> None:
    r = run(ws, DAYS, date_range={"date_from": "2024-01-02", "date_to": "2024-01-04"})
    assert r["row_dates"] == ["2024-01-02T00:00:00", "2024-01-03T00:00:00", "2024-01-04T00:00:00"]
    assert r["rows"] == [[2, 1, 1], [1, 0], [2]]


def test_without_date_from_total_intervals_rows_end_at_date_to(ws: cxlens.Workspace) -> None:
    r = run(ws, DAYS, total_intervals=3)
    assert r["row_dates"] == ["2024-01-03T00:00:00", "2024-01-04T00:00:00", "2024-01-05T00:00:00"]


def test_long_tables_agree_with_short_ones(ws: cxlens.Workspace) -> None:
    events = [*DAYS, ev("a", -80), ev("b", -70), ev("c", -3)]
    for mode in ("recurring", "first_time"):
        for cumulative in (False, True):
            short = run(ws, events, mode=mode, cumulative=cumulative)["rows"]
            long = run(ws, mode=mode, cumulative=cumulative, total_intervals=100)["rows"]
            assert long[-5:] == short
            events = []


def test_invalid_queries(ws: cxlens.Workspace) -> None:
    with pytest.raises(QueryError, match="unknown field"):
        ws.query({"kind": "retention", "intervals": 3})
    with pytest.raises(QueryError, match="time zone"):
        ws.query({"kind": "retention", "timezone": "Nowhere/City"})
    with pytest.raises(QueryError, match="after"):
        ws.query({"kind": "retention", "date_range": {"date_from": "2024-02-01", "date_to": "2024-01-01"}})


# -- an oracle written from the rules, on random data ----------------------------------------------------
def _period(d: datetime, period: str) -> datetime:
    day = datetime(d.year, d.month, d.day)
    return day - timedelta(days=d.weekday()) if period == "week" else day


def oracle(events: list[tuple[str, str, datetime, str]], q: dict[str, Any]) -> list[list[int]]:
    """Recompute the table from the rules, one actor and period at a time (day/week, date_from given)."""
    tz = ZoneInfo(q["timezone"])
    step = timedelta(days=7 if q["period"] == "week" else 1)
    first = _period(datetime.fromisoformat(q["date_range"]["date_from"]), q["period"])
    last = _period(datetime.fromisoformat(q["date_range"]["date_to"]), q["period"])
    starts = [first + i * step for i in range((last - first) // step + 1)]
    end = datetime.fromisoformat(q["date_range"]["date_to"]) + timedelta(days=1)

    def local(t: datetime) -> datetime:
        return t.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)

    def index(t: datetime) -> int | None:
        lt = local(t)
        if lt < starts[0] or lt >= end:
            return None
        return (_period(lt, q["period"]) - starts[0]) // step

    n, need = len(starts), q["minimum_occurrences"]
    table = [[0] * (n - i) for i in range(n)]
    for who in sorted({e[0] for e in events}):
        mine = sorted((t, name, k) for w, name, t, k in events if w == who)
        if q["mode"] == "recurring":
            cohorts = {index(t) for t, name, k in mine if name == "e" and k == "1"} - {None}
        else:
            targets = [(t, k) for t, name, k in mine if name == "e"]
            if q["mode"] == "first_time":
                targets = [(t, k) for t, k in targets if k == "1"]
            ok = targets and (q["mode"] == "first_time" or targets[0][1] == "1")
            cohorts = {index(targets[0][0])} - {None} if ok else set()
        returns: dict[int, int] = {}
        for t, name, _ in mine:
            p = index(t)
            if name == "r" and p is not None:
                returns[p] = returns.get(p, 0) + 1
        back = {p for p, c in returns.items() if c >= need}
        for i in cohorts:
            table[i][0] += 1
            for j in range(1, n - i):
                hit = any(p >= i + j for p in back) if q["cumulative"] else (i + j) in back
                table[i][j] += hit
    return table


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("uvw"), st.sampled_from("er"), st.integers(-2 * 24, 24 * 24),
                          st.sampled_from("12")), min_size=5, max_size=60),
       st.sampled_from(["recurring", "first_time", "first_ever"]), st.booleans(), st.integers(1, 2),
       st.sampled_from(["day", "week"]), st.sampled_from(["UTC", "America/New_York"]))
def test_matches_an_oracle_written_from_the_rules(rows: list[tuple[str, str, int, str]], mode: str,
                                                  cumulative: bool, need: int, period: str, tz: str) -> None:
    events = [(w, name, datetime(2024, 3, 1) + timedelta(hours=h), k) for w, name, h, k in rows]
    q = {"kind": "retention", "target": {"event": "e", "properties": [{"key": "k", "value": "1"}]},
         "returning": {"event": "r"}, "period": period, "mode": mode, "cumulative": cumulative,
         "minimum_occurrences": need, "timezone": tz, "week_start": "monday",
         "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-24"}}
    with cxlens.Workspace() as ws:
        if events:
            ws.add("events", [{"distinct_id": w, "event": name, "timestamp": t.isoformat() + "Z",
                               "properties": {"k": k}} for w, name, t, k in events])
        got = ws.query(q)["rows"]
    assert got == oracle(events, q)


# -- real data -----------------------------------------------------------------------------------------
@pytest.mark.shared
def test_otto_daily_retention_of_sessions(ws: cxlens.Workspace, shared_data: Path) -> None:
    raw = pajson.read_json(shared_data / "clickstream/otto_sample/otto_train_sample.jsonl")
    nested = raw.column("events").combine_chunks()
    flat = pc.list_flatten(nested)
    session = pc.take(raw.column("session").combine_chunks(), pc.list_parent_indices(nested))
    ts = pc.cast(pc.multiply(pc.cast(flat.field("ts"), pa.int64()), 1000), pa.timestamp("us"))
    ws.add("events", pa.table({"timestamp": ts, "distinct_id": pc.cast(session, pa.string()),
                               "event": flat.field("type")}))
    q = {"kind": "retention", "target": {"event": "clicks"}, "returning": {"event": None}, "period": "week",
         "week_start": "monday", "mode": "first_time", "date_range": {"date_from": "2022-07-25",
                                                                      "date_to": "2022-08-28"}}
    r = ws.query(q)
    # by hand: each session's first click week, and the weeks with any event
    weeks: dict[str, set[int]] = {}
    first: dict[str, int] = {}
    for s, t, kind in zip(session.to_pylist(), ts.to_pylist(), flat.field("type").to_pylist(), strict=True):
        w = (t - datetime(2022, 7, 25)).days // 7
        weeks.setdefault(str(s), set()).add(w)
        if kind == "clicks":
            first[str(s)] = min(first.get(str(s), 99), w)
    expected = [[0] * (5 - i) for i in range(5)]
    for s, w0 in first.items():
        expected[w0][0] += 1
        for j in range(1, 5 - w0):
            expected[w0][j] += (w0 + j) in weeks[s]
    assert r["rows"] == expected
    assert sum(row[0] for row in r["rows"]) == 20
