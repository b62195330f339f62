"""Funnel breakdowns (issue 5): values, first/last touch, all events, step attribution, limit and "Other"."""

from __future__ import annotations

from typing import Any

import cxlens
from funnel_support import BASE, engine, ev, run  # noqa: F401  (engine: autouse fixture)


def by_value(r: dict[str, Any]) -> dict[tuple[str, ...], list[int]]:
    return {tuple(b["breakdown_value"]): [s["count"] for s in b["steps"]] for b in r["breakdowns"]}


def bd(*props: str, **kw: Any) -> dict[str, Any]:
    return {"breakdown": {"properties": list(props), **kw}}


TWO_BROWSERS = [ev("u1", "a", 0, browser="Chrome"), ev("u1", "b", 10, browser="Safari")]


def test_first_touch_is_the_default(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], TWO_BROWSERS, **bd("browser"))
    assert by_value(r) == {("Chrome",): [1, 1]}
    assert [s["count"] for s in r["steps"]] == [1, 1]  # the total


def test_first_touch_skips_events_without_a_value(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "b", 10, browser="Safari")], **bd("browser"))
    assert by_value(r) == {("Safari",): [1, 1]}


def test_no_value_anywhere_gives_empty_strings(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "b", 10)], **bd("browser", "os"))
    assert by_value(r) == {("", ""): [1, 1]}


def test_last_touch(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [*TWO_BROWSERS, ev("u1", "b", 20)], **bd("browser", attribution="last_touch"))
    assert by_value(r) == {("Safari",): [1, 1]}


def test_first_touch_in_strict_funnels_looks_at_any_event(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "visit", 0, browser="Firefox"), ev("u1", "a", 10), ev("u1", "b", 20)],
            order="strict", **bd("browser"))
    assert by_value(r) == {("Firefox",): [1, 1]}


def test_all_events_evaluates_the_funnel_per_value(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [*TWO_BROWSERS, ev("u2", "a", 0, browser="Chrome"), ev("u2", "b", 5, browser="Chrome")],
            **bd("browser", attribution="all_events"))
    # u1: under Chrome only a; its Safari b has no Safari a before it
    assert by_value(r) == {("Chrome",): [2, 1]}


def test_all_events_counts_a_person_under_several_values(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0, browser="Chrome"), ev("u1", "b", 1, browser="Chrome"),
                             ev("u1", "a", 2, browser="Safari"), ev("u1", "b", 3, browser="Safari")],
            **bd("browser", attribution="all_events"))
    assert by_value(r) == {("Chrome",): [1, 1], ("Safari",): [1, 1]}
    assert [s["count"] for s in r["steps"]] == [2, 2]


def test_step_attribution_takes_the_value_of_the_event_filling_that_step(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [*TWO_BROWSERS, ev("u2", "a", 0, browser="Chrome")],
            **bd("browser", attribution="step", attribution_step=1))
    assert by_value(r) == {("Safari",): [1, 1]}  # u2 never did step 1 (b): it vanishes


def test_step_attribution_requires_the_filling_event_to_carry_the_value(ws: cxlens.Workspace) -> None:
    # u1's b events: Safari (too late for the window) and Edge (in time). Candidates Safari and Edge;
    # under Safari the step cannot be filled by the Edge event.
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "b", 30, browser="Edge"),
                             ev("u1", "b", 500, browser="Safari")],
            conversion_window={"value": 60, "unit": "second"}, **bd("browser", attribution="step",
                                                                    attribution_step=1))
    assert by_value(r) == {("Edge",): [1, 1], ("Safari",): [1, 0]}


def test_step_attribution_on_step_0_in_unordered_funnels(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "b", 0, browser="Chrome"), ev("u1", "a", 10, browser="Safari")],
            order="unordered", **bd("browser", attribution="step", attribution_step=0))
    # candidates: values of the person's step-0 (a) events; the event starting the progress must carry it
    assert by_value(r) == {("Safari",): [1, 0]}


def test_values_are_strings_numbers_printed_as_text(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a"], [ev("u1", "a", 0, n=1), ev("u2", "a", 0, n=2.5), ev("u3", "a", 0, n=True),
                        ev("u4", "a", 0)], **bd("n"))
    assert sorted(by_value(r)) == [("",), ("1",), ("2.5",), ("true",)]


def test_several_properties_give_a_list_per_value(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a"], [ev("u1", "a", 0, browser="Chrome", os="Mac"), ev("u2", "a", 0, browser="Chrome")],
            **bd("browser", "os"))
    assert by_value(r) == {("Chrome", "Mac"): [1], ("Chrome", ""): [1]}


def test_person_breakdown(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p1", "distinct_ids": ["d1"], "properties": {"plan": "pro"}}])
    r = run(ws, ["a", "b"], [ev("d1", "a", 0), ev("d1", "b", 1), ev("d2", "a", 0)],
            breakdown={"type": "person", "properties": ["plan"]})
    assert by_value(r) == {("pro",): [1, 1], ("",): [1, 0]}


def test_limit_keeps_top_values_by_last_step_then_earlier_steps_and_merges_the_rest(ws: cxlens.Workspace) -> None:
    events = []
    # value: (persons entering, persons converting)
    plan = {"v1": (5, 1), "v2": (2, 2), "v3": (4, 1), "v4": (1, 0), "v5": (3, 0)}
    for value, (entered, converted) in plan.items():
        for i in range(entered):
            who = f"{value}-{i}"
            events.append(ev(who, "a", 0, v=value))
            if i < converted:
                events.append(ev(who, "b", 5, v=value))
    r = run(ws, ["a", "b"], events, breakdown={"properties": ["v"], "limit": 3})
    rows = [(b["breakdown_value"], [s["count"] for s in b["steps"]]) for b in r["breakdowns"]]
    # ranking: v2 (2 converted), v1 (1, 5 entered), v3 (1, 4 entered), then v5, v4 -> Other
    assert rows[:3] == [(["v2"], [2, 2]), (["v1"], [5, 1]), (["v3"], [4, 1])]
    assert rows[3] == (["Other"], [4, 0])
    assert [s["count"] for s in r["steps"]] == [15, 4]


def test_breakdown_conversion_times_per_value_and_total(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0, v="x"), ev("u1", "b", 10), ev("u2", "a", 0, v="y"), ev("u2", "b", 30)],
            **bd("v"))
    times = {tuple(b["breakdown_value"]): b["steps"][1]["average_conversion_time"] for b in r["breakdowns"]}
    assert times == {("x",): 10.0, ("y",): 30.0}
    assert r["steps"][1]["average_conversion_time"] == 20.0
