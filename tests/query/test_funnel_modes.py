"""Funnel query kind: optional steps, first-time steps, exclusions, strict and unordered funnels (issue 5 rules).

Each test runs with the vectorised kernels, the lockstep state machine and the scalar reference.
"""

from __future__ import annotations

from typing import Any

import cxlens
from funnel_support import BASE, counts, engine, ev, run  # noqa: F401  (engine: autouse fixture)


def gaps(r: dict[str, Any]) -> list[float | None]:
    return [s["average_conversion_time"] for s in r["steps"]]


X01 = [{"event": "x", "from_step": 0, "to_step": 1}]


# -- optional steps ---------------------------------------------------------------------------------------
def test_optional_steps_count_persons_whose_path_includes_them(ws: cxlens.Workspace) -> None:
    journeys = {"1": [1], "123": [1, 2, 3], "13": [1, 3], "12345": [1, 2, 3, 4, 5], "1235": [1, 2, 3, 5],
                "134": [1, 3, 4], "1345": [1, 3, 4, 5], "135": [1, 3, 5]}
    events = [ev(f"u{name}", f"s{step}", 60 * i) for name, steps in journeys.items() for i, step in enumerate(steps)]
    steps = [{"event": f"s{i}", "optional": i in (2, 4)} for i in range(1, 6)]
    r = run(ws, steps, events)
    assert counts(r) == [8, 3, 7, 3, 4]


def test_a_later_step_is_reached_from_the_closest_earlier_reached_step(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", {"event": "b", "optional": True}, "c"], [ev("u1", "a", 0), ev("u1", "c", 120)])
    assert counts(r) == [1, 0, 1]
    assert gaps(r) == [None, None, 120.0]  # measured from the previous required step
    r = run(ws, ["a", {"event": "b", "optional": True}, "c"], [ev("u2", "a", 0), ev("u2", "b", 30), ev("u2", "c", 50)])
    assert counts(r) == [2, 1, 2]


def test_optional_step_of_the_same_event_needs_its_own_event(ws: cxlens.Workspace) -> None:
    steps = ["e", {"event": "e", "optional": True},
             {"event": "e", "properties": [{"key": "url", "value": "u"}]}, "e"]
    r = run(ws, steps, [
        ev("one", "e", 0),
        ev("two", "e", 0), ev("two", "e", 60),
        ev("match", "e", 0), ev("match", "e", 60, url="u"), ev("match", "e", 120),
    ])
    # "two": its second e fills the optional step; "match": the url event fills step 3 straight from step 1
    assert counts(r) == [3, 1, 1, 1]


# -- first time for user ---------------------------------------------------------------------------------
def test_first_time_event_uses_the_first_ever_event_ignoring_the_date_range(ws: cxlens.Workspace) -> None:
    r = run(ws, [{"event": "signup", "first_time_for_user": "event"}, "buy"], [
        ev("old", "signup", -86_400 * 5), ev("old", "signup", 10), ev("old", "buy", 20),  # first signup before range
        ev("new", "signup", 10), ev("new", "signup", 30), ev("new", "buy", 40),
    ], date_range={"from": "2024-01-01", "to": "2024-01-02"})
    assert counts(r) == [1, 1]
    assert gaps(r)[1] == 30.0  # from the first signup (10) to buy (40)


def test_first_time_event_must_pass_the_step_filters(ws: cxlens.Workspace) -> None:
    events = [ev("u1", "signup", 0, src="ads"), ev("u1", "signup", 10, src="seo"),
              ev("u2", "signup", 0, src="seo")]
    seo = [{"key": "src", "value": "seo"}]
    r = run(ws, [{"event": "signup", "properties": seo, "first_time_for_user": "event"}], events)
    assert counts(r) == [1]  # u1's first-ever signup came from ads
    r = run(ws, [{"event": "signup", "properties": seo, "first_time_for_user": "event_and_filters"}])
    assert counts(r) == [2]  # the first signup from seo, whenever it came


def test_first_time_is_per_person_across_distinct_ids(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["web", "app"]}])
    r = run(ws, [{"event": "open", "first_time_for_user": "event"}, "buy"],
            [ev("web", "open", 0), ev("app", "open", 100), ev("app", "buy", 110)],
            conversion_window={"value": 60, "unit": "second"})
    assert counts(r) == [1, 0]  # the person's first open was on the web, 110 s before the purchase


