"""Benchmark: CLV end to end on CDNOW master (69,659 transactions, 23,570 customers) THROUGH THE QUERY PATH.

Not a test. Stages, each timed:

1. import ``CDNOW_master.txt`` into a fresh on-disk workspace (preset ``cdnow_master``);
2. ``ws.query({"kind": "clv", "model": "bgnbd", "calibration_end": "1997-09-30", "time_unit": "week",
   "horizon": 39, ...})``, with the query's own stage timings: SQL summary (one GROUP BY over
   transactions), BG/NBD + Gamma-Gamma fit, predictions (expected purchases, P(alive), CLV, hold-out);
3. the same for Pareto/NBD and MBG/NBD, and the other lifetime kinds (churn, rfm with CLV by segment,
   customer_retention, cohorts);
4. for comparison, the pandas summary of :func:`cxlens.lifetime.rfm_summary` on the raw file.

Query stages are run ``--repeat`` times and the best time is kept (the machine may be shared).

    python bench/bench_lifetime.py
    python bench/bench_lifetime.py --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import cxlens
from cxlens.lifetime import rfm_summary

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "transactions" / "cdnow_lifetimes"
MASTER = DATA / "CDNOW_master.txt"
CLV = {"kind": "clv", "calibration_end": "1997-09-30", "time_unit": "week", "horizon": 39,
       "discount_rate": 0.01, "margin": 0.3, "limit": 0}


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time in seconds over ``repeat`` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    if not MASTER.is_file():
        sys.exit(f"{MASTER} not found (the shared CDNOW data sit beside the repository)")

    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = cxlens.Workspace(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        report = ws.import_file("transactions", MASTER)
        seconds["import"] = time.perf_counter() - t0
        results: dict[str, dict[str, Any]] = {}
        for model in ("bgnbd", "pareto_nbd", "mbgnbd"):
            t, r = best_of(args.repeat, lambda m=model: ws.query({**CLV, "model": m}))
            seconds[f"clv_{model}_query"] = t
            for stage, v in r["timings"].items():
                if stage != "total":
                    seconds[f"clv_{model}_{stage}"] = v
            results[model] = r
        for kind, q in (("churn", {"kind": "churn", "inactivity_days": 180, "unit": "week", "by": None}),
                        ("rfm_with_clv", {"kind": "rfm", "as_of": "1997-09-30", "with_clv": True, "limit": 0}),
                        ("customer_retention", {"kind": "customer_retention", "period": "month"}),
                        ("cohorts", {"kind": "cohorts", "period": "month"})):
            seconds[kind], _ = best_of(args.repeat, lambda q=q: ws.query(q))
        ws.close()
    tx = pd.read_csv(MASTER, sep=r"\s+", dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    seconds["pandas_rfm_summary"], _ = best_of(
        args.repeat, lambda: rfm_summary(tx["customer_id"], tx["date"], tx["dollar_value"], "1997-09-30"))
    bg = results["bgnbd"]
    seconds["end_to_end_import_plus_bgnbd_clv"] = seconds["import"] + seconds["clv_bgnbd_query"]
    result = {
        "transactions": report.rows if hasattr(report, "rows") else len(tx),
        "customers": bg["n_customers"],
        "repeat_customers": bg["repeat_customers"],
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "params": {m: r["params"] for m, r in results.items()},
        "gamma_gamma": bg["spend"]["params"],
        "clv_total_39_weeks_margin_0.3": bg["totals"]["clv"],
        "holdout": {k: bg["holdout"][k] for k in ("actual_purchases", "predicted_purchases", "correlation")},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"CDNOW master: {len(tx):,} transactions, {result['customers']:,} customers "
          f"({result['repeat_customers']:,} repeaters); query stages best of {args.repeat}")
    for k, v in result["seconds"].items():
        print(f"  {k:<36} {v:8.3f} s")
    for m, p in result["params"].items():
        print(f"  {m:<11} " + ", ".join(f"{k}={v:.4f}" for k, v in p.items()))
    print("  gamma_gamma " + ", ".join(f"{k}={v:.4f}" for k, v in result["gamma_gamma"].items()))
    h = result["holdout"]
    print(f"  hold-out 39 weeks: actual {h['actual_purchases']:,.0f}, predicted {h['predicted_purchases']:,.1f}")


if __name__ == "__main__":
    main()
