"""Paths query kind: per-actor sequences after a start point / before an end point, Sankey nodes and links,
checked by hand and against a brute-force oracle on random data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
from cxlens.errors import QueryError

BASE = datetime(2024, 1, 1, 10)


def ev(who: str, minute: int, event: str, **props: Any) -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(minutes=minute)).isoformat() + "Z",
            "properties": props}


EVENTS = [ev("a", 0, "home"), ev("a", 1, "home"), ev("a", 2, "pricing"), ev("a", 3, "signup"),
          ev("b", 0, "pricing"), ev("b", 1, "home"), ev("b", 2, "pricing"), ev("b", 5, "docs"),
          ev("c", 0, "docs"), ev("c", 1, "pricing", page="/p2")]


def links(r: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(x["source"], x["target"]): x["value"] for x in r["links"]}


def test_paths_after_a_start_point_collapse_repeats(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "paths", "start_point": "home", "step_limit": 3})
    assert r["actors"] == 2
    assert links(r) == {("1_home", "2_pricing"): 2, ("2_pricing", "3_signup"): 1, ("2_pricing", "3_docs"): 1}
    assert r["next"] == [{"item": "pricing", "count": 2}]
    nodes = {n["name"]: (n["count"], n["dropoff"]) for n in r["nodes"]}
    assert nodes["3_signup"] == (1, 1) and nodes["1_home"] == (2, 0)


def test_repeats_kept_when_asked(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "paths", "start_point": "home", "step_limit": 2, "collapse_repeats": False})
    assert links(r) == {("1_home", "2_home"): 1, ("1_home", "2_pricing"): 1}


def test_paths_before_an_end_point(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "paths", "end_point": "pricing", "step_limit": 3})
    assert r["actors"] == 3  # b's first pricing is its first event: a path of one step
    assert links(r) == {("2_home", "3_pricing"): 1, ("2_docs", "3_pricing"): 1}
    assert sorted(x["item"] for x in r["previous"]) == ["docs", "home"]


def test_item_property_and_event_filters(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "paths", "item_property": "page", "start_point": "docs", "step_limit": 2})
    assert links(r) == {("1_docs", "2_/p2"): 1}  # b reaches docs last: a one-step path
    r = ws.query({"kind": "paths", "start_point": "home", "exclude_events": ["pricing"], "step_limit": 2})
    assert links(r) == {("1_home", "2_signup"): 1, ("1_home", "2_docs"): 1}
    r = ws.query({"kind": "paths", "include_events": ["home", "docs"], "step_limit": 2})
    assert links(r) == {("1_home", "2_docs"): 1}


def test_edge_limits_and_bad_queries(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "paths", "step_limit": 4, "edge_limit": 2})
    assert len(r["links"]) == 2
    assert ws.query({"kind": "paths", "min_edge_weight": 5})["links"] == []
    with pytest.raises(QueryError, match="not both"):
        ws.query({"kind": "paths", "start_point": "a", "end_point": "b"})


def oracle(events: list[tuple[str, int, str]], start: str | None, depth: int) -> Counter[tuple[str, str]]:
    per: dict[str, list[tuple[int, str]]] = {}
    for w, t, e in events:
        per.setdefault(w, []).append((t, e))
    out: Counter[tuple[str, str]] = Counter()
    for seq in per.values():
        items = [e for _, e in sorted(seq)]
        items = [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]
        if start is not None:
            if start not in items:
                continue
            items = items[items.index(start):]
        items = items[:depth]
        for i in range(len(items) - 1):
            out[(f"{i + 1}_{items[i]}", f"{i + 2}_{items[i + 1]}")] += 1
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 50), st.sampled_from(["p", "q", "r"])),
                min_size=1, max_size=40, unique_by=lambda x: (x[0], x[1])),
       st.sampled_from([None, "p", "q"]), st.integers(2, 5))
def test_links_match_brute_force(events: list[tuple[str, int, str]], start: str | None, depth: int) -> None:
    with cxlens.Workspace() as ws:
        ws.add("events", [ev(w, t, e) for w, t, e in events])
        r = ws.query({"kind": "paths", "start_point": start, "step_limit": depth, "edge_limit": 1000})
    assert links(r) == dict(oracle(events, start, depth))


def test_hashed_actor_keys_fall_back_to_strings_on_a_collision(monkeypatch: pytest.MonkeyPatch,
                                                               ws: cxlens.Workspace) -> None:
    import cxlens.query.paths as paths_mod
    from cxlens.query._events import actor_key

    monkeypatch.setattr(paths_mod, "CODED", False)  # the hashed path (taken when rows have no integer codes)
    ws.add("events", EVENTS)
    want = ws.query({"kind": "paths", "step_limit": 3})
    calls: list[bool] = []

    def colliding(hashed: bool) -> list[Any]:
        calls.append(hashed)
        keys = actor_key(hashed)
        if hashed:  # every actor gets the same first hash
            from sqlglot import exp

            keys[0] = exp.Literal.number(7).as_("k1")
        return keys

    monkeypatch.setattr(paths_mod, "actor_key", colliding)
    assert ws.query({"kind": "paths", "step_limit": 3}) == want
    assert calls == [True, False]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 5), st.sampled_from(["p", "q", "r"])),
                min_size=2, max_size=20), st.randoms())
def test_row_order_does_not_matter(events: list[tuple[str, int, str]], rnd: Any) -> None:
    """Ties at one instant are broken by item, so the insertion order never changes a result."""
    shuffled = list(events)
    rnd.shuffle(shuffled)
    results = []
    for evs in (events, shuffled):
        with cxlens.Workspace() as ws:
            ws.add("events", [ev(w, t, e) for w, t, e in evs])
            results.append([ws.query({"kind": k, **q}) for k, q in (
                ("paths", {"step_limit": 4}), ("trends", {"series": ["p"]}), ("lifecycle", {"event": "p"}),
                ("stickiness", {"event": "q"}),
                ("event_tasks", {"start": "p", "success": "q", "abandon": "r"}))])
    assert results[0] == results[1]
