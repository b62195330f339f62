"""Lifecycle and stickiness query kinds: PostHog's rules (anchors.md: new = created this period, returning =
active now and in the previous period, resurrecting = active now, not previous, not new, dormant = active
previous, not now, negative), checked by hand and against a brute-force oracle on random data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens

BASE = datetime(2024, 1, 1, 10)


def ev(who: str, day: int, event: str = "x") -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(days=day)).isoformat() + "Z"}


RANGE = {"date_from": "2024-01-02", "date_to": "2024-01-04"}


def test_lifecycle_statuses(ws: cxlens.Workspace) -> None:
    # a: days 0,1,3; b: 1,2; c: 0,2 (day 0 lies before the table, which starts on day 1)
    ws.add("events", [ev("a", 0), ev("a", 1), ev("a", 3), ev("b", 1), ev("b", 2), ev("c", 0), ev("c", 2)])
    r = ws.query({"kind": "lifecycle", "event": {"event": "x"}, "date_range": RANGE})
    assert r["dates"] == ["2024-01-02T00:00:00", "2024-01-03T00:00:00", "2024-01-04T00:00:00"]
    assert r["new"] == [1, 0, 0]  # b first seen on day 1
    assert r["returning"] == [1, 1, 0]  # a on day 1 (active day 0), b on day 2
    assert r["resurrecting"] == [0, 1, 1]  # c on day 2, a on day 3
    assert r["dormant"] == [-1, -1, -2]  # c on day 1; a on day 2; b and c on day 3


def test_new_uses_the_person_creation_time(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["p1"], "created_at": "2023-12-01T00:00:00Z"}])
    ws.add("events", [ev("p1", 2), ev("q", 2)])
    r = ws.query({"kind": "lifecycle", "event": "x", "date_range": RANGE})
    assert r["new"] == [0, 1, 0]  # only q is new; p was created long before
    assert r["resurrecting"] == [0, 1, 0]


def test_new_uses_the_first_event_of_any_name(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 0, "other"), ev("a", 1)])
    r = ws.query({"kind": "lifecycle", "event": "x", "date_range": RANGE})
    assert r["new"] == [0, 0, 0] and r["resurrecting"] == [1, 0, 0]


def test_lifecycle_weekly_and_empty(ws: cxlens.Workspace) -> None:
    assert ws.query({"kind": "lifecycle", "event": "x"})["dates"] == []
    ws.add("events", [ev("a", 0), ev("a", 8), ev("b", 8)])
    r = ws.query({"kind": "lifecycle", "event": "x", "interval": "week", "week_start": "monday"})
    assert r["new"] == [1, 1] and r["returning"] == [0, 1] and r["dormant"] == [0, 0]


def lifecycle_oracle(events: list[tuple[str, int]], first: int, last: int) -> dict[str, list[int]]:
    active = {(w, d) for w, d in events}
    created = {}
    for w, d in events:
        created[w] = min(created.get(w, d), d)
    out: dict[str, list[int]] = {s: [] for s in ("new", "returning", "resurrecting", "dormant")}
    for d in range(first, last + 1):
        now = {w for w, dd in active if dd == d}
        prev = {w for w, dd in active if dd == d - 1}
        new = {w for w in now if created[w] == d}
        out["new"].append(len(new))
        out["returning"].append(len((now & prev) - new))
        out["resurrecting"].append(len(now - prev - new))
        out["dormant"].append(-len(prev - now))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 9)), min_size=1, max_size=40),
       st.integers(1, 4), st.integers(5, 9))
def test_lifecycle_and_stickiness_match_brute_force(events: list[tuple[str, int]], first: int, last: int) -> None:
    dr = {"date_from": (BASE + timedelta(days=first)).date().isoformat(),
          "date_to": (BASE + timedelta(days=last)).date().isoformat()}
    with cxlens.Workspace() as ws:
        ws.add("events", [ev(w, d) for w, d in events])
        r = ws.query({"kind": "lifecycle", "event": "x", "date_range": dr})
        s = ws.query({"kind": "stickiness", "event": "x", "date_range": dr})
    want = lifecycle_oracle(events, first, last)
    assert {k: r[k] for k in want} == want
    per_actor: dict[str, set[int]] = {}
    for w, d in events:
        if first <= d <= last:
            per_actor.setdefault(w, set()).add(d)
    n = last - first + 1
    assert s["data"] == [sum(len(v) == k for v in per_actor.values()) for k in range(1, n + 1)]
    assert s["actors"] == len(per_actor) == s["cumulative"][0]
    assert abs(sum(s["percent"]) - (1.0 if per_actor else 0.0)) < 1e-9


def test_stickiness_counts_active_periods(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p", "distinct_ids": ["a1", "a2"]}])
    ws.add("events", [ev("a1", 0), ev("a2", 0), ev("a2", 1), ev("b", 1), ev("c", 2, "other")])
    r = ws.query({"kind": "stickiness", "event": "x"})
    assert r["periods"] == 2 and r["data"] == [1, 1] and r["cumulative"] == [2, 1]
    r = ws.query({"kind": "stickiness", "event": {"event": None}, "interval": "week"})
    assert r["data"] == [3]
