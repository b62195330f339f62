"""Dashboard benchmark: the Overview page (and every other page) over 10M events, cold and warm.

Synthetic data is generated with DuckDB SQL straight into an on-disk workspace (no Python loops): N events
(500k users, 20 event names, a JSON properties column) over 180 days, and N/10 survey answers (NPS, CSAT and
CES questions with touchpoints). The page is then requested through the real app (in-process ASGI client):

- cold: first request after opening the workspace (query cache empty, DuckDB buffers cold),
- warm, cache hit: the same request again (data version unchanged),
- warm, no cache: the query cache cleared before every request (DuckDB buffers warm) - the figure that
  matters after every write, since a write bumps the data version.

``--pages behaviour`` measures only the Behaviour page (so its cold figure is the first request of the process,
not one after the Overview); ``--profile`` then also times every query the page ran, each on its own (median
of ``--repeat`` runs, bypassing the cache), to see which block costs what.

Behaviour page at 10M events (``--pages behaviour --profile --repeat 5``, shared 2-core machine, load ~1):

- before (string actors): cold 2.12 s, warm (no cache) 1.94 s; per query trends 0.33 s, paths 0.37 s,
  lifecycle 0.64 s, stickiness 0.15 s, funnel 0.18 s, retention 0.15 s, event counts 0.02 s;
- after (integer codes): cold 0.87 s, warm (no cache) 0.78 s; trends 0.12 s, paths 0.16 s, lifecycle 0.11 s,
  stickiness 0.045 s, funnel 0.19 s, retention 0.14 s, event counts 0.02 s

Per query: the median of 5 runs of that query alone. Another pair of runs gave cold / warm 2.33 / 2.11 s
before and 0.98 / 0.79 s after. Before, trends, paths, lifecycle and stickiness grouped and sorted the
distinct-id strings; after, they read the integer codes funnel and retention use, lifecycle takes one bit mask
of periods per actor and trends counts its non-unique series in one scan.

    python bench/bench_dashboard.py [--events 10000000] [--keep PATH] [--pages behaviour] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cxlens import Workspace
from cxlens.api import Settings, create_app
from cxlens.errors import CxlensError
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


class QueryLog:
    """Wraps ``ws.query`` to keep each query a page runs (only while ``on``)."""

    def __init__(self, ws: Workspace) -> None:
        self.run = ws.query
        self.on = False
        self.queries: list[dict[str, Any]] = []
        ws.query = self  # type: ignore[method-assign]

    def __call__(self, q: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if self.on:
            self.queries.append(q)
        return self.run(q, *args, **kwargs)

    def profile(self, repeat: int) -> None:
        """Print the median time of each kept query, run directly ``repeat`` times."""
        for q in self.queries:
            what = q.get("kind", "?") + (f" {q['table']}" if q.get("kind") == "count" else "")
            times = []
            try:
                for _ in range(repeat):
                    t = time.perf_counter()
                    self.run(q)
                    times.append(time.perf_counter() - t)
            except CxlensError as e:  # the page shows the message instead of the block
                print(f"      {what:16s} fails: {str(e)[:80]}")
                continue
            print(f"      {what:16s} median {statistics.median(times):6.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="workspace file to create/reuse")
    ap.add_argument("--pages", default=None, help="comma-separated page slugs (default: all, Overview first)")
    ap.add_argument("--profile", action="store_true", help="also time each query of each page on its own")
    args = ap.parse_args()
    slugs = args.pages.split(",") if args.pages else ["overview", *[p for p in PAGES if p != "overview"]]
    unknown = [s for s in slugs if s not in PAGES]
    if unknown:
        ap.error(f"unknown page(s) {', '.join(unknown)}; pages: {', '.join(PAGES)}")
    path = args.keep or Path(tempfile.mkdtemp(prefix="cxlens-bench-dash-")) / "dash.duckdb"
    if not path.exists():
        print(f"generating {args.events:,} events and {args.events // 10:,} survey answers into {path} ...")
        print(f"  built in {build(path, args.events):.1f} s")
    ws = Workspace(path, read_only=True)
    info = ws.info()
    print(f"workspace: {info['events']:,} events, {info['responses']:,} responses")
    log = QueryLog(ws)
    app = create_app(Settings(auth="none"), workspace=ws)
    with TestClient(app) as c:
        for slug in slugs:
            url = f"/{slug}"
            log.on, log.queries = True, []
            cold = timed(c, url)
            log.on = False
            hit = statistics.median(timed(c, url) for _ in range(args.repeat))
            nocache = []
            for _ in range(args.repeat):
                app.state.cache.bump()
                nocache.append(timed(c, url))
            print(f"  {slug:10s} cold {cold:6.3f} s   warm (cache hit) {hit * 1000:6.1f} ms   "
                  f"warm (no cache) median {statistics.median(nocache):6.3f} s, max {max(nocache):6.3f} s")
            if args.profile:
                log.profile(args.repeat)
    app.state.writer.close()
    ws.close()


if __name__ == "__main__":
    main()
