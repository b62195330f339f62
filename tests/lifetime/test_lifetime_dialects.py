"""The lifetime SQL is dialect-neutral: the CLV summary renders for ClickHouse and, when chDB is installed, runs
there with the same result as on DuckDB (checked in a subprocess: chDB allows one embedded server per process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date

import pytest
import sqlglot

from cxlens.query.lifetime_source import TransactionSource, rft_summary_select


def test_summary_renders_and_parses_in_clickhouse() -> None:
    sel = rft_summary_select(TransactionSource(), True, date(1997, 9, 30), date(1998, 6, 30))
    sql = sel.sql("clickhouse")
    assert "argMin(amount, day)" in sql and "GROUP BY customer" in sql
    sqlglot.parse_one(sql, read="clickhouse")  # round-trips


SCRIPT = textwrap.dedent("""
    import json, sys
    from datetime import date
    import chdb, numpy as np, pandas as pd
    import cxlens
    from cxlens.query.lifetime_source import TransactionSource, rft_summary_select
    rng = np.random.default_rng(3)
    n = 400
    transactions = pd.DataFrame({
        "distinct_id": rng.choice([f"c{i}" for i in range(60)], n),
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D"),
        "amount": np.round(rng.gamma(3, 10, n), 2)})
    sel = rft_summary_select(TransactionSource(), False, date(2024, 4, 30), date(2024, 7, 18))
    sql = sel.sql("clickhouse").replace("FROM transactions AS t", "FROM Python(transactions) AS t")
    ch = chdb.query(sql, "DataFrame").sort_values("customer").reset_index(drop=True)
    ws = cxlens.Workspace()
    ws.add("transactions", transactions)
    dd = ws.store.execute(sel).to_pandas()
    out = {c: bool(np.allclose(ch[c].astype(float).fillna(0), dd[c].astype(float).fillna(0)))
           for c in ("n_days", "spend", "first_amount", "n_hold", "spend_hold")}
    out["rows"] = [len(ch), len(dd)]
    out["days"] = bool((pd.to_datetime(ch["first_day"]) == pd.to_datetime(dd["first_day"])).all())
    print(json.dumps(out))
""")


def test_summary_runs_on_chdb_like_duckdb() -> None:
    pytest.importorskip("chdb", reason="chDB (the [clickhouse] extra) is not installed")
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out.pop("rows")[0] > 0
    assert all(out.values()), out
