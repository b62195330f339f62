"""Trends, lifecycle, stickiness and paths on integer codes (:mod:`cxlens.store.distinct_codes`) give exactly the
results of their string paths: random events over a week (same-instant events, numeric and non-numeric
properties), identity maps with several distinct ids per person, a person called like an unmapped distinct id
(one actor) and persons created before or inside the table. Also each kind's inner variants (lifecycle's
per-actor bit masks vs sorted pairs, trends' one-scan series vs one query per series) against each other, and
a read-only file with uncoded rows, which reads the strings.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.query.test_event_codes import _loaded as load_events

import cxlens
import cxlens.query.lifecycle as lifecycle
import cxlens.query.paths as paths
import cxlens.query.stickiness as stickiness
import cxlens.query.trends as trends
from cxlens.store.distinct_codes import CODE_COLUMN

BASE = datetime(2024, 1, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = ("d0", "d1", "d2", "d3", "d4", "d5")
KINDS = (trends, lifecycle, stickiness, paths)
WEEK = {"date_from": "2024-01-01", "date_to": "2024-01-07"}
Data = tuple[list[dict[str, Any]], list[dict[str, Any]]]


@st.composite
def histories(draw: st.DrawFn, max_events: int = 40) -> Data:
    """Events of a few distinct ids over a week (days -2 .. 8, so some fall outside the table), and persons
    owning some ids, created long before, inside the week or never said; a person may be called like an
    unmapped distinct id ("d0"), which makes them one actor."""
    events = []
    for _ in range(draw(st.integers(0, max_events))):
        when = BASE + timedelta(days=draw(st.integers(-2, 8)), hours=draw(st.sampled_from([0, 0, 5, 13])),
                                seconds=30 * draw(st.integers(0, 3)))
        events.append({"distinct_id": draw(st.sampled_from(IDS)), "event": draw(st.sampled_from("abcx")),
                       "timestamp": when.isoformat() + "Z",
                       "properties": {"g": draw(st.sampled_from(["m", "n", ""])), "k": draw(st.sampled_from("12")),
                                      "n": draw(st.sampled_from([1, 2.5, -3, "x"]))}})
    owned = [] if draw(st.integers(0, 5)) == 0 else draw(st.lists(st.sampled_from(IDS[1:]), unique=True,
                                                                 min_size=1, max_size=4))
    persons: list[dict[str, Any]] = []
    if owned:
        cut = draw(st.integers(1, len(owned)))
        groups = [(draw(st.sampled_from(["p", "d0"])), owned[:cut]), ("q", owned[cut:])]
        for name, ids in groups:
            if not ids:
                continue
            person: dict[str, Any] = {"id": name, "distinct_ids": ids, "properties": {"tier": draw(
                st.sampled_from(["gold", "free"]))}}
            made = draw(st.sampled_from([None, -30, -30, 0, 3]))
            if made is not None:
                person["created_at"] = (BASE + timedelta(days=made)).isoformat() + "Z"
            persons.append(person)
    return events, persons


ENTITIES = st.sampled_from([{"event": "a"}, {"event": "b"}, {"event": "c"}, {"event": None},
                            {"event": "a", "properties": [{"key": "k", "value": "1"}]},
                            {"event": "b", "properties": [{"key": "g", "value": "m"}]},
                            {"event": "a", "properties": [{"type": "person", "key": "tier", "value": "gold"}]}])
RANGES = st.sampled_from([WEEK, {"date_from": "2024-01-02", "date_to": "2024-01-04"}, None])


@st.composite
def trends_queries(draw: st.DrawFn) -> dict[str, Any]:
    series = []
    for _ in range(draw(st.integers(1, 4))):
        s = dict(draw(ENTITIES))
        s["math"] = draw(st.sampled_from(["total", "unique", "sum", "avg", "min", "max"]))
        if s["math"] not in ("total", "unique"):
            s["math_property"] = "n"
        series.append(s)
    q: dict[str, Any] = {"kind": "trends", "series": series, "interval": draw(st.sampled_from(["day", "week"]))}
    if (dr := draw(RANGES)) is not None:
        q["date_range"] = dr
    if draw(st.booleans()):
        q["breakdown"] = {"type": draw(st.sampled_from(["event", "event", "event", "person"])),
                          "property": draw(st.sampled_from(["g", "g", "g", "tier"])),
                          "limit": draw(st.sampled_from([1, 25]))}
    return q


@st.composite
def series_queries(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    q: dict[str, Any] = {"kind": kind, "event": draw(ENTITIES), "interval": draw(st.sampled_from(["day", "week"])),
                         "timezone": draw(st.sampled_from(["UTC", "America/New_York"]))}
    if (dr := draw(RANGES)) is not None:
        q["date_range"] = dr
    return q


@st.composite
def paths_queries(draw: st.DrawFn) -> dict[str, Any]:
    q: dict[str, Any] = {"kind": "paths", "step_limit": draw(st.integers(2, 4)),
                         "collapse_repeats": draw(st.booleans())}
    point = draw(st.sampled_from([None, "start_point", "end_point"]))
    if point is not None:
        q[point] = draw(st.sampled_from(["a", "b", "m", "zz"]))
    if draw(st.integers(0, 3)) == 0:
        q["item_property"] = "g"
    if draw(st.integers(0, 3)) == 0:
        q["exclude_events"] = ["x"]
    if draw(st.integers(0, 4)) == 0:
        q["include_events"] = ["a", "b"]
    if draw(st.integers(0, 4)) == 0:
        q["global_properties"] = [draw(st.sampled_from([{"key": "k", "value": "1"},
                                                         {"type": "person", "key": "tier", "value": "gold"}]))]
    if draw(st.booleans()):
        q["date_range"] = {"from": "2024-01-01", "to": "2024-01-05T12:00:00"}
    return q


def _loaded(data: Data) -> AbstractContextManager[tuple[cxlens.Workspace, pytest.MonkeyPatch]]:
    """An in-memory workspace holding the persons and events of ``data``, and a monkeypatch undone on exit."""
    events, persons = data
    return load_events(events, persons)


def _strings(ws: cxlens.Workspace, q: dict[str, Any], mp: pytest.MonkeyPatch) -> Any:
    with mp.context() as m:
        for module in KINDS:
            m.setattr(module, "CODED", False)
        return ws.query(q)


@settings(SETTINGS, max_examples=80)
@given(histories(max_events=12), trends_queries())
def test_coded_trends_match_the_string_path(data: Data, q: dict[str, Any]) -> None:
    with _loaded(data) as (ws, mp):
        together = ws.query(q)  # series other than unique ones in one scan, when none joins persons
        mp.setattr(trends, "ONE_SCAN", False)  # every series its own coded GROUP BYs
        alone = ws.query(q)
        assert together == alone == _strings(ws, q, mp)


@SETTINGS
@given(histories(), series_queries("lifecycle"))
def test_coded_lifecycle_matches_the_string_path(data: Data, q: dict[str, Any]) -> None:
    with _loaded(data) as (ws, mp):
        masks = ws.query(q)
        mp.setattr(lifecycle, "MASK_PERIODS", 0)  # sorted (actor, period) pairs on integer actors
        pairs = ws.query(q)
        assert masks == pairs == _strings(ws, q, mp)


@SETTINGS
@given(histories(), series_queries("stickiness"))
def test_coded_stickiness_matches_the_string_path(data: Data, q: dict[str, Any]) -> None:
    with _loaded(data) as (ws, mp):
        masks = ws.query(q)
        mp.setattr(stickiness, "MASK_PERIODS", 0)  # a distinct count of periods per integer actor
        assert masks == ws.query(q) == _strings(ws, q, mp)


@SETTINGS
@given(histories(), paths_queries())
def test_coded_paths_match_the_string_path(data: Data, q: dict[str, Any]) -> None:
    with _loaded(data) as (ws, mp):
        coded = ws.query(q)
        assert coded == _strings(ws, q, mp)
        mp.setattr(paths, "COUNT_BINS", 0)  # nodes and links counted by sorting instead of bincount
        assert ws.query(q) == coded


def _uncoded(ws: cxlens.Workspace) -> int:
    return ws.store.execute(f'SELECT count(*) AS n FROM events WHERE "{CODE_COLUMN}" IS NULL').column(0)[0].as_py()


def test_a_read_only_file_with_uncoded_rows_reads_the_strings(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    events = [{"distinct_id": who, "event": ev, "timestamp": (BASE + timedelta(days=day)).isoformat() + "Z"}
              for who, ev, day in [("u1", "a", 0), ("u1", "b", 1), ("u2", "a", 0), ("u3", "a", 2), ("u2", "b", 2)]]
    queries = [{"kind": "trends", "series": ["a", {"event": "a", "math": "unique"}], "date_range": WEEK},
               {"kind": "lifecycle", "event": "a", "date_range": WEEK},
               {"kind": "stickiness", "event": "a", "date_range": WEEK},
               {"kind": "paths", "start_point": "a"}]
    with cxlens.Workspace(path) as ws:
        ws.add("events", events)
        assert _uncoded(ws) == len(events)
    with cxlens.Workspace(path, read_only=True) as ws:
        read = [ws.query(q) for q in queries]
        assert _uncoded(ws) == len(events)
    with cxlens.Workspace(path) as ws:
        assert [ws.query(q) for q in queries] == read  # the writable workspace codes the rows first
        assert _uncoded(ws) == 0
    assert read[0]["series"][1]["aggregated"] == 3 and read[3]["actors"] == 3