# -- exclusions --------------------------------------------------------------------------------------------
def test_exclusion_drops_the_path_and_the_person(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "x", 10), ev("u1", "b", 20),
                             ev("u2", "a", 0), ev("u2", "b", 20)], exclusions=X01)
    assert counts(r) == [1, 1]  # u1 disappears from every step


def test_a_later_clean_attempt_still_counts(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "x", 10), ev("u1", "a", 100), ev("u1", "b", 110)],
            exclusions=X01)
    assert counts(r) == [1, 1]
    assert gaps(r)[1] == 10.0


def test_exclusion_after_the_window_expired_is_ignored(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "x", 11), ev("u1", "b", 12)], exclusions=X01,
            conversion_window={"value": 10, "unit": "second"})
    assert counts(r) == [1, 0]


def test_exclusion_after_the_path_moved_past_the_interval_is_ignored(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "x", 20), ev("u1", "c", 30)],
            exclusions=X01)
    assert counts(r) == [1, 1, 1]


def test_exclusion_interval_uses_from_and_to_steps(ws: cxlens.Workspace) -> None:
    x12 = [{"event": "x", "from_step": 1, "to_step": 2}]
    before = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "x", 5), ev("u1", "b", 10), ev("u1", "c", 20)],
                 exclusions=x12)
    assert counts(before) == [1, 1, 1]  # x came before step 1 (b): outside the interval
    inside = run(ws, ["a", "b", "c"], [ev("u2", "a", 0), ev("u2", "b", 10), ev("u2", "x", 15),
                                       ev("u2", "c", 20)], exclusions=x12)
    assert counts(inside) == [1, 1, 1]  # u1 as before; u2 disappears


def test_furthest_result_from_a_clean_path_keeps_the_person(ws: cxlens.Workspace) -> None:
    x12 = [{"event": "x", "from_step": 1, "to_step": 2}]
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 5), ev("u1", "x", 6),
                                  ev("u1", "a", 100), ev("u1", "b", 105), ev("u1", "c", 110)], exclusions=x12)
    assert counts(r) == [1, 1, 1]
    assert gaps(r)[1:] == [5.0, 5.0]


def test_exclusions_are_ignored_at_an_instant_with_step_events(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "x", 10), ev("u1", "b", 10)], exclusions=X01)
    assert counts(r) == [1, 1]


def test_exclusion_filters(ws: cxlens.Workspace) -> None:
    excl = [{"event": "x", "properties": [{"key": "k", "value": "bad"}], "from_step": 0, "to_step": 1}]
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "x", 1, k="ok"), ev("u1", "b", 2),
                             ev("u2", "a", 0), ev("u2", "x", 1, k="bad"), ev("u2", "b", 2)], exclusions=excl)
    assert counts(r) == [1, 1]


# -- strict ------------------------------------------------------------------------------------------------
def test_strict_any_other_event_breaks_the_paths(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [
        ev("clean", "a", 0), ev("clean", "b", 1), ev("clean", "c", 2),
        ev("broken", "a", 0), ev("broken", "b", 1), ev("broken", "other", 2), ev("broken", "c", 3),
        ev("early", "a", 0), ev("early", "other", 1), ev("early", "b", 2),
    ], order="strict")
    assert counts(r) == [3, 2, 1]


def test_strict_a_step1_event_restarts(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "other", 1), ev("u1", "a", 2), ev("u1", "b", 3)],
            order="strict")
    assert counts(r) == [1, 1]
    assert gaps(r)[1] == 1.0


def test_strict_is_not_broken_within_one_instant(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "other", 10), ev("u1", "c", 20)],
            order="strict")
    assert counts(r) == [1, 1, 1]


