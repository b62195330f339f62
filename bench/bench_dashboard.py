"""Dashboard benchmark: the Overview page (and every other page) over 10M events, cold and warm.

Synthetic data is generated with DuckDB SQL straight into an on-disk workspace (no Python loops): N events
(500k users, 20 event names, a JSON properties column) over 180 days, and N/10 survey answers (NPS, CSAT and
CES questions with touchpoints). The page is then requested through the real app (in-process ASGI client):

- cold: first request after opening the workspace (query cache empty, DuckDB buffers cold),
- warm, cache hit: the same request again (data version unchanged),
- warm, no cache: the query cache cleared before every request (DuckDB buffers warm) - the figure that
  matters after every write, since a write bumps the data version.

    python bench/bench_dashboard.py [--events 10000000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cxlens import Workspace
from cxlens.api import Settings, create_app
from cxlens.store.distinct_codes import ensure_codes
from cxlens.web import PAGES

EVENTS_SQL = """
INSERT INTO events (timestamp, distinct_id, event, event_id, properties)
SELECT TIMESTAMP '2024-01-01' + to_microseconds(CAST(hash(i, 1) % (180 * 86400000000) AS BIGINT)),
       'user-' || CAST(hash(i, 2) % 500000 AS VARCHAR),
       'event_' || CAST(CASE WHEN hash(i, 3) % 100 < 60 THEN 0 ELSE hash(i, 4) % 20 END AS VARCHAR),
       'e' || CAST(i AS VARCHAR),
       '{"plan": "' || CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END || '", "path": "/p' ||
       CAST(i % 50 AS VARCHAR) || '"}'
FROM range(?) t(i)
"""

RESPONSES_SQL = """
INSERT INTO responses (survey, question, question_type, response_id, distinct_id, timestamp, score, scale_min,
                       scale_max, status, touchpoint)
SELECT 'relationship', q, q, 'r' || CAST(i AS VARCHAR), 'user-' || CAST(hash(i, 5) % 500000 AS VARCHAR),
       TIMESTAMP '2024-01-01' + to_microseconds(CAST(hash(i, 6) % (180 * 86400000000) AS BIGINT)),
       CASE WHEN hash(i, 7) % 20 = 0 THEN NULL
            WHEN q = 'nps' THEN CAST(hash(i, 8) % 11 AS DOUBLE)
            WHEN q = 'csat' THEN CAST(1 + hash(i, 8) % 5 AS DOUBLE) ELSE CAST(1 + hash(i, 8) % 7 AS DOUBLE) END,
       CASE WHEN q = 'nps' THEN 0 ELSE 1 END, CASE q WHEN 'nps' THEN 10 WHEN 'csat' THEN 5 ELSE 7 END,
       CASE WHEN hash(i, 7) % 20 = 0 THEN 'skipped' ELSE 'answered' END,
       ['web', 'app', 'support', 'checkout'][1 + CAST(hash(i, 9) % 4 AS INTEGER)]
FROM range(?) t(i), (SELECT unnest(['nps', 'csat', 'ces']) AS q) qs
WHERE hash(i, 10) % 3 = CASE q WHEN 'nps' THEN 0 WHEN 'csat' THEN 1 ELSE 2 END
"""


def build(path: Path, n: int) -> float:
    t = time.perf_counter()
    with Workspace(path) as ws:
        con = ws.store.connection
        con.execute(EVENTS_SQL, [n])
        con.execute(RESPONSES_SQL, [n // 10])
        # the rows went in around the store (SQL for speed), so build what an import keeps up to date: the
        # score rollup, and the distinct-id codes the first event query of a writable workspace would add
        ws.store.rebuild_score_rollup()
        ensure_codes(ws.store)
        con.execute("CHECKPOINT")
    return time.perf_counter() - t


def timed(client: TestClient, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    dt = time.perf_counter() - t
    assert r.status_code == 200, r.text[:300]
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="workspace file to create/reuse")
    args = ap.parse_args()
    path = args.keep or Path(tempfile.mkdtemp(prefix="cxlens-bench-dash-")) / "dash.duckdb"
    if not path.exists():
        print(f"generating {args.events:,} events and {args.events // 10:,} survey answers into {path} ...")
        print(f"  built in {build(path, args.events):.1f} s")
    ws = Workspace(path, read_only=True)
    info = ws.info()
    print(f"workspace: {info['events']:,} events, {info['responses']:,} responses")
    app = create_app(Settings(auth="none"), workspace=ws)
    with TestClient(app) as c:
        for slug in ["overview", *[p for p in PAGES if p != "overview"]]:
            for fmt in ("",):
                url = f"/{slug}{fmt}"
                cold = timed(c, url)
                hit = statistics.median(timed(c, url) for _ in range(args.repeat))
                nocache = []
                for _ in range(args.repeat):
                    app.state.cache.bump()
                    nocache.append(timed(c, url))
                print(f"  {slug:10s} cold {cold:6.3f} s   warm (cache hit) {hit * 1000:6.1f} ms   "
                      f"warm (no cache) median {statistics.median(nocache):6.3f} s, max {max(nocache):6.3f} s")
    app.state.writer.close()
    ws.close()


if __name__ == "__main__":
    main()
