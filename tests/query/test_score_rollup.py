"""The score rollup (cxlens.store.rollup) answers exactly what a scan of the answers answers.

The oracle is the same query with ``use_rollup: false`` (a GROUP BY over every answer row), plus counts computed
here in plain Python from the rows that went in; the rollup must agree on every field of every row, for random
data added in random batches (so that compaction runs), for every score kind and query shape it accepts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlens
from cxlens.store.rollup import SCORE_ROLLUP

KINDS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
STATUSES = ["answered"] * 6 + ["skipped", "seen", "dismissed"]


def _answers(rng: random.Random, n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        kind = rng.choice(list(KINDS))
        lo, hi = KINDS[kind]
        status = rng.choice(STATUSES)
        day = rng.randint(1, 60)
        rows.append({
            "survey": rng.choice(["rel", "onb"]), "question": f"{kind}_{rng.randint(1, 2)}", "question_type": kind,
            "score": None if status != "answered" or rng.random() < 0.05 else float(rng.randint(lo, hi)),
            "scale_min": lo, "scale_max": hi, "status": status,
            "timestamp": None if rng.random() < 0.03 else
            (date(2024, 1, 1) + timedelta(days=day)).isoformat() + f"T{rng.randint(0, 23):02d}:{i % 60:02d}:00Z",
            "touchpoint": rng.choice(["web", "app", "email", None]), "segment": rng.choice(["a", "b", None]),
            "plan": rng.choice([{"tier": "pro", "seats": 5}, {"tier": "free"}, None]),
        })
    return rows


def _without_source(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "source"}


QUERIES: list[dict[str, Any]] = [
    {"kind": "nps"},
    {"kind": "nps", "by": ["touchpoint"], "period": "week"},
    {"kind": "nps", "by": ["survey", "question"], "period": "month", "compare": "previous_period"},
    {"kind": "csat", "by": ["touchpoint"], "period": "day"},
    {"kind": "csat", "box": [1, 2], "period": "quarter"},
    {"kind": "ces", "by": ["question"], "period": "week", "compare": "previous_period"},
    {"kind": "rating", "box": [4, 5], "by": ["touchpoint"]},
    {"kind": "nps", "filters": [{"key": "touchpoint", "operator": "exact", "value": ["web", "app"]}],
     "period": "week"},
    {"kind": "nps", "filters": [{"key": "score", "operator": "gte", "value": 5}], "by": ["question"]},
    {"kind": "nps", "date_range": {"from": "2024-01-08T00:00:00Z", "to": "2024-02-10T23:59:59.999999Z"},
     "period": "week"},
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), batches=st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_rollup_equals_scan_for_random_data_and_batches(seed: int, batches: list[int]) -> None:
    rng = random.Random(seed)
    with cxlens.Workspace() as ws:
        for size in batches:
            ws.add("responses", _answers(rng, size))
        for q in QUERIES:
            fast, slow = ws.query(q), ws.query({**q, "use_rollup": False})
            assert fast["source"] == "rollup" and slow["source"] == "responses", q
            assert _without_source(fast) == _without_source(slow), q


def test_rollup_counts_against_python(ws: cxlens.Workspace) -> None:
    """Independent check: promoters / detractors / skipped per touchpoint counted here from the input rows."""
    rows = _answers(random.Random(3), 3000)
    ws.add("responses", rows)
    res = ws.query({"kind": "nps", "by": ["touchpoint"]})
    assert res["source"] == "rollup"
    for r in res["rows"]:
        mine = [x for x in rows if x["question_type"] == "nps" and x["touchpoint"] == r["touchpoint"]]
        answered = [x["score"] for x in mine if x["status"] == "answered" and x["score"] is not None]
        assert r["n"] == len(answered)
        assert r["promoters"] == sum(s >= 9 for s in answered)
        assert r["detractors"] == sum(s <= 6 for s in answered)
        assert r["skipped"] == sum(x["status"] == "skipped" for x in mine)


def test_compaction_keeps_the_rollup_small_and_exact(ws: cxlens.Workspace) -> None:
    rng = random.Random(5)
    for _ in range(60):  # many small batches, as the HTTP writer appends them
        ws.add("responses", _answers(rng, 500))
    con = ws.store.connection
    rollup_rows = con.sql(f'SELECT count(*) FROM "{SCORE_ROLLUP}"').fetchall()[0][0]
    distinct = con.sql(f'SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE (n) FROM "{SCORE_ROLLUP}")').fetchall()[0][0]
    assert con.sql(f'SELECT sum(n) FROM "{SCORE_ROLLUP}"').fetchall()[0][0] == 30_000
    assert rollup_rows <= 2 * distinct + 10_000  # compaction ran: duplicates stay bounded
    q = {"kind": "ces", "by": ["touchpoint"], "period": "week"}
    assert _without_source(ws.query(q)) == _without_source(ws.query({**q, "use_rollup": False}))


@pytest.mark.parametrize("q", [
    {"kind": "nps", "by": ["segment"]},  # a JSON property
    {"kind": "nps", "filters": [{"key": "distinct_id", "operator": "is_set"}]},
    {"kind": "nps", "date_range": {"from": "2024-01-08T12:00:00Z"}},  # not a whole day
    {"kind": "nps", "date_range": {"to": "2024-01-31T00:00:00Z"}},
])
def test_queries_the_rollup_cannot_answer_scan(ws: cxlens.Workspace, q: dict[str, Any]) -> None:
    ws.add("responses", _answers(random.Random(1), 500))
    assert ws.query(q)["source"] == "responses"


def test_rows_written_around_the_store_fall_back_to_the_scan(ws: cxlens.Workspace) -> None:
    ws.add("responses", _answers(random.Random(2), 300))
    extra = pa.Table.from_pylist(
        [{"survey": "rel", "question": "nps_1", "question_type": "nps", "score": 10.0, "status": "answered",
          "scale_min": 0, "scale_max": 10}])
    ws.store.connection.register("extra", extra)
    ws.store.connection.execute("INSERT INTO responses BY NAME SELECT * FROM extra")
    res = ws.query({"kind": "nps"})
    assert res["source"] == "responses"
    ws.store.rebuild_score_rollup()
    again = ws.query({"kind": "nps"})
    assert again["source"] == "rollup" and _without_source(again) == _without_source(res)


def test_a_file_from_before_the_rollup_is_backfilled(tmp_path) -> None:
    """Migration 4 creates the rollup from the answers already in an older (version 3) workspace."""
    db = tmp_path / "old.duckdb"
    with cxlens.Workspace(db) as ws:
        ws.add("responses", _answers(random.Random(4), 800))
        expected = ws.query({"kind": "nps", "by": ["touchpoint"], "period": "week", "use_rollup": False})
    con = duckdb.connect(str(db))
    con.execute(f'DROP TABLE "{SCORE_ROLLUP}"')
    con.execute("DELETE FROM _cxlens_migrations WHERE version = 4")
    con.close()
    with cxlens.Workspace(db) as ws:
        got = ws.query({"kind": "nps", "by": ["touchpoint"], "period": "week"})
    assert got["source"] == "rollup" and _without_source(got) == _without_source(expected)


def test_failed_import_leaves_rollup_unchanged(ws: cxlens.Workspace) -> None:
    ws.add("responses", _answers(random.Random(6), 100))
    before = ws.store.connection.sql(f'SELECT sum(n) FROM "{SCORE_ROLLUP}"').fetchall()
    bad = _answers(random.Random(7), 10)
    bad[5]["status"] = "maybe"
    with pytest.raises(cxlens.errors.ImportValidationError):
        ws.add("responses", bad)
    assert ws.store.connection.sql(f'SELECT sum(n) FROM "{SCORE_ROLLUP}"').fetchall() == before


PROPERTY_QUERIES: list[dict[str, Any]] = [
    {"kind": "nps", "by": ["segment"], "period": "week"},
    {"kind": "csat", "by": ["properties.segment", "touchpoint"]},
    {"kind": "ces", "by": ["plan.tier"], "period": "month", "compare": "previous_period"},
    {"kind": "nps", "filters": [{"key": "segment", "operator": "exact", "value": "a"}], "by": ["plan.tier"]},
    {"kind": "rating", "filters": [{"key": "plan.tier", "operator": "is_set"}], "box": [5]},
    {"kind": "nps", "filters": [{"key": "segment", "operator": "is_not", "value": "b"}], "period": "day"},
]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), batches=st.lists(st.integers(1, 300), min_size=1, max_size=4),
       promote_first=st.booleans())
def test_promoted_properties_answer_like_the_scan(seed: int, batches: list[int], promote_first: bool) -> None:
    rng = random.Random(seed)
    with cxlens.Workspace() as ws:
        if promote_first:
            ws.set_rollup_properties(["segment", "plan.tier"])
        for size in batches:
            ws.add("responses", _answers(rng, size))
        if not promote_first:
            ws.set_rollup_properties(["properties.segment", "plan.tier"])
        assert ws.rollup_info()["properties"] == ["segment", "plan.tier"]
        for q in PROPERTY_QUERIES:
            fast, slow = ws.query(q), ws.query({**q, "use_rollup": False})
            assert fast["source"] == "rollup" and slow["source"] == "responses", q
            assert _without_source(fast) == _without_source(slow), q
        # a property that is not promoted still scans
        assert ws.query({"kind": "nps", "by": ["plan.seats"]})["source"] == "responses"


def test_promoting_names_that_are_not_properties_is_refused(ws: cxlens.Workspace) -> None:
    with pytest.raises(cxlens.errors.CxlensInputError, match="a column of responses"):
        ws.set_rollup_properties(["score"])
    with pytest.raises(cxlens.errors.CxlensInputError, match="invalid property name"):
        ws.set_rollup_properties(["a..b"])
    assert ws.rollup_info()["properties"] == []


def test_promoted_properties_survive_reopening_and_the_cli(tmp_path) -> None:
    from typer.testing import CliRunner

    from cxlens.cli.main import app

    db = tmp_path / "r.duckdb"
    with cxlens.Workspace(db) as ws:
        ws.add("responses", _answers(random.Random(8), 400))
    r = CliRunner().invoke(app, ["--db", str(db), "rollup", "--property", "segment"])
    assert r.exit_code == 0 and "promoted properties: segment" in r.stdout
    with cxlens.Workspace(db) as ws:
        ws.add("responses", _answers(random.Random(9), 400))  # appends keep the promoted column filled
        info = ws.rollup_info()
        assert info["properties"] == ["segment"] and info["answers"] == info["stored_answers"] == 800
        q = {"kind": "nps", "by": ["segment"]}
        assert _without_source(ws.query(q)) == _without_source(ws.query({**q, "use_rollup": False}))
    r = CliRunner().invoke(app, ["--db", str(db), "rollup", "--clear", "--json"])
    assert r.exit_code == 0 and '"properties": []' in r.stdout
