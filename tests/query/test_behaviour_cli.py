"""CLI of the behavioural kinds: readable tables, --json equal to the query, --query files, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cxlens
from cxlens.cli.behaviour import duration
from cxlens.cli.main import app
from cxlens.errors import CxlensInputError

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cx.duckdb"
    ev = []
    for i in range(30):
        who = f"u{i}"
        ev.append({"distinct_id": who, "event": "pageview", "timestamp": f"2024-05-{1 + i % 14:02d}T10:00:00Z",
                   "properties": {"page": "/" if i % 2 else "/pricing", "load_ms": 100 + 7 * i}})
        if i % 2 == 0:
            ev.append({"distinct_id": who, "event": "signup", "timestamp": f"2024-05-{1 + i % 14:02d}T10:05:00Z"})
        if i % 6 == 0:
            ev.append({"distinct_id": who, "event": "pageview", "timestamp": f"2024-05-{8 + i % 14:02d}T10:00:00Z",
                       "properties": {"page": "/"}})
    with cxlens.Workspace(path) as ws:
        ws.add("events", ev)
        ws.add("sessions", [{"session_id": f"s{i}", "converted": i % 5 == 0} for i in range(20)])
    return path


def run(db: Path, *args: str) -> str:
    r = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    return r.output


def test_funnel_table_and_json(db: Path) -> None:
    text = run(db, "funnel", "--step", "pageview", "--step", "signup", "--window", "1h")
    assert "pageview" in text and "signup" in text and "50.0%" in text and "drop-off" in text
    data = json.loads(run(db, "funnel", "--step", "pageview", "--step", "signup", "--window", "1h", "--json"))
    with cxlens.Workspace(db, read_only=True) as ws:
        want = ws.query({"kind": "funnel", "steps": ["pageview", "signup"],
                         "conversion_window": {"value": 1, "unit": "hour"}})
    assert data == json.loads(json.dumps(want))
    assert [s["count"] for s in data["steps"]] == [30, 15]


def test_funnel_from_a_query_file(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "q.json"
    f.write_text(json.dumps({"steps": ["pageview", "signup"], "breakdown": {"properties": ["page"]}}))
    data = json.loads(run(db, "funnel", "--query", str(f), "--json"))
    assert {tuple(b["breakdown_value"]) for b in data["breakdowns"]} == {("/",), ("/pricing",)}


def test_retention_triangle(db: Path) -> None:
    text = run(db, "retention", "--target", "pageview", "--period", "week", "--from", "2024-04-28",
               "--to", "2024-05-25")
    assert "cohort" in text and "2024-04-28" in text and "100.0%" in text
    data = json.loads(run(db, "retention", "--target", "pageview", "--period", "week", "--from", "2024-04-28",
                          "--to", "2024-05-25", "--json"))
    assert len(data["rows"]) == 4 and data["rows"][0][0] > 0


@pytest.mark.parametrize("args,needle", [
    (["trends", "-e", "pageview", "-e", "signup", "--interval", "week"], "total"),
    (["trends", "-e", "pageview", "--math", "avg", "--property", "load_ms"], "pageview (avg)"),
    (["paths", "--start", "pageview", "--depth", "3"], "1_pageview"),
    (["lifecycle", "--event", "pageview"], "resurrecting"),
    (["stickiness", "--event", "pageview"], "active days"),
    (["event-tasks", "--start", "pageview", "--success", "signup", "--timeout", "30m"], "success rate"),
    (["latency", "--event", "pageview", "--property", "load_ms", "--by", "page"], "/pricing"),
    (["conversion"], "20.00%"),
])
def test_commands_print_tables(db: Path, args: list[str], needle: str) -> None:
    assert needle in run(db, *args)
    json.loads(run(db, *args, "--json"))


@pytest.mark.parametrize("args,message", [
    (["funnel", "--step", "a", "--window", "7x"], "--window '7x'"),
    (["funnel"], "--step"),
    (["funnel", "--query", '{"kind": "retention"}'], "this command runs 'funnel'"),
    (["funnel", "--query", "nofile.json"], "no such file"),
    (["trends", "--math", "sum"], "math_property"),
    (["event-tasks", "--start", "a"], "--success"),
    (["trends", "--from", "2024-13-01"], "invalid date or instant '2024-13-01'"),
    (["funnel", "--step", "a", "--to", "2024-02-30"], "invalid date or instant '2024-02-30'"),
])
def test_bad_input_is_one_clear_line(db: Path, args: list[str], message: str) -> None:
    r = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_missing_workspace(tmp_path: Path) -> None:
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "funnel", "--step", "a"])
    assert r.exit_code == 2 and "no workspace" in r.output


def test_durations() -> None:
    assert duration("7d") == {"value": 7, "unit": "day"}
    assert duration("30 min") == {"value": 30, "unit": "minute"}
    assert duration("2weeks") == {"value": 2, "unit": "week"}
    assert duration("1mo") == {"value": 1, "unit": "month"}
    with pytest.raises(CxlensInputError):
        duration("soon")
