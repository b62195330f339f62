"""UX task metrics from events (event_tasks), latency percentiles and conversion rates: rules checked by hand,
intervals checked against cxlens.stats / scipy, and a brute-force oracle for the attempt outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
import scipy.stats as st_sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
from cxlens.errors import QueryError
from cxlens.stats import completion_rate, median_ci, task_time
from cxlens.stats.latency import percentile_ci, percentile_ranks

BASE = datetime(2024, 1, 1, 10)


def ev(who: str, minute: float, event: str, **props: Any) -> dict[str, Any]:
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(minutes=minute)).isoformat() + "Z",
            "properties": props}


EVENTS = [ev("a", 0, "start"), ev("a", 1, "click"), ev("a", 2, "err"), ev("a", 3, "done"),
          ev("b", 0, "start"), ev("b", 1, "click"), ev("b", 2, "cancel"), ev("b", 3, "done"),
          ev("c", 0, "start"), ev("c", 5, "start"), ev("c", 9, "done"),
          ev("d", 0, "start"), ev("d", 50, "done"),
          ev("f", 0, "start")]
FULL = {"kind": "event_tasks", "start": "start", "success": "done", "error": "err", "abandon": "cancel",
        "timeout": {"value": 30, "unit": "minute"}}


def test_attempt_outcomes_and_reasons(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query(FULL)["rows"][0]
    # a: success after 3 min; b: cancel before done; c: restarted, then success after 4 min; d: done after the
    # 30-minute timeout; f: nothing before the timeout
    assert (r["attempts"], r["successes"], r["abandoned"], r["open"]) == (6, 2, 4, 0)
    assert r["abandon_reasons"] == {"abandon_event": 1, "restarted": 1, "timeout": 2}
    assert r["success_rate"]["estimate"] == pytest.approx(2 / 6)
    ref = completion_rate([1, 1, 0, 0, 0, 0])
    assert (r["success_rate"]["ci_low"], r["success_rate"]["ci_high"]) == pytest.approx(ref.ci)
    assert r["abandonment_rate"]["estimate"] == pytest.approx(4 / 6)
    assert r["error_rate"]["estimate"] == pytest.approx(1 / 6)
    ref_t = task_time([180, 240])
    assert r["time_on_task"]["estimate"] == pytest.approx(ref_t.estimate) == pytest.approx(np.sqrt(180 * 240))
    assert r["time_on_task"]["ci_low"] == pytest.approx(ref_t.ci_low)
    assert r["clicks_mean"]["estimate"] == 2.0  # a: click, err, done = 3; c (2nd attempt): done = 1
    assert r["clicks_mean"]["ci_low"] >= 0


def test_without_timeout_unfinished_last_attempts_stay_open(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    r = ws.query({"kind": "event_tasks", "start": "start", "success": "done"})["rows"][0]
    assert (r["attempts"], r["successes"], r["open"]) == (6, 4, 1)
    assert r["success_rate"]["n"] == 5  # open attempts are left out of the rates


def test_click_events_errors_before_end_and_breakdown(ws: cxlens.Workspace) -> None:
    ws.add("events", [ev("a", 0, "start", v="A"), ev("a", 1, "click"), ev("a", 2, "scroll"), ev("a", 3, "done"),
                      ev("a", 4, "err"),  # after the success: not counted
                      ev("b", 0, "start", v="B"), ev("b", 1, "err"), ev("b", 2, "err"), ev("b", 3, "done")])
    q = {"kind": "event_tasks", "start": "start", "success": "done", "error": "err", "click_events": ["click"],
         "breakdown": {"property": "v"}}
    rows = {r["breakdown_value"]: r for r in ws.query(q)["rows"]}
    assert rows["A"]["clicks_mean"]["estimate"] == 1 and rows["B"]["clicks_mean"]["estimate"] == 0
    assert rows["A"]["errors_per_attempt"]["estimate"] == 0 and rows["B"]["errors_per_attempt"]["estimate"] == 2
    assert rows["B"]["error_rate"]["estimate"] == 1.0


def test_same_event_for_start_and_success_is_an_error() -> None:
    with pytest.raises(QueryError, match="different"):
        cxlens.Workspace().query({"kind": "event_tasks", "start": "x", "success": "x"})


def oracle(seq: list[tuple[int, str]], timeout: int) -> list[str]:
    """Outcome of each attempt of one actor, by the rules of the module docstring."""
    seq = sorted(seq, key=lambda x: (x[0], x[1] != "s"))
    starts = [i for i, (_, e) in enumerate(seq) if e == "s"]
    out = []
    for k, i in enumerate(starts):
        t0 = seq[i][0]
        stop = starts[k + 1] if k + 1 < len(starts) else len(seq)
        result = None
        for t, e in seq[i + 1:stop]:
            if t - t0 > timeout:
                break
            if e in ("ok", "ab"):
                result = "success" if e == "ok" else "abandon_event"
                break
        if result is None:
            restarted = k + 1 < len(starts) and seq[stop][0] - t0 < timeout
            result = "restarted" if restarted else "timeout"
        out.append(result)
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 60), st.sampled_from(["s", "ok", "ab", "z"])),
                min_size=1, max_size=30, unique_by=lambda x: (x[0], x[1])))
def test_outcomes_match_brute_force(rows: list[tuple[str, int, str]]) -> None:
    with cxlens.Workspace() as ws:
        ws.add("events", [ev(w, m, e) for w, m, e in rows])
        r = ws.query({"kind": "event_tasks", "start": "s", "success": "ok", "abandon": "ab",
                      "timeout": {"value": 20, "unit": "minute"}})["rows"][0]
    want: list[str] = []
    for who in "abc":
        want += oracle([(m, e) for w, m, e in rows if w == who], 20)
    assert r["attempts"] == len(want)
    assert r["successes"] == want.count("success")
    assert r["abandon_reasons"] == {k: want.count(k) for k in ("abandon_event", "restarted", "timeout")}


# -- latency percentiles -------------------------------------------------------------------------------------
def test_percentile_ranks_match_median_ci_and_binomial_coverage() -> None:
    x = np.random.default_rng(3).lognormal(5, 1, 101)
    m, p = median_ci(x), percentile_ci(x, 50)
    assert (p.ci_low, p.ci_high) == (m.ci_low, m.ci_high)
    for n, q in ((50, 0.95), (400, 0.99), (1000, 0.75)):
        lo, hi, cov = percentile_ranks(n, q)
        assert cov == pytest.approx(st_sp.binom.cdf(hi - 1, n, q) - st_sp.binom.cdf(lo - 1, n, q))
        assert cov >= 0.95 or hi == n
        assert st_sp.binom.cdf(lo - 1, n, q) <= 0.025


def test_small_samples_warn_about_coverage() -> None:
    r = percentile_ci(np.arange(10.0), 95)
    assert r.ci_high == 9 and r.warnings and r.extra["coverage"] < 0.95


def test_tiny_samples_still_bracket_the_estimate() -> None:
    # found by hypothesis: n = 2, p99 -- the binomial ranks were (2, 2) while the estimate lies below x_(2)
    r = percentile_ci([0.99, 1.0], 99)
    assert r.ci_low <= r.estimate <= r.ci_high and r.extra["ranks"] == (1, 2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=80), st.sampled_from([50, 75, 95, 99]))
def test_interval_contains_the_estimate(values: list[float], pct: int) -> None:
    r = percentile_ci(values, pct)
    assert r.ci_low <= r.estimate <= r.ci_high
    assert min(values) <= r.ci_low and r.ci_high <= max(values)


def test_latency_by_page(ws: cxlens.Workspace) -> None:
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(6, 0.5, 300), rng.lognormal(5, 0.5, 40)
    ws.add("events", [ev("u", i / 100, "$pageview", page="/a", load_ms=float(v)) for i, v in enumerate(a)] +
           [ev("u", i / 100, "$pageview", page="/b", load_ms=float(v)) for i, v in enumerate(b)] +
           [ev("u", 1, "$pageview", page="/b", load_ms="oops")])
    r = ws.query({"kind": "latency", "property": "load_ms", "by": ["page"]})
    assert [x["page"] for x in r["rows"]] == ["/a", "/b"] and [x["n"] for x in r["rows"]] == [300, 40]
    for row, vals in zip(r["rows"], (a, b), strict=True):
        for p in (50, 75, 95, 99):
            ref = percentile_ci(vals, p)
            assert row[f"p{p}"]["estimate"] == pytest.approx(np.percentile(vals, p))
            assert (row[f"p{p}"]["ci_low"], row[f"p{p}"]["ci_high"]) == pytest.approx(ref.ci)
    with pytest.raises(QueryError, match="between 0 and 100"):
        ws.query({"kind": "latency", "property": "load_ms", "percentiles": [100]})


# -- conversion ------------------------------------------------------------------------------------------------
def test_conversion_on_any_boolean_column(ws: cxlens.Workspace) -> None:
    ws.add("sessions", [{"session_id": f"s{i}", "converted": i % 4 == 0,
                         "properties": {"src": "ad" if i % 2 else "seo"}} for i in range(40)]
           + [{"session_id": "x", "converted": None}])
    r = ws.query({"kind": "conversion", "by": ["src"]})
    rows = {x["src"]: x for x in r["rows"]}
    assert rows["seo"]["successes"] == 10 and rows["seo"]["n"] == 20 and rows["ad"]["successes"] == 0
    assert rows[None]["missing"] == 1 and rows[None]["n"] == 0
    ref = completion_rate([1] * 10 + [0] * 10)
    assert (rows["seo"]["rate"]["ci_low"], rows["seo"]["rate"]["ci_high"]) == pytest.approx(ref.ci)
    ws.add("events", [ev("u", i, "e", ok=i % 3 == 0) for i in range(9)])
    r = ws.query({"kind": "conversion", "table": "events", "column": "ok", "method": "wilson"})
    assert r["rows"][0]["successes"] == 3 and r["rows"][0]["n"] == 9
