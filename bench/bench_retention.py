"""Benchmark: weekly 14 x 14 retention (query kind ``retention``) vs the chDB bitmask query, same data, same run.

Not a test. The synthetic, seeded events of ``bench_funnel.py`` (``--rows`` events, default 10M, 500k persons,
90 days from Monday 2024-01-01), loaded into an on-disk cxlens workspace and a chDB MergeTree table
``ORDER BY (distinct_id, ts)``. Cohort = the week of a person's first event, any event returns, weeks start on
Monday: cxlens ``{"kind": "retention", "mode": "first_time", "period": "week"}`` vs one ClickHouse GROUP BY
person computing the first week and ``groupBitOr(1 << week)``, then 14 offsets. Every event lies inside the
table, where both definitions coincide, so all 105 cells must agree exactly (asserted). One warm-up run, then
``--repeat`` timed runs, median reported; rows/s = events / median time. The cxlens warm-up ("first s")
includes coding the freshly imported events' distinct ids (once per new row). Needs ``pip install chdb``.

    python bench/bench_retention.py               # 10M events
    python bench/bench_retention.py --rows 1e6    # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_funnel import OUT, chdb_setup, make_events, print_table, timed

import cxlens

WEEKS = 14


def retention_query() -> dict[str, Any]:
    return {"kind": "retention", "period": "week", "total_intervals": WEEKS, "week_start": "monday",
            "mode": "first_time", "date_range": {"date_from": "2024-01-01", "date_to": "2024-04-01"}}


def chdb_retention(s: Any) -> list[list[int]]:
    sql = ("SELECT w0, off, count() FROM (SELECT min(w) AS w0, groupBitOr(bitShiftLeft(toUInt64(1), w)) AS m "
           "FROM (SELECT distinct_id, toUInt8(dateDiff('week', toDate('2024-01-01'), toMonday(ts))) AS w "
           f"FROM b.events) GROUP BY distinct_id) ARRAY JOIN range({WEEKS}) AS off "
           f"WHERE w0 + off < {WEEKS} AND bitTest(m, w0 + off) GROUP BY w0, off ORDER BY w0, off")
    table = [[0] * (WEEKS - i) for i in range(WEEKS)]
    for line in str(s.query(sql, "CSV")).split():
        w0, off, c = map(int, line.split(","))
        table[w0][off] = c
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=float, default=10e6)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = int(args.rows)
    OUT.mkdir(exist_ok=True)
    events = make_events(n)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        ws = cxlens.Workspace(Path(tmp) / "bench.duckdb")
        ws.add("events", events)
        s = chdb_setup(events, str(Path(tmp) / "chdb"))
        r_first, r_med, r_res = timed(lambda: ws.query(retention_query()), args.repeat)
        c_first, c_med, c_res = timed(lambda: chdb_retention(s), args.repeat)
        ws.close()
        s.close()
    agree = r_res["rows"] == c_res
    cells = sum(len(r) for r in r_res["rows"])
    total = sum(sum(r) for r in r_res["rows"])
    report = {"rows": n, "cxlens_s": r_med, "cxlens_first_s": r_first, "chdb_bitmask_s": c_med,
              "chdb_first_s": c_first, "ratio_vs_chdb": r_med / c_med, "tables_agree": agree, "cells": cells,
              "sum_of_cells": total, "events_per_s": n / r_med,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print_table(f"retention, weekly {WEEKS} x {WEEKS}, {n:,} events, 500k persons (median of {args.repeat} "
                "after a warm-up)",
                [("cxlens retention", r_med, r_first, r_med / c_med, n, f"{cells} cells, sum {total:,}"),
                 ("chDB bitmask query", c_med, c_first, 1.0, n, f"sum {sum(sum(r) for r in c_res):,}")])
    print(f"  tables agree: {agree}; goal cxlens/chDB <= 1.0x: "
          f"{'met' if report['ratio_vs_chdb'] <= 1.0 else 'NOT met'} ({report['ratio_vs_chdb']:.2f}x)")
    print(f"peak RSS {report['peak_rss_mb']:.0f} MB")
    out = OUT / f"bench_retention_{n}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    assert agree, "retention tables differ between cxlens and chDB"


if __name__ == "__main__":
    main()
