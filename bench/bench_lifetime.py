"""Benchmark: CLV pipeline on CDNOW master (69,659 transactions, 23,570 customers).

Not a test. Times, on the raw transaction file: ``rfm_summary`` (weeks, calibration end 1997-09-30),
the BG/NBD fit, the Gamma-Gamma fit on repeat customers with positive spend, and 12-month CLV for all
customers; also Pareto/NBD and MBG/NBD fits for comparison. Each step is run ``--repeat`` times and the
best time is reported (the machine may be shared).

    python bench/bench_lifetime.py
    python bench/bench_lifetime.py --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from cxlens.lifetime import (
    BetaGeoFitter,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
    rfm_summary,
)

MASTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "transactions" / "cdnow_lifetimes"
MASTER = MASTER / "CDNOW_master.txt"


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

    t_read, tx = best_of(
        1,
        lambda: pd.read_csv(MASTER, sep=r"\s+", dtype={"date": str}).assign(
            date=lambda d: pd.to_datetime(d["date"], format="%Y%m%d")
        ),
    )
    t_sum, s = best_of(
        args.repeat, lambda: rfm_summary(tx["customer_id"], tx["date"], tx["dollar_value"], "1997-09-30")
    )
    x, tx_, T = s["frequency"], s["recency"], s["T"]
    t_bg, bg = best_of(args.repeat, lambda: BetaGeoFitter().fit(x, tx_, T))
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    t_gg, gg = best_of(args.repeat, lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]))
    t_clv, clv = best_of(
        args.repeat,
        lambda: gg.customer_lifetime_value(bg, x, tx_, T, s["monetary_value"], time=12, discount_rate=0.01),
    )
    t_pnbd, pnbd = best_of(args.repeat, lambda: ParetoNBDFitter().fit(x, tx_, T))
    t_mbg, mbg = best_of(args.repeat, lambda: ModifiedBetaGeoFitter().fit(x, tx_, T))

    result = {
        "transactions": len(tx),
        "customers": len(s),
        "repeat_customers_gg": len(rep),
        "seconds": {
            "read_csv": round(t_read, 3),
            "rfm_summary": round(t_sum, 3),
            "bgnbd_fit": round(t_bg, 3),
            "gamma_gamma_fit": round(t_gg, 3),
            "clv_12_months": round(t_clv, 3),
            "summary_bgnbd_gg_total": round(t_sum + t_bg + t_gg, 3),
            "pareto_nbd_fit": round(t_pnbd, 3),
            "mbg_nbd_fit": round(t_mbg, 3),
        },
        "params": {
            "bgnbd": bg.params_,
            "gamma_gamma": gg.params_paper_,
            "pareto_nbd": pnbd.params_,
            "mbg_nbd": mbg.params_,
        },
        "clv_total_12_months": float(clv.sum()),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"CDNOW master: {result['transactions']:,} transactions, {result['customers']:,} customers "
        f"(best of {args.repeat})"
    )
    for k, v in result["seconds"].items():
        print(f"  {k:<24} {v:8.3f} s")
    print("  BG/NBD  " + ", ".join(f"{k}={v:.4f}" for k, v in bg.params_.items()))
    print("  GG      " + ", ".join(f"{k}={v:.4f}" for k, v in gg.params_paper_.items()))


if __name__ == "__main__":
    main()
