"""Benchmark: NPS by segment x week with 95% intervals, cxlens vs polars lazy vs pandas, same run, same data.

Not a test. Synthetic survey answers as in ``../shared/docs/performance.md`` part 2 (a): scores 0-10, 8
segments, 6 touchpoints, 14 weeks, 5% of the NPS questions shown but skipped; "10M" is the 1M table repeated
ten times. cxlens runs the real query kind (``ws.query({"kind": "nps", "by": [...], "period": "week"})``) on
an on-disk workspace: one GROUP BY over sufficient statistics in DuckDB, then the adjusted-Wald intervals in
``cxlens.stats``. polars (lazy) and pandas get the same data as a typed DataFrame and compute the same
counts and the same adjusted-Wald interval, vectorised. Every engine's counts must agree exactly.

Four cxlens variants: the segment as a typed column (``touchpoint``), answered from the store's score rollup
(the per-day histogram every append maintains, ``cxlens.store.rollup``) and, with ``"use_rollup": false``, by a
scan of every answer; and the segment as a JSON property (``properties.segment``, what an import of an
arbitrary source column gives), scanned, and again after ``ws.set_rollup_properties(["segment"])`` promoted it
into the rollup. The load time includes
maintaining the rollup; ``rollup_build_ms`` is what building it from all answers at once costs.

    python bench/bench_scores.py                 # 1M and 10M
    python bench/bench_scores.py --sizes 1e6     # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import cxlens
from cxlens.store.rollup import rollup_select

OUT = Path(tempfile.mkdtemp(prefix="cxlens-bench-scores-"))
SEGMENTS = [f"seg_{i}" for i in range(8)]
TOUCHPOINTS = ["web", "app", "email", "phone", "chat", "store"]
Z = 1.959963984540054  # two-sided 95%


def make_responses(n: int, seed: int = 7) -> pa.Table:
    """n NPS answers over 14 weeks from 2024-01-01 (seeded); 5% skipped with a null score."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    ts = start + rng.integers(0, 14 * 7 * 86_400 * 1_000_000, n)
    score = rng.choice(11, n, p=[.04, .03, .04, .05, .06, .08, .10, .14, .16, .14, .16]).astype(np.float64)
    skipped = rng.random(n) < 0.05
    seg = pa.array(SEGMENTS).take(pa.array(rng.integers(0, len(SEGMENTS), n)))
    tp = pa.array(TOUCHPOINTS).take(pa.array(rng.integers(0, len(TOUCHPOINTS), n)))
    return pa.table({
        "survey": pa.array(np.full(n, "relationship", dtype=object), pa.string()),
        "question": pa.array(np.full(n, "nps", dtype=object), pa.string()),
        "question_type": pa.array(np.full(n, "nps", dtype=object), pa.string()),
        "response_id": pc.cast(pa.array(np.arange(n)), pa.string()),
        "timestamp": pa.array(ts, pa.timestamp("us")),
        "score": pa.array(np.where(skipped, np.nan, score), pa.float64(), mask=skipped),
        "status": pa.array(np.where(skipped, "skipped", "answered"), pa.string()),
        "touchpoint": tp,
        "properties": pc.binary_join_element_wise('{"segment":"', seg, '"}', ""),
        "segment": seg,
    })


