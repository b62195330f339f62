"""The command line: import with errors that name row and column, info, query, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlens import Workspace
from cxlens.cli.main import app

runner = CliRunner()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``cxlens`` entry point in a subprocess (exit code, stderr, no traceback)."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cxlens", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def _events_csv(path: Path, n: int, bad_row: int | None = None) -> Path:
    lines = ["timestamp,distinct_id,event,plan"]
    for i in range(1, n + 1):
        ts = "2024-13-45 25:00" if i == bad_row else f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
        lines.append(f"{ts},user-{i % 97},{'signup' if i % 3 else 'purchase'},free")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_value_in_row_1234_names_row_and_column_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cx.duckdb"
    good = _events_csv(tmp_path / "good.csv", 10)
    assert cli(db, "import", "events", str(good)).returncode == 0
    before = json.loads(cli(db, "info", "--json").stdout)
    assert before["events"] == 10

    bad = _events_csv(tmp_path / "bad.csv", 2000, bad_row=1234)
    res = cli(db, "import", "events", str(bad))
    assert res.returncode != 0
    assert "bad.csv" in res.stderr and "row 1234" in res.stderr and "'timestamp'" in res.stderr
    assert "2024-13-45 25:00" in res.stderr and "expected" in res.stderr
    assert "Traceback" not in res.stderr
    assert json.loads(cli(db, "info", "--json").stdout) == before


def test_several_files_are_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cx.duckdb"
    a = _events_csv(tmp_path / "a.csv", 100)
    b = _events_csv(tmp_path / "b.csv", 100, bad_row=100)
    res = cli(db, "import", "events", str(a), str(b))
    assert res.returncode == 2 and "b.csv, row 100" in res.stderr
    assert json.loads(cli(db, "info", "--json").stdout)["events"] == 0


def test_import_with_mapping_and_constants(tmp_path: Path) -> None:
    src = tmp_path / "survey.csv"
    src.write_text("when,who,rating,comment\n2024-01-02,u1,9,great\n2024-01-03,u2,3,\n")
    db = tmp_path / "cx.duckdb"
    r = runner.invoke(app, ["--db", str(db), "import", "responses", str(src), "--map", "when=timestamp",
                            "--map", "who=distinct_id", "--map", "rating=score", "--map", "comment=text",
                            "--set", "survey=onboarding", "--set", "question=nps",
                            "--set", "question_type=nps", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["rows_read"] == 2 and report["rows_imported"] == {"responses": 2}
    assert report["rows_rejected"] == 0
    r = runner.invoke(app, ["--db", str(db), "query",
                            '{"kind": "count", "table": "responses", "by": ["survey", "question_type"]}'])
    assert json.loads(r.stdout)["rows"] == [{"survey": "onboarding", "question_type": "nps", "count": 2}]


def test_generic_preset_by_name_and_in_presets(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("ts,user,event\n2024-05-01T10:00:00Z,u1,signup\n")
    db = tmp_path / "cx.duckdb"
    r = runner.invoke(app, ["--db", str(db), "import", "events", str(src), "--preset", "generic",
                            "--map", "ts=timestamp", "--map", "user=distinct_id", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["preset"] == "generic"
    r = runner.invoke(app, ["--db", str(db), "import", "events", str(src), "--preset", "nope"])
    assert r.exit_code == 2 and "segment, generic" in r.output
    r = runner.invoke(app, ["presets"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "generic" in r.output


def test_query_from_file_and_errors(tmp_path: Path) -> None:
    db = tmp_path / "cx.duckdb"
    qf = tmp_path / "q.json"
    qf.write_text('{"kind": "count", "table": "events"}')
    r = runner.invoke(app, ["--db", str(db), "query", str(qf)])
    assert r.exit_code == 2 and "no workspace at" in r.stderr and not db.exists()
    Workspace(db).close()
    r = runner.invoke(app, ["--db", str(db), "query", str(qf)])
    assert r.exit_code == 0 and json.loads(r.stdout)["total"] == 0
    r = runner.invoke(app, ["--db", str(db), "query", '{"kind": "nope"}'])
    assert r.exit_code == 2 and "valid kinds: " in r.stderr
    from cxlens.query import QUERY_KINDS

    listed = r.stderr.split("valid kinds: ", 1)[1].strip().split(", ")
    assert listed == sorted(QUERY_KINDS) and "count" in listed
    r = runner.invoke(app, ["--db", str(db), "query", '{"kind": "count", "tabel": "events"}'])
    assert r.exit_code == 2 and "unknown field 'tabel'" in r.stderr and "Valid fields" in r.stderr
    r = runner.invoke(app, ["--db", str(db), "query", "{not json"])
    assert r.exit_code == 2 and "not valid JSON" in r.stderr


@pytest.mark.parametrize("args", [["nps"], ["rating", "--question", "q"], ["tickets"], ["reviews"], ["churn"],
                                  ["funnel", "--step", "a", "--step", "b"], ["report", "--out", "r.html"]])
def test_read_commands_refuse_a_missing_workspace(tmp_path: Path, args: list[str]) -> None:
    """No --db file: one clear error (exit 2), the same for every reading command, never an empty answer."""
    db = tmp_path / "missing.duckdb"
    r = runner.invoke(app, ["--db", str(db), *args])
    assert r.exit_code == 2, r.output
    assert "no workspace at" in r.stderr and not db.exists()


def test_missing_file_and_unknown_kind(tmp_path: Path) -> None:
    db = tmp_path / "cx.duckdb"
    r = runner.invoke(app, ["--db", str(db), "import", "events", str(tmp_path / "nope.csv")])
    assert r.exit_code != 0 and "no such file" in r.stderr
    f = _events_csv(tmp_path / "e.csv", 3)
    r = runner.invoke(app, ["--db", str(db), "import", "clicks", str(f)])
    assert r.exit_code == 2 and "valid kinds" in r.stderr


def test_every_command_has_help() -> None:
    for cmd in ("import", "info", "query", "demo", "presets"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.stdout, cmd


def test_demo_loads_bundled_data_without_shared(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    res = cli(db, "demo", "--no-serve")
    assert res.returncode == 0, res.stderr
    counts = json.loads(cli(db, "info", "--json").stdout)
    assert counts["events"] == 862
    assert counts["transactions"] == 6919
    assert counts["sessions"] == 12330
    assert counts["tickets"] == 268
    assert counts["reviews"] == 3734
    assert counts["responses"] > 7908
    again = cli(db, "demo", "--no-serve")
    assert again.returncode == 2 and "--reset" in again.stderr
    assert cli(db, "demo", "--no-serve", "--reset").returncode == 0


@pytest.mark.parametrize("flag", ["--json"])
def test_info_on_missing_workspace_is_all_zero(tmp_path: Path, flag: str) -> None:
    r = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "info", flag])
    assert r.exit_code == 0 and set(json.loads(r.stdout).values()) == {0}


def test_header_only_files_are_checked_like_any_other(tmp_path: Path) -> None:
    """A CSV with a header and no rows: wrong columns are an error naming them (no internal columns), right
    columns import nothing; the same for a preset's header (the bundled NHS FFT file)."""
    db = tmp_path / "h.duckdb"
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n")
    r = runner.invoke(app, ["--db", str(db), "import", "events", str(bad)])
    assert r.exit_code == 2 and "'timestamp'" in r.stderr and "columns found: foo, bar." in r.stderr
    good = tmp_path / "good.csv"
    good.write_text("timestamp,distinct_id,event\n")
    r = runner.invoke(app, ["--db", str(db), "import", "events", str(good)])
    assert r.exit_code == 0 and "0 events" in r.stdout
    from cxlens.datasets import demo_path

    fft = tmp_path / "fft.csv"
    header = Path(demo_path("nhs_fft_v6framework_230831.csv")).read_text(encoding="utf-8").splitlines()[0]
    fft.write_text(header + "\n")
    r = runner.invoke(app, ["--db", str(db), "import", "responses", str(fft)])
    assert r.exit_code == 0 and "nhs_fft" in r.stdout, r.output
