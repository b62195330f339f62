"""HTTP ingest benchmark: events/s per core with 100-event batches, on loopback only.

The server (``uvicorn --factory cxlens.api.app:create_app``, one worker) is pinned to core 0 with taskset; the
load generator (ApacheBench ``ab -k``, as in performance.md part 2(c)) runs on core 1. Every request carries
100 validated events (JSON array, ~160 B per event); a 200 answer means the rows are committed (group commit).
At the end the workspace is re-opened and the stored row count is checked against the acknowledged requests.

Last measured (shared 2-core machine, load average ~1.5, median of 5 runs): 183k events/s (178-206k), p50 15
ms, p99 57 ms, max 71-77 ms; ~2,000 rows per commit, validation 1.3 ms + append/commit 5.6 ms per commit, 17
checkpoints of ~46 ms (one per 122,880 rows, after answering). Before the fast validation path, the ASGI
ingest route and the row-group checkpoints: 113k events/s, p50 24 ms, p99 106 ms, validation 10.4 ms.

    python bench/bench_ingest_http.py [--requests 20000] [--concurrency 32] [--batch 100]

Needs ``ab`` (Debian: apt-get install apache2-utils). Targets 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from cxlens import Workspace
from cxlens.api.keys import KeyRing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def events(n: int) -> list[dict]:
    return [{"distinct_id": f"user-{i % 37:05d}", "event": ["$pageview", "signup", "add_to_cart"][i % 3],
             "timestamp": f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", "event_id": f"evt-{i:08d}",
             "path": "/pricing", "browser": "Firefox", "plan": "pro"} for i in range(n)]


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--flush-ms", type=float, default=5.0)
    args = ap.parse_args()
    if not shutil.which("ab"):
        sys.exit("needs ApacheBench: apt-get install apache2-utils")
    tmp = Path(tempfile.mkdtemp(prefix="cxlens-bench-http-"))
    db = tmp / "bench.duckdb"
    with Workspace(db) as ws:
        token, _ = KeyRing(ws.store).create("ingest", "bench")
    body = tmp / "batch.json"
    body.write_bytes(orjson.dumps(events(args.batch)))
    port = free_port()
    env = {**os.environ, "CXLENS_DB": str(db), "CXLENS_FLUSH_MS": str(args.flush_ms)}
    server = subprocess.Popen([*pin(0), sys.executable, "-m", "uvicorn", "--factory", "cxlens.api.app:create_app",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                               "--no-access-log"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        warm = [*pin(1), "ab", "-q", "-k", "-c", str(args.concurrency), "-n", "2000", "-p", str(body),
                "-T", "application/json", "-H", f"X-Api-Key: {token}", f"{url}/api/events"]
        subprocess.run(warm, capture_output=True, check=True)
        cmd = [*pin(1), "ab", "-q", "-k", "-c", str(args.concurrency), "-n", str(args.requests), "-p", str(body),
               "-T", "application/json", "-H", f"X-Api-Key: {token}", f"{url}/api/events"]
        cpu0 = _proc_cpu(server.pid)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        cpu_s = _proc_cpu(server.pid) - cpu0
        stats = httpx.get(url + "/api/health", timeout=10).json()["writer"]
    finally:
        server.terminate()
        server.wait(30)
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    # ab counts answers whose length differs from the first as "Length" failures; those are fine here
    failed = sum(int(x) for x in re.findall(r"(?:Connect|Receive|Exceptions): (\d+)", out))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx responses:\s+(\d+)", out)) else 0
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
    wall = float(re.search(r"Time taken for tests:\s+([\d.]+)", out).group(1))
    with Workspace(db, read_only=True) as ws:
        stored = ws.count("events")
    expected = (args.requests + 2000 - failed - non2xx) * args.batch
    ev = rps * args.batch
    print(f"HTTP ingest, {args.batch}-event batches, ab -k -c{args.concurrency}, server pinned to 1 core")
    print(f"  requests {args.requests:,}, failed {failed}, non-2xx {non2xx}; {rps:,.0f} req/s = {ev:,.0f} events/s "
          f"(per server core; server CPU {cpu_s / wall:.2f} cores busy)")
    print(f"  latency ms: p50 {pct.get('50')}, p90 {pct.get('90')}, p99 {pct.get('99')}, max {pct.get('100')}")
    f = max(stats["flushes"], 1)
    print(f"  writer: {stats['flushes']:,} commits, {stats['rows'] / f:,.0f} rows per commit, validate "
          f"{stats['validate_s'] / f * 1000:.1f} ms + append/commit {stats['write_s'] / f * 1000:.1f} ms per commit; "
          f"{stats.get('checkpoints', 0)} checkpoints after answering, "
          f"{stats.get('checkpoint_s', 0) / max(stats.get('checkpoints', 0), 1) * 1000:.0f} ms each")
    print(f"  stored rows {stored:,} (expected {expected:,}: {'ok' if stored == expected else 'MISMATCH'})")
    print(f"  goal >= 150,000 events/s/core and p99 < 50 ms: "
          f"{'met' if ev >= 150_000 and int(pct.get('99', 10**9)) < 50 else 'NOT met'}")
    shutil.rmtree(tmp, ignore_errors=True)


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its threads, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


if __name__ == "__main__":
    main()
