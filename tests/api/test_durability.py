"""An acknowledged (2xx) batch survives SIGKILL of the server: a real uvicorn process on 127.0.0.1 is killed
right after an answer, restarted on the same file, and every acknowledged row must be there."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import free_port, start_server

from cxlens import Workspace
from cxlens.api.keys import KeyRing

pytestmark = pytest.mark.slow

ROUNDS = 3
CLIENTS = 4


def batch(client: int, seq: int, n: int = 100) -> list[dict]:
    return [{"distinct_id": f"c{client}-u{i % 9}", "event": "tick", "timestamp": "2024-06-01T12:00:00Z",
             "event_id": f"c{client}-b{seq}-e{i}"} for i in range(n)]


def test_sigkill_after_2xx_loses_no_acknowledged_row(tmp_path: Path) -> None:
    db = tmp_path / "durable.duckdb"
    with Workspace(db) as ws:
        token, _ = KeyRing(ws.store).create("ingest")
    acked: set[str] = set()
    lock = threading.Lock()
    for rnd in range(ROUNDS):
        port = free_port()
        proc = start_server(db, port, {"CXLENS_FLUSH_MS": "3", "CXLENS_FLUSH_ROWS": "1000"})
        url = f"http://127.0.0.1:{port}/api/events"
        stop = threading.Event()
        killed = threading.Event()
        acks_this_round = [0]

        def client(cid: int, rnd: int = rnd, url: str = url, proc=proc, stop=stop, killed=killed,
                   acks=acks_this_round) -> None:
            seq = 0
            with httpx.Client(headers={"X-Api-Key": token}, timeout=10) as http:
                while not stop.is_set():
                    rows = batch(cid + 10 * rnd, seq)
                    seq += 1
                    try:
                        r = http.post(url, json=rows)
                    except httpx.HTTPError:
                        return  # the server is gone: this batch was never acknowledged
                    if r.status_code == 200:
                        with lock:
                            acked.update(e["event_id"] for e in rows)
                            acks[0] += 1
                            # kill at once after the 30th acknowledgement of the round
                            if acks[0] == 30 and not killed.is_set():
                                os.kill(proc.pid, signal.SIGKILL)
                                killed.set()
                    else:
                        raise AssertionError(r.text)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while not killed.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(15)
        assert killed.is_set(), "the server was not killed within 30 s"
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        with Workspace(db, read_only=True) as ws:
            stored = set(ws.sql("SELECT event_id FROM events").column("event_id").to_pylist())
        missing = acked - stored
        assert not missing, f"round {rnd}: {len(missing)} acknowledged rows lost, e.g. {sorted(missing)[:3]}"
        assert len(acked) >= 30 * 100 * (rnd + 1)
