"""CLI commands clv, churn, rfm, customer-retention and cohorts on the bundled demo sample of CDNOW."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cxlens
from cxlens.cli.lifetime import sparkline
from cxlens.cli.main import app
from cxlens.datasets import demo_path

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cx.duckdb"
    with cxlens.Workspace(path) as ws:
        ws.import_file("transactions", demo_path("CDNOW_sample.txt"), preset="cdnow_sample")
    return path


def run(db: Path, *args: str) -> str:
    res = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    return res.output


def test_clv_table_and_json(db: Path) -> None:
    text = run(db, "clv", "--calibration-end", "1997-09-30", "--top", "3")
    assert "BG/NBD parameters" in text and "hold-out check" in text and "top 3 customers" in text
    assert "0.2426" in text  # r of Fader, Hardie & Lee (2005), 0.243 at 3 decimals
    data = json.loads(run(db, "clv", "--calibration-end", "1997-09-30", "--json"))
    assert set(data["params"]) == {"r", "alpha", "a", "b"} and len(data["customers"]) == 2357


def test_churn_rfm_retention_cohorts(db: Path) -> None:
    text = run(db, "churn", "--inactivity-days", "180", "--unit", "week", "--at", "13", "--at", "52")
    assert "median" in text and "52" in text
    assert "RFM segments" in run(db, "rfm", "--as-of", "1997-09-30")
    assert "CLV and churn by RFM segment" in run(db, "rfm", "--as-of", "1997-09-30", "--clv")
    assert "repeat-purchase rate 48.3%" in run(db, "customer-retention", "--period", "quarter")
    assert "1997-02" in run(db, "cohorts", "--columns", "4")
    data = json.loads(run(db, "cohorts", "--json"))
    assert [c["size"] for c in data["cohorts"]] == [781, 857, 719]


def test_bad_option_is_one_line_error(db: Path) -> None:
    res = runner.invoke(app, ["--db", str(db), "clv", "--model", "nope"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_sparkline_levels() -> None:
    # levels 0..7: 1.0 -> 7 (█), 0.5 -> round(3.5) = 4 (▅), 0.0 -> 0 (▁)
    assert sparkline([0, 1, 2], [1.0, 0.5, 0.0], width=3) == "█▅▁"
    assert sparkline([], []) == ""


def test_churn_refuses_negative_times(tmp_path) -> None:
    """--at -5 is not a time on a survival curve: exit 2 naming the field, not a silent table."""
    from cxlens import Workspace

    db = tmp_path / "c.duckdb"
    Workspace(db).close()
    r = runner.invoke(app, ["--db", str(db), "churn", "--at", "-5"])
    assert r.exit_code == 2 and "at" in r.stderr
