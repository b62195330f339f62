"""Integer distinct-id codes (:mod:`cxlens.store.distinct_codes`) and the funnel / retention paths using them.

The coded paths (integer actors, numpy-sorted packed keys, perfect-hash GROUP BY) must give exactly the
results of the string paths they replace: checked on random events and identity maps (several distinct ids
per person, a person id equal to an unmapped distinct id), plus the migration of an older file, lazy coding
of new rows, a read-only file with uncoded rows, and the packing helpers against plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
import cxlens.query.funnel_sql as funnel_sql
import cxlens.query.retention as retention
from cxlens.query.funnel import FunnelQuery
from cxlens.query.funnel_kernel import _best_paths
from cxlens.store.distinct_codes import CODE_COLUMN, DICT_TABLE

BASE = datetime(2024, 1, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = ("d0", "d1", "d2", "d3", "d4", "d5")


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Events of a few distinct ids over a week (many same-instant events), and persons owning some ids;
    a person may be called like an unmapped distinct id ("d0"), which makes them one actor."""
    events = []
    for _ in range(draw(st.integers(0, 40))):
        when = BASE + timedelta(days=draw(st.integers(0, 6)), seconds=30 * draw(st.integers(0, 6)))
        events.append({"distinct_id": draw(st.sampled_from(IDS)), "event": draw(st.sampled_from("abcx")),
                       "timestamp": when.isoformat() + "Z",
                       "properties": {"g": draw(st.sampled_from(["m", "n", ""])), "k": draw(st.sampled_from("12"))}})
    owned = draw(st.lists(st.sampled_from(IDS[1:]), unique=True, max_size=4))
    persons: list[dict[str, Any]] = []
    if owned:
        cut = draw(st.integers(1, len(owned)))
        name = draw(st.sampled_from(["p", "d0"]))
        persons.append({"id": name, "distinct_ids": owned[:cut]})
        if owned[cut:]:
            persons.append({"id": "q", "distinct_ids": owned[cut:]})
    return events, persons


@st.composite
def funnels(draw: st.DrawFn) -> dict[str, Any]:
    order = draw(st.sampled_from(["ordered", "ordered", "ordered", "strict", "unordered"]))
    n = draw(st.integers(1, 4))
    steps: list[dict[str, Any]] = [{"event": draw(st.sampled_from("ab" if i == 0 else "abc"))} for i in range(n)]
    if draw(st.integers(0, 3)) == 0:
        steps[-1]["properties"] = [{"key": "k", "value": "1"}]
    if order != "unordered" and draw(st.integers(0, 4)) == 0:
        steps[0]["first_time_for_user"] = "event"
    q: dict[str, Any] = {"kind": "funnel", "steps": steps, "order": order,
                         "conversion_window": draw(st.sampled_from([{"value": 90, "unit": "second"},
                                                                     {"value": 2, "unit": "day"}]))}
    if n > 1 and draw(st.integers(0, 3)) == 0:
        q["exclusions"] = [{"event": "x", "from_step": 0, "to_step": n - 1}]
    if draw(st.integers(0, 3)) == 0:
        q["breakdown"] = {"properties": ["g"], "attribution": draw(st.sampled_from(["first_touch", "all_events"]))}
    return q


@st.composite
def retentions(draw: st.DrawFn) -> dict[str, Any]:
    q: dict[str, Any] = {"kind": "retention", "period": "day", "mode": draw(st.sampled_from(
        ["recurring", "first_time", "first_ever"])), "date_range": {"date_from": "2024-01-01", "date_to": "2024-01-07"},
        "target": draw(st.sampled_from([{"event": "a"}, {"event": "a", "properties": [{"key": "k", "value": "1"}]},
                                        {}])),
        "returning": draw(st.sampled_from([{"event": "b"}, {}])),
        "minimum_occurrences": draw(st.sampled_from([1, 1, 2])), "cumulative": draw(st.booleans())}
    if draw(st.integers(0, 3)) == 0:
        q["breakdown"] = {"property": "g"}
    return q


