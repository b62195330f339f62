"""``cxlens tickets | reviews | drivers``: tables, --json, errors without traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cxlens
from cxlens.cli.main import app

runner = CliRunner()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cxlens", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def cfpb_db(shared_data, tmp_path) -> Path:
    db = tmp_path / "cx.duckdb"
    with cxlens.Workspace(db) as ws:
        ws.import_file("tickets", shared_data / "support_tickets/cfpb_complaints/cfpb_complaints_2023-04_sample.csv")
    return db


def test_tickets_table_and_json(cfpb_db):
    r = runner.invoke(app, ["--db", str(cfpb_db), "tickets", "--top", "3", "--clusters", "--threshold", "0.4"])
    assert r.exit_code == 0, r.output
    assert "3,999 tickets" in r.output and "Timely responses: 99.8%" in r.output
    assert "Recurring clusters" in r.output and "Debt collection" in r.output
    j = runner.invoke(app, ["--db", str(cfpb_db), "tickets", "--by", "channel", "--json"])
    res = json.loads(j.stdout)
    assert {v["channel"]: v["count"] for v in res["volume"]}["Web"] == 3888


def test_tickets_spikes_table(cfpb_db):
    r = runner.invoke(app, ["--db", str(cfpb_db), "tickets", "--period", "week", "--since", "2023-03-27"])
    assert r.exit_code == 0, r.output
    assert "Spikes" in r.output


def test_tickets_without_matches_prints_no_none_dates(cfpb_db):
    r = runner.invoke(app, ["--db", str(cfpb_db), "tickets", "--since", "2030-01-01"])
    assert r.exit_code == 0, r.output
    assert "0 tickets" in r.output and "None" not in r.output


def test_reviews_and_drivers_commands(tmp_path):
    db = tmp_path / "r.duckdb"
    rows = [{"review_id": str(i), "app": "a" if i % 2 else "b", "rating": 1 + i % 5,
             "timestamp": f"2024-0{1 + i % 2}-05T00:00:00Z"} for i in range(40)]
    survey = []
    for i in range(60):
        base = {"survey": "s", "response_id": str(i)}
        survey += [{**base, "question": "csat", "question_type": "csat", "score": 1 + (i * 7) % 5},
                   {**base, "question": "speed", "question_type": "rating", "score": 1 + (i * 3) % 5,
                    "scale_min": 1, "scale_max": 5},
                   {**base, "question": "staff", "question_type": "rating", "score": 1 + (i * 7) % 5,
                    "scale_min": 1, "scale_max": 5}]
    with cxlens.Workspace(db) as ws:
        ws.add("reviews", rows)
        ws.add("responses", survey)
    r = runner.invoke(app, ["--db", str(db), "reviews", "--by", "app", "--period", "month", "--compare"])
    assert r.exit_code == 0, r.output
    assert "Star ratings" in r.output and "Welch" in r.output
    d = runner.invoke(app, ["--db", str(db), "drivers", "--outcome", "csat", "--n-boot", "50"])
    assert d.exit_code == 0, d.output
    assert "Drivers of csat" in d.output and "staff" in d.output
    j = json.loads(runner.invoke(app, ["--db", str(db), "drivers", "-o", "csat", "--n-boot", "0", "--json"]).stdout)
    assert j["rows"][0]["driver"] == "staff"  # staff equals csat by construction


@pytest.mark.slow
def test_bad_input_is_one_line_without_traceback(tmp_path):
    db = tmp_path / "e.duckdb"
    with cxlens.Workspace(db) as ws:
        ws.add("responses", [{"survey": "s", "question": "nps", "question_type": "nps", "response_id": "1",
                              "score": 9}])
    p = cli(db, "drivers", "--outcome", "missing_question")
    assert p.returncode == 2
    assert "no answered score for outcome question 'missing_question'" in p.stderr
    assert "Traceback" not in p.stderr
    p = cli(db, "tickets", "--by", "no_such_column")
    assert "Traceback" not in p.stderr
