"""Trends query kind: rules from issue 5 (count, unique persons, sum/avg, periods in a time zone, breakdown),
checked by hand and against an independent pandas computation on random data (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
from cxlens.errors import QueryError

BASE = datetime(2024, 3, 4)  # a Monday


def ev(who: str, hours: float, event: str = "view", **props: Any) -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(hours=hours)).isoformat() + "Z",
            "properties": props}


def trends(ws: cxlens.Workspace, series: list[Any], **kw: Any) -> dict[str, Any]:
    return ws.query({"kind": "trends", "series": series, **kw})


def test_total_per_day_fills_empty_days_with_zero(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 1), ev("a", 2), ev("b", 50), ev("c", 3, "other")])
    r = trends(ws, ["view"])
    assert r["dates"] == ["2024-03-04T00:00:00", "2024-03-05T00:00:00", "2024-03-06T00:00:00"]
    assert r["series"][0]["data"] == [2, 0, 1]
    assert r["series"][0]["aggregated"] == 3


def test_unique_counts_persons_through_their_distinct_ids(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["web", "app"]}])
    ws.add("events", [ev("web", 1), ev("app", 2), ev("other", 3), ev("web", 30)])
    s = trends(ws, [{"event": "view", "math": "unique"}])["series"][0]
    assert s["data"] == [2, 1]
    assert s["aggregated"] == 2  # distinct over the range, not the sum of the days


def test_sum_and_avg_of_a_numeric_property_skip_non_numbers(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 1, ms=100), ev("a", 2, ms=300), ev("b", 3, ms="n/a"), ev("b", 4)])
    r = trends(ws, [{"event": "view", "math": "sum", "math_property": "ms"},
                    {"event": "view", "math": "avg", "math_property": "ms"},
                    {"event": "view", "math": "max", "math_property": "ms"}])
    assert [s["aggregated"] for s in r["series"]] == [400, 200, 300]


def test_sum_needs_a_property() -> None:
    with pytest.raises(QueryError, match="math_property"):
        cxlens.Workspace().query({"kind": "trends", "series": [{"event": "view", "math": "sum"}]})


def test_periods_follow_the_time_zone(ws: cxlens.Workspace) -> None:
    # 23:30 UTC on Monday is 00:30 on Tuesday in Paris
    ws.add("events", [ev("a", 23.5), ev("b", 1)])
    assert trends(ws, ["view"])["series"][0]["data"] == [2]
    r = trends(ws, ["view"], timezone="Europe/Paris")
    assert r["dates"] == ["2024-03-04T00:00:00", "2024-03-05T00:00:00"]
    assert r["series"][0]["data"] == [1, 1]


def test_weeks_start_on_sunday_or_monday(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", -1), ev("a", 1)])  # Sunday 23:00 and Monday 01:00
    assert trends(ws, ["view"], interval="week", week_start="monday")["series"][0]["data"] == [1, 1]
    assert trends(ws, ["view"], interval="week", week_start="sunday")["series"][0]["data"] == [2]


def test_month_and_hour_intervals(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 0.5), ev("a", 0.7), ev("a", 2.1), ev("a", 24 * 30)])
    hours = {"date_from": "2024-03-04T00:00", "date_to": "2024-03-04T02:59"}
    r = trends(ws, ["view"], interval="hour", date_range=hours)
    assert r["series"][0]["data"] == [2, 0, 1]
    r = trends(ws, ["view"], interval="month")
    assert r["dates"] == ["2024-03-01T00:00:00", "2024-04-01T00:00:00"]
    assert r["series"][0]["data"] == [3, 1]


def test_date_range_is_inclusive_and_local(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 0), ev("a", 47.99), ev("a", 48)])
    r = trends(ws, ["view"], date_range={"date_from": "2024-03-04", "date_to": "2024-03-05"})
    assert r["series"][0]["data"] == [1, 1]
    # {"from", "to"}, the date_range of every other kind, means the same
    assert trends(ws, ["view"], date_range={"from": "2024-03-04", "to": "2024-03-05"}) == r
    assert ws.query({"kind": "retention", "target": "view", "date_range": {"from": "2024-03-04", "to": "2024-03-05"}}) \
        == ws.query({"kind": "retention", "target": "view",
                     "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-05"}})


def test_breakdown_by_event_and_person_property_with_limit(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["a"], "properties": {"plan": "pro"}}])
    ws.add("events", [ev("a", 1, page="/"), ev("b", 2, page="/"), ev("b", 3, page="/x"), ev("c", 4)])
    r = trends(ws, ["view"], breakdown={"property": "page"})
    assert {s["breakdown_value"]: s["aggregated"] for s in r["series"]} == {"/": 2, "/x": 1, "": 1}
    r = trends(ws, ["view"], breakdown={"property": "page", "limit": 1})
    assert [s["breakdown_value"] for s in r["series"]] == ["/"] and r["other_values"] == 2
    r = trends(ws, ["view"], breakdown={"type": "person", "property": "plan"})
    assert {s["breakdown_value"]: s["aggregated"] for s in r["series"]} == {"pro": 1, "": 3}


def test_filters_and_global_properties(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 1, k="1", env="prod"), ev("a", 2, k="2", env="prod"), ev("a", 3, k="1", env="dev")])
    s = [{"event": "view", "properties": [{"key": "k", "value": "1"}]}]
    assert trends(ws, s)["series"][0]["aggregated"] == 2
    glob = [{"key": "env", "value": "prod"}]
    assert trends(ws, s, global_properties=glob)["series"][0]["aggregated"] == 1


def test_no_matching_events_gives_an_empty_result(ws: cxlens.Workspace) -> None:
    assert trends(ws, ["view"])["series"] == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 24 * 20), st.sampled_from(["x", "y"]),
                          st.integers(0, 9)), min_size=1, max_size=60),
       st.sampled_from(["day", "week", "month"]), st.sampled_from(["UTC", "America/New_York"]))
def test_matches_pandas(rows: list[tuple[str, int, str, int]], interval: str, tz: str) -> None:
    events = [ev(w, h, e, v=v) for w, h, e, v in rows]
    with cxlens.Workspace() as ws:
        ws.add("events", events)
        r = trends(ws, [{"event": "x"}, {"event": "x", "math": "unique"},
                        {"event": "x", "math": "sum", "math_property": "v"}], interval=interval, timezone=tz,
                   week_start="monday")
    df = pd.DataFrame(rows, columns=["who", "h", "event", "v"])
    df = df[df.event == "x"]
    if df.empty:
        assert r["series"] == []
        return
    local = (pd.Timestamp(BASE, tz="UTC") + pd.to_timedelta(df.h, unit="h")).dt.tz_convert(tz).dt.tz_localize(None)
    freq = {"day": "D", "week": "W-SUN", "month": "M"}[interval]
    df["p"] = local.dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%dT%H:%M:%S")
    got = {s["math"]: dict(zip(r["dates"], s["data"], strict=True)) for s in r["series"]}
    g = df.groupby("p")
    assert {k: v for k, v in got["total"].items() if v} == g.size().to_dict()
    assert {k: v for k, v in got["unique"].items() if v} == g.who.nunique().to_dict()
    assert {k: v for k, v in got["sum"].items() if k in g.groups} == g.v.sum().to_dict()
