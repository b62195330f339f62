"""`cxlens keys create|list|revoke` and `cxlens serve --help` (the server itself is tested with uvicorn in
test_durability and the browser tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlens import Workspace
from cxlens.api.keys import KeyRing
from cxlens.cli.main import app


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "k.duckdb")
    run = CliRunner().invoke
    r = run(app, ["--db", db, "keys", "create", "--scope", "ingest", "--name", "widget", "--json"])
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert created["scope"] == "ingest" and created["token"].startswith(f"cxk_{created['prefix']}_")
    r = run(app, ["--db", db, "keys", "create", "--scope", "read"])
    assert r.exit_code == 0 and "shown once" in r.output
    listed = json.loads(run(app, ["--db", db, "keys", "list", "--json"]).output)
    assert [k["scope"] for k in listed] == ["ingest", "read"] and all("token" not in k for k in listed)
    with Workspace(db) as ws:
        assert KeyRing(ws.store).check(created["token"]).scope == "ingest"
    r = run(app, ["--db", db, "keys", "revoke", created["prefix"], "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["revoked_at"]
    with Workspace(db) as ws:
        assert KeyRing(ws.store).check(created["token"]) is None
    r = run(app, ["--db", db, "keys", "create", "--scope", "root"])
    assert r.exit_code == 2 and "unknown scope" in r.output
    assert run(app, ["--db", db, "keys", "revoke", "nope"]).exit_code == 2


def test_keys_list_does_not_create_a_workspace(tmp_path: Path) -> None:
    db = tmp_path / "typo.duckdb"
    r = CliRunner().invoke(app, ["--db", str(db), "keys", "list", "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == [] and not db.exists()


def test_serve_and_report_help() -> None:
    for cmd in (["serve", "--help"], ["report", "--help"], ["keys", "--help"], ["demo", "--help"]):
        r = CliRunner().invoke(app, cmd)
        assert r.exit_code == 0 and "Usage" in r.output, cmd


def test_serve_bad_setting_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start with a bad setting")

    monkeypatch.setattr(uvicorn, "run", never)
    db = str(tmp_path / "s.duckdb")
    r = CliRunner().invoke(app, ["--db", db, "serve", "--port", "8799"], env={"CXLENS_AUTH": "bogus"})
    assert r.exit_code == 2, r.output
    assert "invalid server setting auth (CXLENS_AUTH)" in r.output and "'bogus'" in r.output
    r = CliRunner().invoke(app, ["--db", db, "serve", "--port", "99999"])
    assert r.exit_code == 2 and "CXLENS_PORT" in r.output, r.output