def test_ordered_ignores_other_events(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "other", 1), ev("u1", "b", 2)])
    assert counts(r) == [1, 1]


# -- unordered ---------------------------------------------------------------------------------------------
def test_unordered_counts_distinct_steps_in_any_order(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "c", 0), ev("u1", "a", 10), ev("u1", "b", 20),
                                  ev("u2", "b", 0)], order="unordered")
    assert counts(r) == [2, 1, 1]
    assert [s["name"] for s in r["steps"]] == ["Completed 1 step", "Completed 2 steps", "Completed 3 steps"]


def test_unordered_takes_the_best_sliding_window(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 50), ev("u1", "c", 100),
                                  ev("u2", "a", 0), ev("u2", "b", 50), ev("u2", "c", 60)],
            order="unordered", conversion_window={"value": 60, "unit": "second"})
    assert counts(r) == [2, 2, 1]


def test_unordered_conversion_times_are_gaps_between_first_events_in_time_order(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b", "c"], [ev("u1", "b", 0), ev("u1", "a", 30), ev("u1", "b", 40), ev("u1", "c", 100)],
            order="unordered")
    assert gaps(r) == [None, 30.0, 70.0]


def test_unordered_conversion_times_at_the_first_moment_of_the_maximum(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "b"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "a", 500), ev("u1", "b", 502)],
            order="unordered")
    assert gaps(r) == [None, 10.0]


def test_unordered_same_event_twice_needs_two_events(ws: cxlens.Workspace) -> None:
    r = run(ws, ["a", "a"], [ev("once", "a", 0), ev("twice", "a", 0), ev("twice", "a", 5)], order="unordered")
    assert counts(r) == [2, 1]


def test_unordered_event_fills_an_empty_step_first(ws: cxlens.Workspace) -> None:
    # e matches step 1 ("e") and step 2 (any event): the second e goes to the empty step 2
    r = run(ws, ["e", {"event": None}], [ev("u1", "e", 0), ev("u1", "e", 10)], order="unordered")
    assert counts(r) == [1, 1]


def test_unordered_event_fills_the_step_whose_latest_event_is_oldest(ws: cxlens.Workspace) -> None:
    # window 100 s. e@0 -> step 1; f@5 -> step 2 (any event); e@10 -> step 1 (its latest, 0, is older than
    # step 2's, 5); e@100 -> step 2 (latest 5 older than 10). At h@106 e@0 and f@5 leave the window, e@10
    # (step 1), e@100 (step 2) and h (step 3) remain: all three steps. Had e@100 gone to step 1, step 2
    # would be empty by then.
    r = run(ws, ["e", {"event": None}, "h"], [ev("u1", "e", 0), ev("u1", "f", 5), ev("u1", "e", 10),
                                              ev("u1", "e", 100), ev("u1", "h", 106)],
            order="unordered", conversion_window={"value": 100, "unit": "second"})
    assert counts(r) == [1, 1, 1]
    assert gaps(r) == [None, 90.0, 6.0]


def test_unordered_exclusion_wipes_unrecorded_progress(ws: cxlens.Workspace) -> None:
    x = [{"event": "x", "from_step": 0, "to_step": 2}]
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "x", 20), ev("u1", "c", 30)],
            order="unordered", exclusions=x, conversion_window={"value": 100, "unit": "second"})
    assert counts(r) == [1, 0, 0]


def test_unordered_exclusion_keeps_recorded_progress(ws: cxlens.Workspace) -> None:
    # a and b leave the window when c arrives (200): their two steps are recorded before x wipes the window
    x = [{"event": "x", "from_step": 0, "to_step": 2}]
    r = run(ws, ["a", "b", "c"], [ev("u1", "a", 0), ev("u1", "b", 10), ev("u1", "c", 200), ev("u1", "x", 210)],
            order="unordered", exclusions=x, conversion_window={"value": 100, "unit": "second"})
    assert counts(r) == [1, 1, 0]
