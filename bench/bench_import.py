"""Benchmark: bulk import of synthetic events from Parquet and CSV into an on-disk workspace.

Not a test. Reports rows/s for cxlens' validated import and, in the same run on the same data, for the
engine's own unvalidated bulk load (DuckDB ``INSERT ... SELECT`` from ``read_parquet``/``read_csv``), so the
figure that matters is the ratio, not the absolute time.

    python bench/bench_import.py              # 10M events (about 1.5 GB of CSV in bench/out/)
    python bench/bench_import.py --rows 1e6   # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import cxlens
from cxlens.schema.tables import TABLES
from cxlens.store.duckdb import DUCKDB_TYPES
from cxlens.store.migrations import create_table_sql

OUT = Path(__file__).resolve().parent / "out"
EVENTS = [f"event_{i:02d}" for i in range(18)] + ["$pageview", "purchase"]


def make_events(n: int, seed: int = 42) -> pa.Table:
    """n events, 500k users, 90 days, 20 event names, a JSON properties column (seeded)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    ts = start + rng.integers(0, 90 * 86_400 * 1_000_000, n)
    users = rng.integers(0, 500_000, n)
    names = pa.array(EVENTS).take(pa.array(rng.integers(0, len(EVENTS), n)))
    plan = pa.array(["free", "pro", "team"]).take(pa.array(rng.integers(0, 3, n)))
    page = pc.cast(pa.array(rng.integers(0, 1000, n)), pa.string())
    props = pc.binary_join_element_wise('{"plan":"', plan, '","page":"/p/', page, '"}', "")
    return pa.table({
        "timestamp": pa.array(ts, pa.timestamp("us")),
        "distinct_id": pc.binary_join_element_wise("user-", pc.cast(pa.array(users), pa.string()), ""),
        "event": names,
        "properties": props,
    })


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(source: Path, reader: str) -> float:
    """DuckDB's own bulk load into the same table, no validation (the same-run reference)."""
    db = OUT / "baseline.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(create_table_sql(TABLES["events"], DUCKDB_TYPES))
    t0 = time.perf_counter()
    con.execute(f"INSERT INTO events (timestamp, distinct_id, event, properties) "
                f"SELECT timestamp, distinct_id, event, properties FROM {reader}('{source}')")
    con.execute("CHECKPOINT")
    took = time.perf_counter() - t0
    con.close()
    db.unlink(missing_ok=True)
    return took


def cxlens_import(source: Path) -> tuple[float, int]:
    db = OUT / "cxlens.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    ws = cxlens.Workspace(db)
    report = ws.import_file("events", source)
    ws.close()  # includes the checkpoint to disk
    took = time.perf_counter() - t0
    ws = cxlens.Workspace(db, read_only=True)
    n = ws.count("events")
    ws.close()
    db.unlink(missing_ok=True)
    assert n == report.rows_read
    return took, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=float, default=10_000_000)
    ap.add_argument("--keep", action="store_true", help="keep bench/out/ afterwards")
    args = ap.parse_args()
    n = int(args.rows)
    OUT.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    events = make_events(n)
    parquet, csv = OUT / f"events_{n}.parquet", OUT / f"events_{n}.csv"
    pq.write_table(events, parquet, compression="zstd")
    pacsv.write_csv(events.set_column(0, "timestamp", pc.strftime(events.column(0), "%Y-%m-%dT%H:%M:%SZ")
                                      ), csv)
    del events
    print(f"generated {n:,} events in {time.perf_counter() - t0:.1f} s: parquet "
          f"{parquet.stat().st_size / 1e6:.0f} MB, csv {csv.stat().st_size / 1e6:.0f} MB", flush=True)

    results = {}
    for label, path, reader in (("parquet", parquet, "read_parquet"), ("csv", csv, "read_csv")):
        base = baseline(path, reader)
        took, rows = cxlens_import(path)
        results[label] = {
            "rows": rows,
            "cxlens_s": round(took, 2),
            "cxlens_rows_per_s": round(rows / took),
            "duckdb_raw_s": round(base, 2),
            "duckdb_raw_rows_per_s": round(rows / base),
            "ratio_to_raw": round(took / base, 2),
        }
        r = results[label]
        print(f"{label:8s} cxlens {r['cxlens_s']:6.2f} s = {r['cxlens_rows_per_s'] / 1e6:5.2f} M rows/s | "
              f"DuckDB raw INSERT…SELECT {r['duckdb_raw_s']:6.2f} s = "
              f"{r['duckdb_raw_rows_per_s'] / 1e6:5.2f} M rows/s | ratio {r['ratio_to_raw']:.2f}x",
              flush=True)
    results["peak_rss_mb"] = round(peak_rss_mb())
    results["target_rows_per_s"] = 1_000_000
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(OUT)


if __name__ == "__main__":
    main()