def adjusted_wald(p: np.ndarray, d: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NPS and its adjusted-Wald interval (MeasuringU after Rocks 2016), vectorised, for the baselines."""
    nps_ = (p - d) / n * 100
    n2 = n + 3
    pp, dd = (p + 0.75) / n2, (d + 0.75) / n2
    adj = pp - dd
    se = np.sqrt((pp + dd - adj ** 2) / n2)
    return nps_, (adj - Z * se) * 100, (adj + Z * se) * 100


def run_polars(df: Any) -> pd.DataFrame:
    import polars as pl

    out = (df.lazy()
           .filter(pl.col("status") == "answered")
           .group_by(pl.col("segment"), pl.col("timestamp").dt.truncate("1w").alias("week"))
           .agg(pl.len().alias("n"), (pl.col("score") >= 9).sum().alias("p"), (pl.col("score") <= 6).sum().alias("d"))
           .collect())
    p, d, n = (out[c].to_numpy().astype(float) for c in ("p", "d", "n"))
    est, lo, hi = adjusted_wald(p, d, n)
    return out.with_columns(nps=est, lo=lo, hi=hi).to_pandas()


def run_pandas(df: pd.DataFrame) -> pd.DataFrame:
    a = df[df["status"] == "answered"]
    g = a.assign(week=a["timestamp"].dt.to_period("W-SUN").dt.start_time,
                 p=a["score"] >= 9, d=a["score"] <= 6).groupby(["segment", "week"], observed=True)
    out = g.agg(n=("score", "size"), p=("p", "sum"), d=("d", "sum")).reset_index()
    est, lo, hi = adjusted_wald(out["p"].to_numpy(float), out["d"].to_numpy(float), out["n"].to_numpy(float))
    return out.assign(nps=est, lo=lo, hi=hi)


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median of ``repeat`` runs after one warm-up (ms), and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def counts_of(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(r[key], str(r["period"])[:10]): (r["n"], r["promoters"], r["detractors"]) for r in rows}


def bench_size(n: int, base: pa.Table) -> dict[str, Any]:
    reps = max(1, n // base.num_rows)
    data = pa.concat_tables([base] * reps) if reps > 1 else base
    db = OUT / f"scores_{n}.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with cxlens.Workspace(db) as ws:
        ws.add("responses", data.drop_columns(["segment"]))
    load_s = time.perf_counter() - t0
    db_promoted = OUT / f"scores_{n}_promoted.duckdb"
    shutil.copy(db, db_promoted)
    t0 = time.perf_counter()
    with cxlens.Workspace(db_promoted) as ws:
        ws.set_rollup_properties(["segment"])
    promote_s = time.perf_counter() - t0

    res: dict[str, Any] = {"rows": data.num_rows, "load_s": round(load_s, 2), "promote_segment_s": round(promote_s, 2)}
    with cxlens.Workspace(db, read_only=True) as ws:
        q_prop = {"kind": "nps", "by": ["segment"], "period": "week"}
        q_col = {"kind": "nps", "by": ["touchpoint"], "period": "week"}
        res["cxlens_property_ms"], r_prop = timed(lambda: ws.query(q_prop))
        res["cxlens_column_ms"], r_col = timed(lambda: ws.query(q_col))
        res["cxlens_column_scan_ms"], r_scan = timed(lambda: ws.query({**q_col, "use_rollup": False}))
        assert r_col["source"] == "rollup" and r_scan["source"] == r_prop["source"] == "responses"
        assert r_col["rows"] == r_scan["rows"], "rollup and scan disagree"
        res["rollup_build_ms"], _ = timed(lambda: ws.store.execute(rollup_select("responses")), repeat=1)
    with cxlens.Workspace(db_promoted, read_only=True) as ws:
        res["cxlens_property_promoted_ms"], r_promoted = timed(lambda: ws.query(q_prop))
        assert r_promoted["source"] == "rollup" and r_promoted["rows"] == r_prop["rows"], "promoted != scan"
    import polars as pl

    pldf = pl.from_arrow(data.select(["segment", "timestamp", "score", "status"]))
    pddf = data.select(["segment", "timestamp", "score", "status"]).to_pandas()
    pddf["segment"] = pddf["segment"].astype("category")
    pddf["status"] = pddf["status"].astype("category")
    res["polars_lazy_ms"], r_pl = timed(lambda: run_polars(pldf))
    res["pandas_ms"], r_pd = timed(lambda: run_pandas(pddf))

    # every engine must agree on every group's counts, and cxlens' estimates on the baselines' estimates
    ours = counts_of(r_prop["rows"], "segment")
    pl_counts = {(r.segment, str(r.week)[:10]): (int(r.n), int(r.p), int(r.d)) for r in r_pl.itertuples()}
    pd_counts = {(r.segment, str(r.week)[:10]): (int(r.n), int(r.p), int(r.d)) for r in r_pd.itertuples()}
    assert ours == pl_counts == pd_counts, "engines disagree on the counts"
    est = {(r["segment"], str(r["period"])[:10]): (r["estimate"], r["ci_low"], r["ci_high"]) for r in r_prop["rows"]}
    for r in r_pl.itertuples():
        e = est[(r.segment, str(r.week)[:10])]
        assert np.allclose(e, (r.nps, r.lo, r.hi), atol=1e-9), (e, r)
    assert sum(v[0] for v in counts_of(r_col["rows"], "touchpoint").values()) == sum(v[0] for v in ours.values())
    res["groups"] = len(ours)
    res["ratio_property_to_polars"] = round(res["cxlens_property_ms"] / res["polars_lazy_ms"], 2)
    res["ratio_column_to_polars"] = round(res["cxlens_column_ms"] / res["polars_lazy_ms"], 3)
    res["ratio_property_promoted_to_polars"] = round(res["cxlens_property_promoted_ms"] / res["polars_lazy_ms"], 3)
    res["speedup_property_promoted_vs_pandas"] = round(res["pandas_ms"] / res["cxlens_property_promoted_ms"], 1)
    res["ratio_column_scan_to_polars"] = round(res["cxlens_column_scan_ms"] / res["polars_lazy_ms"], 2)
    res["speedup_property_vs_pandas"] = round(res["pandas_ms"] / res["cxlens_property_ms"], 1)
    res["speedup_column_vs_pandas"] = round(res["pandas_ms"] / res["cxlens_column_ms"], 1)
    res["speedup_column_scan_vs_pandas"] = round(res["pandas_ms"] / res["cxlens_column_scan_ms"], 1)
    res["cxlens_column_scan_rows_per_s_per_core"] = round(data.num_rows / (res["cxlens_column_scan_ms"] / 1000) / 2)
    for k in ("cxlens_property_ms", "cxlens_property_promoted_ms", "cxlens_column_ms", "cxlens_column_scan_ms",
              "polars_lazy_ms", "pandas_ms",
              "rollup_build_ms"):
        res[k] = round(res[k], 1)
    db.unlink(missing_ok=True)
    db_promoted.unlink(missing_ok=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7", help="comma-separated row counts (multiples of 1M)")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    base = make_responses(min(sizes[0], 1_000_000))
    results = {}
    for n in sizes:
        r = bench_size(n, base)
        results[f"{n:,}"] = r
        print(f"{n:>12,} rows, {r['groups']} groups | cxlens by column: rollup {r['cxlens_column_ms']:7.1f} ms, "
              f"scan {r['cxlens_column_scan_ms']:7.1f} ms; by property: promoted "
              f"{r['cxlens_property_promoted_ms']:6.1f} ms, scan {r['cxlens_property_ms']:7.1f} ms | "
              f"polars lazy {r['polars_lazy_ms']:7.1f} ms | pandas {r['pandas_ms']:7.1f} ms", flush=True)
        print(f"{'':>12}  vs polars (goal <= 1.0): rollup {r['ratio_column_to_polars']:.3f}x, scan "
              f"{r['ratio_column_scan_to_polars']:.2f}x, property promoted "
              f"{r['ratio_property_promoted_to_polars']:.3f}x"
              f" / scan {r['ratio_property_to_polars']:.2f}x | vs pandas (goal >= 10x faster): rollup "
              f"{r['speedup_column_vs_pandas']:.1f}x, scan {r['speedup_column_scan_vs_pandas']:.1f}x, property "
              f"promoted {r['speedup_property_promoted_vs_pandas']:.1f}x / scan {r['speedup_property_vs_pandas']:.1f}x"
              f" | load {r['load_s']} s (rollup build alone {r['rollup_build_ms']:.0f} ms; promoting segment "
              f"{r['promote_segment_s']} s)", flush=True)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(results, indent=2))
    shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
