"""Funnel query kind: one test per semantic rule of issue 5 (ordered funnels, windows, paths, conversion times,
persons, filters, date ranges, validation), written from the rules with small hand-made event lists.

Every test runs three times: with the vectorised kernels (``auto``), with the lockstep state machine
(``general``) and with the one-event-at-a-time reference (``scalar``); all must give the rule's answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import cxlens
from cxlens.errors import QueryError
from funnel_support import BASE, counts, engine, ev, run  # noqa: F401  (engine: autouse fixture)


def avg(r: dict[str, Any], k: int) -> float | None:
    return r["steps"][k]["average_conversion_time"]


def med(r: dict[str, Any], k: int) -> float | None:
    return r["steps"][k]["median_conversion_time"]


MIN = {"conversion_window": {"value": 1, "unit": "minute"}}


# -- counting -------------------------------------------------------------------------------------------
def test_count_at_step_k_is_persons_reaching_k_or_further(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [
        ev("u1", "a", 0), ev("u1", "b", 1), ev("u1", "c", 2),
        ev("u2", "a", 0), ev("u2", "b", 1),
        ev("u3", "a", 0),
        ev("u4", "b", 0), ev("u4", "c", 1),  # never did step 1: not in the funnel
    ])
    assert counts(r) == [3, 2, 1]
    assert [s["name"] for s in r["steps"]] == ["a", "b", "c"]
    assert r["breakdowns"] == []


def test_nobody_entered_gives_all_zero(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"])
    assert counts(r) == [0, 0] and avg(r, 1) is None and med(r, 1) is None
    r = run(ws, ["a", "b"], [ev("u1", "b", 0), ev("u1", "x", 1)])
    assert counts(r) == [0, 0]


def test_step_names_use_label_then_event(ws: cxlens.Workspace) -> None:
    r = run(ws, [{"event": "a", "name": "Landing"}, {"event": None}], [ev("u1", "a", 0)])
    assert [s["name"] for s in r["steps"]] == ["Landing", "All events"]


# -- paths ------------------------------------------------------------------------------------------------
def test_events_before_the_step1_event_never_count(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "b", 0), ev("u1", "a", 10), ev("u1", "c", 20)])
    assert counts(r) == [1, 0, 0]


def test_next_step_may_happen_at_the_same_instant(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 5), ev("u1", "b", 5)])
    assert counts(r) == [1, 1]
    assert avg(r, 1) is None  # the only duration is zero, and zero durations are left out


def test_different_events_at_one_instant_are_taken_in_step_order(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "c", 5), ev("u1", "b", 5), ev("u1", "a", 5)])
    assert counts(r) == [1, 1, 1]


def test_one_event_fills_at_most_one_step_of_a_path(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "a"], [
        ev("once", "a", 0),
        ev("twice", "a", 0), ev("twice", "a", 10),
        ev("same_instant", "a", 3), ev("same_instant", "a", 3),  # two identical events fill both steps
    ])
    assert counts(r) == [3, 2]


def test_a_new_step1_event_starts_a_path_while_older_paths_keep_progress(ws: cxlens.Workspace) -> None:
    # path 0 reaches b at 60; a new path starts at 120; c at 180 completes path 0
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 60), ev("u1", "a", 120), ev("u1", "c", 180)],
            conversion_window={"value": 10, "unit": "minute"})
    assert counts(r) == [1, 1, 1]
    assert (avg(r, 1), avg(r, 2)) == (60.0, 120.0)


def test_each_step_keeps_the_path_with_the_latest_start(ws: cxlens.Workspace) -> None:
    # b at 360 advances the path started at 300 (latest start), whose window still covers c at 700
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "a", 300), ev("u1", "b", 360), ev("u1", "c", 700)],
            conversion_window={"value": 600, "unit": "second"})
    assert counts(r) == [1, 1, 1]
    assert (avg(r, 1), avg(r, 2)) == (60.0, 340.0)


def test_result_is_the_furthest_step_any_path_reached(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "a", 1000)],
            conversion_window={"value": 100, "unit": "second"})
    assert counts(r) == [1, 1, 0]


# -- the window ---------------------------------------------------------------------------------------------
def test_window_is_inclusive_and_measured_from_the_step1_event(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [
        ev("exact", "a", 0), ev("exact", "b", 1800), ev("exact", "c", 3600),
        ev("late", "a", 0), ev("late", "b", 1800), ev("late", "c", 3601),
        ev("from_start", "a", 0), ev("from_start", "b", 3500), ev("from_start", "c", 7000),
    ], conversion_window={"value": 1, "unit": "hour"})
    assert counts(r) == [3, 3, 1]


@pytest.mark.parametrize(("unit", "seconds"), [("second", 1), ("minute", 60), ("hour", 3600), ("day", 86_400),
                                               ("week", 7 * 86_400), ("month", 31 * 86_400)])
def test_window_units(ws: cxlens.Workspace, unit: str, seconds: int) -> None:
    r = run(ws, ["a", "b"], [ev("in", "a", 0), ev("in", "b", 2 * seconds),
                             ev("out", "a", 0), ev("out", "b", 2 * seconds + 1)],
            conversion_window={"value": 2, "unit": unit})
    assert counts(r) == [2, 1]


def test_default_window_is_14_days(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("in", "a", 0), ev("in", "b", 14 * 86_400),
                             ev("out", "a", 0), ev("out", "b", 14 * 86_400 + 1)])
    assert counts(r) == [2, 1]


def test_daylight_saving_changes_nothing(ws: cxlens.Workspace) -> None:
    # Paris moves to summer time on 2024-03-31: one day is still 86,400 seconds
    t0 = datetime(2024, 3, 30, 12, 0)
    events = [{"distinct_id": who, "event": e, "timestamp": (t0 + timedelta(seconds=s)).isoformat() + "Z"}
              for who, e, s in [("in", "a", 0), ("in", "b", 86_400), ("out", "a", 0), ("out", "b", 86_401)]]
    r = run(ws, ["a", "b"], events, conversion_window={"value": 1, "unit": "day"}, timezone="Europe/Paris",
            date_range={"from": "2024-03-30", "to": "2024-03-31"})
    assert counts(r) == [2, 1]
    assert avg(r, 1) == 86_400.0


# -- conversion times ------------------------------------------------------------------------------------
def test_conversion_time_comes_from_the_first_path_reaching_the_furthest_step(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "b", 100), ev("u1", "a", 200), ev("u1", "b", 210)])
    assert avg(r, 1) == 100.0


def test_average_and_median_over_persons_leave_out_zero(ws: cxlens.Workspace) -> None:
    events = []
    for i, gap in enumerate([10, 20, 30, 100, 0]):
        events += [ev(f"u{i}", "a", 0), ev(f"u{i}", "b", gap)]
    r = run(ws, ["a", "b"], events)
    assert counts(r) == [5, 5]
    assert avg(r, 1) == pytest.approx(40.0)  # (10 + 20 + 30 + 100) / 4
    assert med(r, 1) == pytest.approx(25.0)  # midpoint of 20 and 30
    assert avg(r, 0) is None and med(r, 0) is None


def test_conversion_time_per_step_is_between_consecutive_steps(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 7), ev("u1", "c", 27),
                                  ev("u2", "a", 0), ev("u2", "b", 3)])
    assert (avg(r, 1), med(r, 1)) == (5.0, 5.0)
    assert (avg(r, 2), med(r, 2)) == (20.0, 20.0)


# -- persons ----------------------------------------------------------------------------------------------
def test_all_distinct_ids_of_a_person_are_one_actor(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p1", "distinct_ids": ["web", "app"]}])
    r = run(ws, ["a", "b"], [ev("web", "a", 0), ev("app", "b", 10), ev("stranger", "a", 0)])
    assert counts(r) == [2, 1]  # p1 converts across its devices; "stranger" is its own person


def test_person_filters_read_person_properties(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p1", "distinct_ids": ["d1"], "properties": {"plan": "pro"}},
                       {"id": "p2", "distinct_ids": ["d2"], "properties": {"plan": "free"}}])
    events = [ev("d1", "a", 0), ev("d1", "b", 1), ev("d2", "a", 0), ev("d2", "b", 1), ev("d3", "a", 0)]
    pro = [{"key": "plan", "value": "pro", "type": "person"}]
    assert counts(run(ws, ["a", "b"], events, global_properties=pro)) == [1, 1]
    r = run(ws, ["a", {"event": "b", "properties": pro}])
    assert counts(r) == [3, 1]


# -- filters ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flt", "expected"), [
    ({"key": "page", "value": "/home"}, 1),
    ({"key": "page", "value": ["/home", "/pricing"]}, 2),  # a list means any of
    ({"key": "page", "operator": "is_not", "value": "/home"}, 3),  # missing counts as "is not"
    ({"key": "page", "operator": "icontains", "value": "PRIC"}, 1),
    ({"key": "page", "operator": "is_set"}, 3),
    ({"key": "paid", "value": True}, 1),  # JSON true compares as "true"
    ({"key": "n", "value": 2}, 1),  # numbers compare as text
])
def test_filter_operators(ws: cxlens.Workspace, flt: dict[str, Any], expected: int) -> None:
    r = run(ws, [{"event": "a", "properties": [flt]}], [
        ev("u1", "a", 0, page="/home"), ev("u2", "a", 0, page="/pricing", paid=True),
        ev("u3", "a", 0, page="/docs", n=2), ev("u4", "a", 0),
    ])
    assert counts(r) == [expected]


def test_global_properties_filter_every_event(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0, env="prod"), ev("u1", "b", 1, env="test"),
                             ev("u2", "a", 0, env="prod"), ev("u2", "b", 1, env="prod")],
            global_properties=[{"key": "env", "value": "prod"}])
    assert counts(r) == [2, 1]


# -- date range -------------------------------------------------------------------------------------------
def test_only_events_inside_the_date_range_count_for_steps(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("early", "a", -10), ev("early", "b", 10),
                             ev("late", "a", 10), ev("late", "b", 86_400 * 2)],
            date_range={"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"})
    assert counts(r) == [1, 0]


def test_only_events_inside_the_date_range_count_for_exclusions(ws: cxlens.Workspace) -> None:
    events = [ev("u1", "a", 10), ev("u1", "x", 90_000)]
    excl = [{"event": "x", "from_step": 0, "to_step": 1}]
    assert counts(run(ws, ["a", "b"], events, exclusions=excl)) == [0, 0]  # hit: the person disappears
    r = run(ws, ["a", "b"], exclusions=excl, date_range={"from": "2024-01-01", "to": "2024-01-01"})
    assert counts(r) == [1, 0]  # x lies after the range: ignored


def test_date_only_bounds_cover_whole_local_days(ws: cxlens.Workspace) -> None:
    # 2024-01-01T23:30Z is 2024-01-02 00:30 in Paris
    r = run(ws, ["a"], [ev("u1", "a", 23.5 * 3600), ev("u2", "a", 22 * 3600)], timezone="Europe/Paris",
            date_range={"from": "2024-01-02", "to": "2024-01-02"})
    assert counts(r) == [1]


# -- validation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "message"), [
    ({"steps": ["a"], "bogus": 1}, "unknown field 'bogus'"),
    ({"steps": []}, "steps"),
    ({"steps": [{"event": "a", "optional": True}, "b"]}, "first step"),
    ({"steps": ["a", {"event": "b", "optional": True}], "order": "unordered"}, "optional"),
    ({"steps": ["a", {"event": "b", "optional": True}, "b"]}, "optional step"),
    ({"steps": ["a", "b"], "exclusions": [{"event": "x", "from_step": 1, "to_step": 1}]}, "from_step"),
    ({"steps": ["a", "b", "c"], "order": "unordered", "exclusions": [{"event": "x", "from_step": 0,
                                                                      "to_step": 1}]}, "whole funnel"),
    ({"steps": ["a", "b"], "exclusions": [{"event": "b"}]}, "matches every event"),
    ({"steps": ["a", "b"], "breakdown": {"properties": ["p"], "attribution": "step"}}, "attribution_step"),
    ({"steps": ["a", "b"], "order": "unordered", "breakdown": {"properties": ["p"], "attribution": "step",
                                                               "attribution_step": 1}}, "only attribution_step 0"),
    ({"steps": ["a"], "timezone": "Mars/Base"}, "time zone"),
    ({"steps": ["a"], "conversion_window": {"value": 1, "unit": "fortnight"}}, "unit"),
])
def test_invalid_queries_name_the_problem(ws: cxlens.Workspace, query: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        ws.query({"kind": "funnel", **query})


def test_funnel_is_a_registered_kind(ws: cxlens.Workspace) -> None:
    assert "funnel" in ws.query_kinds