def _both(ws: cxlens.Workspace, q: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    coded = ws.query(q)
    with monkeypatch.context() as m:
        m.setattr(funnel_sql, "CODED", False)
        m.setattr(retention, "CODED", False)
        plain = ws.query(q)
    return coded, plain


@contextmanager
def _loaded(events: list[dict[str, Any]], persons: list[dict[str, Any]] | None = None,
            ) -> Iterator[tuple[cxlens.Workspace, pytest.MonkeyPatch]]:
    """An in-memory workspace holding ``persons`` and ``events``, and a monkeypatch undone on exit."""
    with cxlens.Workspace() as ws, pytest.MonkeyPatch.context() as mp:
        if persons:
            ws.add("persons", persons)
        if events:
            ws.add("events", events)
        yield ws, mp


def _valid(q: dict[str, Any]) -> bool:
    try:
        FunnelQuery.model_validate(q)
    except ValueError:
        return False
    return True


@SETTINGS
@given(histories(), funnels())
def test_coded_funnels_match_the_string_path(data: tuple[list[dict[str, Any]], list[dict[str, Any]]],
                                             q: dict[str, Any]) -> None:
    events, persons = data
    if not _valid(q):
        return
    with _loaded(events, persons) as (ws, mp):
        coded, plain = _both(ws, q, mp)
    assert coded == plain


@SETTINGS
@given(histories(), retentions())
def test_coded_retention_matches_the_string_path(data: tuple[list[dict[str, Any]], list[dict[str, Any]]],
                                                 q: dict[str, Any]) -> None:
    events, persons = data
    with _loaded(events, persons) as (ws, mp):
        coded, plain = _both(ws, q, mp)
    assert coded == plain


def _ev(who: str, event: str, day: int) -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(days=day)).isoformat() + "Z"}


FUNNEL = {"kind": "funnel", "steps": ["a", "b"], "conversion_window": {"value": 3, "unit": "day"}}


def _codes(ws: cxlens.Workspace) -> dict[str, int]:
    rows = ws.store.execute(f'SELECT distinct_id, code FROM "{DICT_TABLE}"').to_pylist()
    return {r["distinct_id"]: r["code"] for r in rows}


def _uncoded(ws: cxlens.Workspace) -> int:
    return ws.store.execute(f'SELECT count(*) AS n FROM events WHERE "{CODE_COLUMN}" IS NULL').column(0)[0].as_py()


def test_new_rows_are_coded_by_the_next_query_and_codes_stay() -> None:
    with cxlens.Workspace() as ws:
        ws.add("events", [_ev("u2", "a", 0), _ev("u1", "a", 0), _ev("u1", "b", 1)])
        assert _uncoded(ws) == 3  # ingest writes no code
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 1]
        first = _codes(ws)
        assert _uncoded(ws) == 0 and sorted(first.values()) == [0, 1]
        ws.add("events", [_ev("u2", "b", 2), _ev("u0", "a", 5)])
        assert _uncoded(ws) == 2
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [3, 2]
        codes = _codes(ws)
        assert _uncoded(ws) == 0
        assert {k: codes[k] for k in first} == first and codes["u0"] == 2  # dense, earlier codes unchanged
        pairs = ws.store.execute(f'SELECT DISTINCT distinct_id, "{CODE_COLUMN}" AS c FROM events').to_pylist()
        assert {r["distinct_id"]: r["c"] for r in pairs} == codes


def older_file(path: Path, version: int, column: str, table: str) -> None:
    """Make ``path`` a file written before migration ``version``, which added ``events.column`` and ``table``."""
    con = duckdb.connect(str(path))
    con.execute(f'ALTER TABLE events DROP COLUMN "{column}"')
    con.execute(f'DROP TABLE "{table}"')
    con.execute("DELETE FROM _cxlens_migrations WHERE version = ?", [version])
    con.close()


def test_the_migration_codes_the_rows_of_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with cxlens.Workspace(path) as ws:
        ws.add("events", [_ev("u1", "a", 0), _ev("u1", "b", 1), _ev("u2", "a", 0)])
    older_file(path, 5, CODE_COLUMN, DICT_TABLE)
    with cxlens.Workspace(path) as ws:
        assert _uncoded(ws) == 0
        assert sorted(_codes(ws)) == ["u1", "u2"]
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 1]


