"""Integer event-name codes (``events._cxlens_ev``, migration 6) and the funnel fetch that filters on them.

The coded funnel fetch (event names filtered by a bit mask of codes, or an ``IN`` of codes when a code is too
large for the mask; rows sorted in two halves and merged) must equal the string path on random events; plus
the migration of a file written before migration 6, lazy coding of new names, and names never seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.query.test_event_codes import FUNNEL, _ev, older_file

import cxlens
import cxlens.query.funnel
import cxlens.query.funnel_sql as funnel_sql
from cxlens.store.distinct_codes import EVENT_COLUMN, EVENT_TABLE

BASE = datetime(2024, 1, 1)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Events of a few ids (same-instant events, whole seconds or not) and a funnel of distinct bare names,
    some of which may never occur."""
    frac = draw(st.sampled_from([0, 0, 250_000]))
    events = []
    for _ in range(draw(st.integers(0, 50))):
        when = BASE + timedelta(seconds=20 * draw(st.integers(0, 40)), microseconds=frac * draw(st.integers(0, 3)))
        events.append({"distinct_id": draw(st.sampled_from(["u0", "u1", "u2", "u3", "u4"])),
                       "event": draw(st.sampled_from("abcdx")), "timestamp": when.isoformat() + "Z"})
    n = draw(st.integers(1, 4))
    steps = draw(st.lists(st.sampled_from("abcdz"), min_size=n, max_size=n, unique=True))
    return events, {"kind": "funnel", "steps": steps,
                    "conversion_window": {"value": draw(st.integers(1, 8)) * 60, "unit": "second"}}


def _plain(ws: cxlens.Workspace, q: dict[str, Any]) -> Any:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(funnel_sql, "CODED", False)
        return ws.query(q)


@SETTINGS
@given(cases(), st.sampled_from([63, 0]), st.booleans())
def test_the_event_code_fetch_equals_the_string_path(case: tuple[list[dict[str, Any]], dict[str, Any]],
                                                     mask_codes: int, split: bool) -> None:
    events, q = case
    with cxlens.Workspace() as ws, pytest.MonkeyPatch.context() as mp:
        if events:
            ws.add("events", events)
        plain = _plain(ws, q)
        mp.setattr(funnel_sql, "MASK_CODES", mask_codes)  # 0: every code goes through the IN fallback
        if split:  # two halves of the rows sorted, then merged per half of the actors
            mp.setattr(cxlens.query.funnel, "SPLIT_ROWS", 1)
            mp.setattr(cxlens.query.funnel, "_workers", lambda: 2)
        assert ws.query(q) == plain


def _names(ws: cxlens.Workspace) -> dict[str, int]:
    rows = ws.store.execute(f'SELECT event, code FROM "{EVENT_TABLE}"').to_pylist()
    return {r["event"]: r["code"] for r in rows}


def _uncoded(ws: cxlens.Workspace) -> int:
    return ws.store.execute(f'SELECT count(*) AS n FROM events WHERE "{EVENT_COLUMN}" IS NULL').column(0)[0].as_py()


def test_new_names_are_coded_by_the_next_query_and_codes_stay() -> None:
    with cxlens.Workspace() as ws:
        ws.add("events", [_ev("u1", "b", 1), _ev("u1", "a", 0)])
        assert _uncoded(ws) == 2
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [1, 1]
        assert _names(ws) == {"a": 0, "b": 1} and _uncoded(ws) == 0
        ws.add("events", [_ev("u2", "0", 0), _ev("u2", "b", 1), _ev("u2", "a", 0)])
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 2]
        assert _names(ws) == {"a": 0, "b": 1, "0": 2} and _uncoded(ws) == 0
        pairs = ws.store.execute(f'SELECT DISTINCT event, "{EVENT_COLUMN}" AS c FROM events').to_pylist()
        assert {r["event"]: r["c"] for r in pairs} == _names(ws)
        assert [s["count"] for s in ws.query({**FUNNEL, "steps": ["a", "never"]})["steps"]] == [2, 0]


def test_migration_6_codes_the_names_of_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with cxlens.Workspace(path) as ws:
        ws.add("events", [_ev("u1", "a", 0), _ev("u1", "b", 1), _ev("u2", "a", 0)])
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 1]
    older_file(path, 6, EVENT_COLUMN, EVENT_TABLE)
    with cxlens.Workspace(path) as ws:
        assert _uncoded(ws) == 0 and _names(ws) == {"a": 0, "b": 1}
        assert [s["count"] for s in ws.query(FUNNEL)["steps"]] == [2, 1]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 300_000), st.sampled_from([1_000_000, 1_000, 7]))
def test_multiples_checks_every_block(seed: int, size: int, u: int) -> None:
    rng = np.random.default_rng(seed)
    t = rng.integers(-(2**40), 2**40, size) * u
    assert funnel_sql._multiples(t, u) == (not np.remainder(t, u).any())
    t[rng.integers(0, size)] += 1
    assert funnel_sql._multiples(t, u) == (not np.remainder(t, u).any())
