"""Workspace basics: adding every kind, counting, persons and identities, migrations, read-only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import cxlens
from cxlens.errors import CxlensInputError, ImportValidationError
from cxlens.store.migrations import MIGRATIONS

EVENTS = [
    {"distinct_id": "u1", "event": "$pageview", "timestamp": "2024-05-01T10:00:00Z", "path": "/"},
    {"distinct_id": "u1", "event": "signup", "timestamp": "2024-05-01T10:05:00+02:00"},
    {"distinct_id": "u2", "event": "$pageview", "timestamp": 1714557600},  # epoch seconds
]


def test_add_records_dataframes_and_arrow(ws: cxlens.Workspace) -> None:
    assert ws.add("events", EVENTS) == 3
    df = pd.DataFrame({"distinct_id": ["u3"], "event": ["x"], "timestamp": pd.to_datetime(["2024-05-02"])})
    assert ws.add("events", df) == 1
    assert ws.add("events", pl.from_pandas(df)) == 1
    assert ws.add("events", pa.Table.from_pandas(df)) == 1
    assert ws.count("events") == 6


def test_timestamps_are_utc_and_extra_columns_become_properties(ws: cxlens.Workspace) -> None:
    ws.add("events", EVENTS)
    rows = ws.sql("SELECT distinct_id, event, CAST(timestamp AS VARCHAR) AS ts, "
                  "properties ->> '$.path' AS path FROM events ORDER BY ts").to_pylist()
    assert [r["ts"] for r in rows] == ["2024-05-01 08:05:00", "2024-05-01 10:00:00", "2024-05-01 10:00:00"]
    assert [r["path"] for r in rows] == [None, "/", None]


def test_every_kind_accepts_a_minimal_record(ws: cxlens.Workspace) -> None:
    minimal = {
        "accounts": {"account_id": "a1", "name": "Acme", "plan": "pro"},
        "events": EVENTS[0],
        "responses": {"survey": "s", "question": "q", "question_type": "csat", "score": 4},
        "tickets": {"ticket_id": "t1", "opened_at": "2024-05-01", "text": "broken"},
        "reviews": {"review_id": "r1", "rating": 2, "text": "crashes"},
        "transactions": {"distinct_id": "c1", "timestamp": "2024-05-01", "amount": 9.99},
        "sessions": {"session_id": "s1", "pageviews": 3, "converted": "TRUE"},
        "tasks": {"study": "st", "participant": "p1", "task": "t1", "completed": 1, "time_s": 30},
        "persons": {"id": "p1", "distinct_ids": ["u1"], "account_id": "a1", "role": "buyer"},
    }
    for kind, rec in minimal.items():
        assert ws.add(kind, [rec]) == 1, kind
    info = ws.info()
    assert set(info) == set(cxlens.KINDS)
    assert all(info[k] == 1 for k in minimal)


def test_persons_merge_distinct_ids_and_upsert(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p1", "distinct_ids": ["anon-1", "user-1"], "properties": {"plan": "free"}},
                       {"id": "p2"}])
    ids = ws.sql("SELECT distinct_id, person_id FROM person_distinct_ids ORDER BY 1").to_pylist()
    assert ids == [{"distinct_id": "anon-1", "person_id": "p1"}, {"distinct_id": "p2", "person_id": "p2"},
                   {"distinct_id": "user-1", "person_id": "p1"}]
    # re-adding a person replaces its row (latest wins) and keeps one row per person
    ws.add("persons", [{"id": "p1", "distinct_ids": ["user-1", "crm-9"], "properties": {"plan": "pro"}}])
    assert ws.count("persons") == 2
    assert ws.sql("SELECT properties ->> '$.plan' AS p FROM persons WHERE person_id='p1'").to_pylist() == [
        {"p": "pro"}]
    assert ws.sql("SELECT count(*) AS n FROM person_distinct_ids WHERE person_id='p1'").to_pylist() == [
        {"n": 3}]


def test_distinct_id_of_another_person_is_rejected(ws: cxlens.Workspace) -> None:
    ws.add("persons", [{"id": "p1", "distinct_ids": ["d1"]}])
    with pytest.raises(ImportValidationError, match="already belongs to person 'p1'"):
        ws.add("persons", [{"id": "p2", "distinct_ids": ["d1"]}])
    with pytest.raises(ImportValidationError, match="under two persons"):
        ws.add("persons", [{"id": "p3", "distinct_ids": ["x"]}, {"id": "p4", "distinct_ids": ["x"]}])
    assert ws.count("persons") == 1


def test_bad_batch_is_rejected_whole(ws: cxlens.Workspace) -> None:
    batch = [dict(EVENTS[0]) for _ in range(5)]
    batch[3] = {**batch[3], "timestamp": "yesterday"}
    with pytest.raises(ImportValidationError) as e:
        ws.add("events", batch)
    assert e.value.row == 4 and e.value.column == "timestamp" and e.value.value == "yesterday"
    assert ws.count("events") == 0


@pytest.mark.parametrize(
    ("record", "column", "fragment"),
    [
        ({"survey": "s", "question": "q", "question_type": "nps", "score": 11}, "score", "outside"),
        ({"survey": "s", "question": "q", "question_type": "nps", "score": 7.5}, "score", "whole number"),
        ({"survey": "s", "question": "q", "question_type": "ces", "score": 3, "scale_max": 6}, "scale_max",
         "CES scale"),
        ({"survey": "s", "question": "q", "question_type": "stars", "score": 3}, "question_type", "unknown"),
        ({"survey": "s", "question_type": "nps", "score": 3}, "question", "missing"),
        ({"review_id": "r", "rating": 6}, "rating", "outside 1-5"),
    ],
)
def test_domain_checks(ws: cxlens.Workspace, record: dict, column: str, fragment: str) -> None:
    kind = "reviews" if "rating" in record else "responses"
    with pytest.raises(ImportValidationError, match=fragment) as e:
        ws.add(kind, [record])
    assert e.value.column == column


def test_response_defaults_make_denominators_explicit(ws: cxlens.Workspace) -> None:
    ws.add("responses", [
        {"survey": "s", "question": "nps", "question_type": "nps", "score": 9},
        {"survey": "s", "question": "nps", "question_type": "nps"},
        {"survey": "s", "question": "ces", "question_type": "ces", "score": 2, "scale_max": 5},
        {"survey": "s", "question": "nps", "question_type": "nps", "status": "seen"},
    ])
    rows = ws.sql("SELECT question, status, scale_min, scale_max FROM responses ORDER BY question, status"
                  ).to_pylist()
    assert rows == [
        {"question": "ces", "status": "answered", "scale_min": 1, "scale_max": 5},
        {"question": "nps", "status": "answered", "scale_min": 0, "scale_max": 10},
        {"question": "nps", "status": "seen", "scale_min": 0, "scale_max": 10},
        {"question": "nps", "status": "skipped", "scale_min": 0, "scale_max": 10},
    ]


def test_unknown_kind_lists_valid_kinds(ws: cxlens.Workspace) -> None:
    with pytest.raises(CxlensInputError, match="valid kinds: persons, accounts, events"):
        ws.add("clicks", [{}])
    with pytest.raises(CxlensInputError, match="valid kinds"):
        ws.count("clicks")


def test_file_workspace_persists_migrates_once_and_opens_read_only(tmp_path: Path) -> None:
    db = tmp_path / "cx.duckdb"
    with cxlens.Workspace(db) as w:
        w.add("events", EVENTS)
        assert w.store.schema_version() == MIGRATIONS[-1].version
    with cxlens.Workspace(db) as w:  # reopening applies nothing twice
        applied = w.sql("SELECT count(*) AS n FROM _cxlens_migrations").to_pylist()[0]["n"]
        assert applied == len(MIGRATIONS)
        assert w.count("events") == 3
    r1 = cxlens.Workspace(db, read_only=True)
    r2 = cxlens.Workspace(db, read_only=True)
    assert r1.count("events") == r2.count("events") == 3
    with pytest.raises(CxlensInputError, match="read-only"):
        r1.add("events", EVENTS)
    r1.close()
    r2.close()


def test_parallel_readers_while_writing(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    w = cxlens.Workspace(tmp_path / "cx.duckdb")
    w.add("events", EVENTS)

    def read(_: int) -> int:
        return w.query({"kind": "count", "table": "events"})["total"]

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(read, i) for i in range(20)]
        w.add("events", EVENTS)
        results = [f.result() for f in futures]
    assert set(results) <= {3, 6}
    assert w.count("events") == 6
    w.close()


def test_append_internal_writes_only_internal_tables() -> None:
    import pyarrow as pa
    from sqlglot import exp

    from cxlens.errors import CxlensInputError

    ws = cxlens.Workspace()
    row = pa.table({"survey_id": ["s1"], "definition": ['{"id": "s1"}'],
                    "created_at": pa.array([0], pa.timestamp("us")),
                    "updated_at": pa.array([0], pa.timestamp("us"))})
    ws.store.append_internal("_cxlens_surveys", row)
    ws.store.append_internal("_cxlens_surveys", row, exp.column("survey_id").eq("s1"))  # replaces, not adds
    assert ws.sql('SELECT count(*) AS n FROM "_cxlens_surveys"').to_pylist() == [{"n": 1}]
    with pytest.raises(CxlensInputError, match="unknown internal table"):
        ws.store.append_internal("events", row)