def test_a_read_only_file_with_uncoded_rows_reads_the_strings(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    events = [_ev("u1", "a", 0), _ev("u1", "b", 1), _ev("u2", "a", 0)]
    with cxlens.Workspace(path) as ws:
        ws.add("events", events)
        assert _uncoded(ws) == 3
    with cxlens.Workspace(path, read_only=True) as ws:
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 1]
        r = ws.query({"kind": "retention", "period": "day", "date_range": {"date_from": "2024-01-01",
                                                                              "date_to": "2024-01-02"}})
        assert r["rows"] == [[2, 1], [1]]
        assert _uncoded(ws) == 3


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 400), st.sampled_from([1, 1_000, 1_000_000, 7]),
       st.integers(1, 62), st.integers(1, 8))
def test_sort_packed_sorts_like_lexsort_or_declines(seed: int, size: int, unit: int, t_bits: int,
                                                    sm_bits: int) -> None:
    rng = np.random.default_rng(seed)
    actor = rng.integers(0, 50, size).astype(np.int64)
    t = rng.integers(0, 2 ** min(t_bits, 40), size).astype(np.int64) * unit + 1_700_000_000_000_000
    sm = rng.integers(0, 2 ** sm_bits, size).astype(np.int64)
    got = funnel_sql.sort_packed(actor, t, sm, sm_bits)
    o = np.lexsort((sm, t, actor))
    if got is None:  # only when actor, time offset and step bits need more than 63 bits
        assert int(actor.max()).bit_length() + int((t - t.min()).max()).bit_length() + sm_bits > 63
        return
    for a, b in zip(got, (actor[o], t[o], sm[o]), strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 300))
def test_best_paths_packed_score_equals_the_three_pass_choice(seed: int, n_path: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.sort(rng.integers(0, 20, n_path))
    bstart = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    reached = rng.integers(1, 5, n_path).astype(np.int64)
    size = 4 * n_path
    last = rng.integers(0, size, n_path).astype(np.int64)
    packed = _best_paths(reached, last, bstart, size)
    passes = _best_paths(reached, last, bstart, 1 << 40)  # too wide to pack: the three-pass selection
    np.testing.assert_array_equal(packed, passes)


@st.composite
def simple_funnel_cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ordered funnels the vectorised kernel takes (no exclusions, optional steps or step attribution), on
    runs of repeated steps and same-instant events, where start dominance and the same-instant rules bite."""
    events = []
    for p in range(draw(st.integers(1, 4))):
        sec = 0
        for _ in range(draw(st.integers(0, 14))):
            sec += draw(st.sampled_from([0, 0, 10, 30, 60]))
            events.append({"distinct_id": f"u{p}", "event": draw(st.sampled_from("aaabbcd")),
                           "timestamp": (BASE + timedelta(seconds=sec)).isoformat() + "Z"})
    n = draw(st.integers(1, 4))
    steps = [draw(st.sampled_from("ab" if i == 0 else "abcd")) for i in range(n)]
    q = {"kind": "funnel", "steps": steps, "conversion_window": {"value": draw(st.integers(1, 6)) * 20,
                                                                "unit": "second"}}
    return events, q


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simple_funnel_cases())
def test_the_ordered_kernel_equals_the_scalar_state_machine(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    events, q = case
    with _loaded(events) as (ws, mp):
        fast = ws.query(q)
        mp.setattr(cxlens.query.funnel, "ENGINE", "scalar")
        assert ws.query(q) == fast


@SETTINGS
@given(histories(), funnels())
def test_evaluating_the_keys_in_two_threads_changes_nothing(data: tuple[list[dict[str, Any]], list[dict[str, Any]]],
                                                            q: dict[str, Any]) -> None:
    events, persons = data
    if not _valid(q):
        return
    with _loaded(events, persons) as (ws, mp):
        whole = ws.query(q)
        mp.setattr(cxlens.query.funnel, "SPLIT_ROWS", 1)
        mp.setattr(cxlens.query.funnel, "_workers", lambda: 2)
        assert ws.query(q) == whole


@SETTINGS
@given(histories(), retentions())
def test_retention_pattern_histogram_equals_the_per_column_count(
        data: tuple[list[dict[str, Any]], list[dict[str, Any]]], q: dict[str, Any]) -> None:
    events, persons = data
    with _loaded(events, persons) as (ws, mp):
        fast = ws.query(q)
        mp.setattr(retention, "SMALL_TABLE", 0)
        assert ws.query(q) == fast
