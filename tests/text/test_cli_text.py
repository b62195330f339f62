"""CLI: cxlens sentiment / themes / taxonomy / eval text."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cxlens import Workspace
from cxlens.cli.main import app

runner = CliRunner()


def _db(tmp_path):
    db = tmp_path / "w.duckdb"
    with Workspace(db) as ws:
        ws.add("reviews", [{"review_id": str(i), "rating": r, "text": t, "app": "a"} for i, (r, t) in enumerate([
            (1, "Crashes all the time, awful"), (5, "Love it, great app"), (5, "Great app, love the design"),
            (2, "Sync broken after update, awful"), (4, "Nice design, easy to use")])])
    return db


def test_sentiment_table_and_json(tmp_path) -> None:
    db = _db(tmp_path)
    r = runner.invoke(app, ["--db", str(db), "sentiment", "--source", "reviews", "--by", "rating"])
    assert r.exit_code == 0, r.output
    assert "Sentiment of reviews" in r.output and "vader" in r.output
    r = runner.invoke(app, ["--db", str(db), "sentiment", "--source", "reviews", "--json"])
    assert json.loads(r.stdout)["n"] == 5


def test_themes_and_taxonomy(tmp_path) -> None:
    db = _db(tmp_path)
    r = runner.invoke(app, ["--db", str(db), "themes", "--source", "reviews", "-n", "2"])
    assert r.exit_code == 0, r.output
    assert "Themes in 5 texts of reviews" in r.output
    f = tmp_path / "t.yaml"
    f.write_text("name: cx\nthemes:\n  - name: stability\n    keywords: [crash*, broken]\n"
                 "  - name: design\n    keywords: [design]\n")
    r = runner.invoke(app, ["--db", str(db), "taxonomy", "add", str(f)])
    assert r.exit_code == 0 and "2 themes" in r.output
    r = runner.invoke(app, ["--db", str(db), "taxonomy", "list", "--json"])
    assert json.loads(r.stdout)[0]["name"] == "cx"
    r = runner.invoke(app, ["--db", str(db), "themes", "--source", "reviews", "--taxonomy", "cx", "--json"])
    sizes = {t["theme"]: t["size"] for t in json.loads(r.stdout)["themes"]}
    assert sizes == {"stability": 2, "design": 2}
    r = runner.invoke(app, ["taxonomy", "apply", str(f), "it crashed", "lovely design", "--json"])
    assert [x["themes"] for x in json.loads(r.stdout)] == [["stability"], ["design"]]


def test_bad_taxonomy_file_is_one_line_exit_2(tmp_path) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"themes": [{"name": "a", "keywordz": []}]}))
    r = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "taxonomy", "add", str(f)])
    assert r.exit_code == 2
    assert "keywordz" in r.output and "Traceback" not in r.output


def test_eval_text_skips_absent_sets(tmp_path) -> None:
    r = runner.invoke(app, ["eval", "text", "--shared", str(tmp_path), "--no-embeddings"])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output and "not found" in r.output


def test_eval_text_unknown_set_is_one_clear_line(tmp_path) -> None:
    r = runner.invoke(app, ["eval", "text", "--shared", str(tmp_path), "--only", "bogus"])
    assert r.exit_code == 2
    assert "--only 'bogus': unknown set; sets: vader, uci, fft, maalej, bitext" in r.output


def test_eval_text_vader_only(shared_data) -> None:
    r = runner.invoke(app, ["eval", "text", "--shared", str(shared_data), "--only", "vader", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["vader"]["tweets"]["pearson_r"] >= 0.87
