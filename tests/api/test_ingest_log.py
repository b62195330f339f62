"""The ingest log (cxlens.store.ingest_log) and the writer's two threads: a batch is answered once it is in
the log, survives a crash before DuckDB holds it, is applied exactly once, and every read sees it.

"A crash" is simulated deterministically: the applier is held back (the test holds the store's lock, which
every DuckDB write takes), the answers arrive anyway, and the files on disk at that moment (database, its WAL
and the log) are copied. Opening the copy is what a restart after SIGKILL does; tests/api/test_durability.py
does the same with a real server process and a real SIGKILL.
"""

from __future__ import annotations

import shutil
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from tests.api.test_api import EVENTS

from cxlens import Workspace
from cxlens.api import writer as writer_mod
from cxlens.api.body import parse_records
from cxlens.api.writer import IngestWriter
from cxlens.errors import ImportValidationError, StoreError
from cxlens.ingest.importer import prepare
from cxlens.store import ingest_log


def raw(rows: list[dict]) -> pa.Table:
    return parse_records(orjson.dumps(rows))


def batch(i: int) -> pa.Table:
    return raw(EVENTS[i * 100:(i + 1) * 100])


@contextmanager
def applier_held(ws: Workspace) -> Iterator[None]:
    """Hold the store's write lock in another thread: the applier cannot commit (nor checkpoint) meanwhile."""
    got, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ws.store._lock:  # type: ignore[attr-defined]
            got.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    got.wait(10)
    try:
        yield
    finally:
        release.set()
        t.join(10)


def crash_copy(db: Path, to: Path) -> Path:
    """The files a SIGKILL would leave: the database, its WAL and the ingest log, as they are now."""
    to.mkdir()
    for f in (db, db.with_name(db.name + ".wal")):
        if f.exists():
            shutil.copy(f, to / f.name)
    log = ingest_log.log_dir(db)
    if log.exists():
        shutil.copytree(log, ingest_log.log_dir(to / db.name))
    return to / db.name


def crashed_after_one_batch(tmp_path: Path) -> Path:
    """A crash copy (see :func:`crash_copy`) holding one answered batch that only the log has."""
    db = tmp_path / "w.duckdb"
    ws = Workspace(db)
    w = IngestWriter(ws, flush_ms=1)
    with applier_held(ws):
        w.submit("events", batch(0)).result(10)
        copy = crash_copy(db, tmp_path / "crash")
    w.close()
    ws.close()
    return copy


def event_ids(ws: Workspace) -> list[str]:
    return sorted(ws.sql("SELECT event_id FROM events").column(0).to_pylist())


def test_records_round_trip_through_the_log_format() -> None:
    tables = {**prepare("events", raw([*EVENTS[:5], {"distinct_id": "u", "event": "e", "timestamp": "2024-05-01",
                                                      "properties": {"a": [1, None]}}]), file="x"),
              **prepare("responses", raw([{"survey": "s", "question": "q", "question_type": "nps", "score": 9},
                                           {"survey": "s", "question": "c", "question_type": "text",
                                            "text": "naïve ☕", "score": None}]), file="x")}
    back = ingest_log.decode(ingest_log.encode(tables))
    assert list(back) == list(tables)
    for name, t in tables.items():
        assert back[name].equals(t), name


def _write_log(directory: Path, n: int, database: str = "d") -> list[dict[str, pa.Table]]:
    records = [prepare("events", batch(i), file="x") for i in range(n)]
    log = ingest_log.IngestLog(directory, 1, database)
    for r in records:
        log.append([r])
    log.close(0)  # nothing applied: every segment stays
    return records


def test_a_record_cut_short_by_a_crash_ends_the_log(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        me = ingest_log.database_id(ws.store.connection)
    _write_log(tmp_path / "log", 3, me)
    [seg] = ingest_log.segments(tmp_path / "log")
    whole = seg.read_bytes()
    ends = [end for _, _, end in ingest_log.read_records(seg)]
    assert len(ends) == 3 and ends[-1] == len(whole)
    for cut in range(ends[1] + 1, len(whole), 97):  # every cut inside the last record (step keeps it quick)
        seg.write_bytes(whole[:cut])
        assert [s for s, _, _ in ingest_log.read_records(seg)] == [1, 2]
    seg.write_bytes(whole[:ends[1] + 7])
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ingest_log.replay(ws.store, tmp_path / "log") == 200
        assert event_ids(ws) == sorted(e["event_id"] for e in EVENTS[:200])
    assert not ingest_log.segments(tmp_path / "log")


def test_damage_followed_by_good_records_is_reported(tmp_path: Path) -> None:
    _write_log(tmp_path / "log", 3)
    [seg] = ingest_log.segments(tmp_path / "log")
    data = bytearray(seg.read_bytes())
    data[40] ^= 0xFF  # inside the first record's payload
    seg.write_bytes(bytes(data))
    with pytest.raises(StoreError) as e:
        list(ingest_log.read_records(seg))
    assert e.value.details == {"path": str(seg), "offset": 0} and "checksum" in e.value.message
    header = ingest_log._HEADER.unpack_from(bytes(data), 0)
    assert header[3] != zlib.crc32(bytes(data[20:20 + header[2]]))


def test_answered_batches_survive_a_crash_before_duckdb_holds_them(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ws = Workspace(db)
    w = IngestWriter(ws, flush_ms=1)
    assert w.submit("events", batch(0)).result(10) == 100
    w.sync()  # batch 0 is in DuckDB; 1 and 2 will be only in the log
    with applier_held(ws):
        assert [w.submit("events", batch(i)).result(10) for i in (1, 2)] == [100, 100]  # answered meanwhile
        assert w.status()["applied_seq"] < w.status()["acked_seq"]
        copy = crash_copy(db, tmp_path / "crash")
        copy_ro = crash_copy(db, tmp_path / "crash-ro")
    w.close()
    ws.close()
    expected = sorted(e["event_id"] for e in EVENTS[:300])
    for _ in range(2):  # the second open finds nothing left to apply: each record is applied once
        with Workspace(copy) as again:
            assert event_ids(again) == expected
    with Workspace(copy_ro, read_only=True) as again:  # a read-only open recovers too
        assert event_ids(again) == expected
    assert not ingest_log.has_records(ingest_log.log_dir(copy_ro))
    with Workspace(db, read_only=True) as again:
        assert event_ids(again) == expected
    assert not ingest_log.log_dir(db).exists()  # closed cleanly: the applied log is gone


def test_a_read_only_open_that_cannot_recover_says_so(tmp_path: Path, caplog) -> None:
    import duckdb

    copy = crashed_after_one_batch(tmp_path)
    other = duckdb.connect(str(copy), read_only=True)  # another reader holds the file: no write open now
    try:
        with caplog.at_level("WARNING"), Workspace(copy, read_only=True) as ro:
            assert ro.count("events") == 0
        assert "not applied yet" in caplog.text
    finally:
        other.close()
    with Workspace(copy, read_only=True) as ro:
        assert ro.count("events") == 100


def test_reads_wait_for_the_batches_answered_before_them(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w.duckdb")
    w = IngestWriter(ws, flush_ms=1)
    with applier_held(ws):
        assert w.submit("events", batch(0)).result(10) == 100
        result: list[int] = []
        reader = threading.Thread(target=lambda: result.append(ws.count("events")))
        reader.start()
        reader.join(0.3)
        assert reader.is_alive() and not result  # the read waits for the applier ...
    reader.join(10)
    assert result == [100]  # ... and then sees the batch
    w.close()
    ws.close()


def test_the_log_is_applied_in_batches_and_its_segments_deleted(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_log, "_SEGMENT_BYTES", 1)  # a new segment for every record
    db = tmp_path / "w.duckdb"
    ws = Workspace(db)
    w = IngestWriter(ws, flush_ms=1)
    with applier_held(ws):
        for i in range(3):
            w.submit("events", batch(i)).result(10)
        assert len(ingest_log.segments(ingest_log.log_dir(db))) == 3
    w.sync()
    # the applier may have taken the first record before it blocked; those that waited went in together
    assert w.stats["applies"] <= 2
    assert len(ingest_log.segments(ingest_log.log_dir(db))) == 1  # only the one being written
    assert ws.count("events") == 300
    w.close()
    ws.close()


def test_the_backlog_is_bounded(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w.duckdb")
    w = IngestWriter(ws, flush_ms=1, max_backlog_rows=150)
    with applier_held(ws):
        assert w.submit("events", batch(0)).result(10) == 100
        second = w.submit("events", batch(1))
        time.sleep(0.3)
        assert not second.done()  # 200 rows would exceed the bound: it waits for the applier
    assert second.result(10) == 100
    assert ws.count("events") == 200
    w.close()
    ws.close()


def test_a_record_the_store_refuses_is_set_aside(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer_mod, "_RETRIES", (0.0, 0.0))
    db = tmp_path / "w.duckdb"
    ws = Workspace(db)
    append = ws.store.append

    def refusing(tables):  # type: ignore[no-untyped-def]
        if "poison" in tables.get("events", pa.table({"event": pa.array([], pa.string())})).column("event").to_pylist():
            raise RuntimeError("disk says no")
        return append(tables)

    monkeypatch.setattr(ws.store, "append", refusing)
    w = IngestWriter(ws, flush_ms=1)
    poison = raw([{**e, "event": "poison"} for e in EVENTS[:100]])
    assert w.submit("events", poison).result(10) == 100  # answered: it was logged
    assert w.submit("events", batch(1)).result(10) == 100
    assert ws.count("events") == 100  # the good batch is applied, the refused one is not; nothing hangs
    assert w.stats["rejected_rows"] == 100
    aside = ingest_log.log_dir(db) / "rejected"
    kept = sorted(aside.iterdir())
    assert [p.suffix for p in kept] == [".payload", ".txt"] and "disk says no" in kept[1].read_text()
    assert ingest_log.decode(kept[0].read_bytes())["events"].num_rows == 100
    w.close()
    ws.close()
    with Workspace(db) as again:  # set aside means not replayed either
        assert again.count("events") == 100


def test_persons_are_written_in_order_and_answered_after_their_commit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w.duckdb")
    w = IngestWriter(ws, flush_ms=50)  # one flush holds all four
    futures = [w.submit("events", batch(0)),
               w.submit("persons", raw([{"person_id": "p1", "distinct_ids": ["u1"]}])),
               w.submit("persons", raw([{"person_id": "p2", "distinct_ids": ["u1"]}])),  # u1 is p1's
               w.submit("events", batch(1))]
    assert futures[0].result(10) == 100 and futures[1].result(10) == 1 and futures[3].result(10) == 100
    with pytest.raises(ImportValidationError, match="already belongs to person 'p1'"):
        futures[2].result(10)
    assert ws.count("persons") == 1 and ws.count("events") == 200
    w.close()
    ws.close()


def test_a_store_that_cannot_be_written_stops_the_writer_and_keeps_the_log(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer_mod, "_RETRIES", (0.0,))
    db = tmp_path / "w.duckdb"
    ws = Workspace(db)
    w = IngestWriter(ws, flush_ms=1)

    real = ingest_log.apply_records

    def broken(store, records, seq):  # type: ignore[no-untyped-def]
        with store._lock:  # a write, like the real one: waits while the test holds the lock
            # record 1 (batch 0) cannot be written, nor can it be marked as set aside; record 2 could be
            if seq == 1 or any("e0" in r["events"].column("event_id").to_pylist() for r in records if "events" in r):
                raise OSError("No space left on device")
            return real(store, records, seq)

    monkeypatch.setattr(ingest_log, "apply_records", broken)
    with applier_held(ws):  # two records wait; the first fails for good, so the second must not be applied
        assert w.submit("events", batch(0)).result(10) == 100  # durable in the log, so answered
        assert w.submit("events", batch(2)).result(10) == 100
    with pytest.raises(StoreError, match="cannot be written"):
        w.sync(timeout=10)  # reads fail instead of answering without the acknowledged rows
    with pytest.raises(StoreError, match="cannot be written"):
        w.submit("events", batch(1))
    aside = ingest_log.log_dir(db) / "rejected"
    assert not aside.exists() or not any(aside.iterdir())  # not set aside: it stays in the log
    monkeypatch.undo()
    w.close()
    ws.close()
    with Workspace(db) as again:  # the disk has room again: the next open applies both, in order
        assert event_ids(again) == sorted(e["event_id"] for e in EVENTS[:100] + EVENTS[200:300])


def test_the_writer_leaves_the_store_connection_usable(tmp_path: Path) -> None:
    """DuckDB refuses work on a connection holding a result not read to the end; the writer's reads of the
    log position and its commits must not leave one (it broke paths by property, which registers a table)."""
    from fastapi.testclient import TestClient

    from cxlens.api import Settings, create_app

    db = tmp_path / "w.duckdb"
    with Workspace(db) as ws:
        ws.add("events", EVENTS[:50])
        ws.query({"kind": "paths"})  # codes every row: the next open has no write to do before the query
    ws = Workspace(db)
    with TestClient(create_app(Settings(auth="none"), workspace=ws), raise_server_exceptions=False) as c:
        for _ in range(2):  # before and after the applier's first commit
            r = c.post("/api/query", json={"kind": "paths", "item_property": "plan"})
            assert r.status_code == 200, r.text
            assert c.post("/api/events", json=EVENTS[50:60]).status_code == 200
    ws.close()


def test_a_log_never_goes_into_another_database(tmp_path: Path) -> None:
    """The database file was deleted and created again (or another file put in its place) while its log
    stayed: opening it must not pour the old file's acknowledged batches into the new one."""
    copy = crashed_after_one_batch(tmp_path)
    copy.unlink()  # the database goes, its log stays
    with pytest.raises(StoreError, match="belongs to another database") as e:
        Workspace(copy)
    assert "Move" in e.value.message and e.value.details["path"].endswith(".log")
    with pytest.raises(StoreError, match="belongs to another database"):
        Workspace(copy, read_only=True)  # a read-only open says the same, not "open elsewhere"
    shutil.rmtree(ingest_log.log_dir(copy))
    with Workspace(copy) as fresh:  # with the log moved away the new file opens, empty
        assert fresh.count("events") == 0


def test_the_applier_gathers_records_but_a_waiting_read_cuts_it_short(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w.duckdb")
    w = IngestWriter(ws, flush_ms=1, apply_rows=10**9, apply_ms=30_000)  # gather for up to 30 s
    for i in range(2):
        assert w.submit("events", batch(i)).result(10) == 100
    time.sleep(0.2)
    assert w.status()["applied_seq"] == 0 and w.status()["acked_seq"] == 2  # still gathering
    t0 = time.monotonic()
    assert ws.count("events") == 200  # the read asks for the commit instead of waiting out the 30 s
    assert time.monotonic() - t0 < 5
    assert w.stats["applies"] == 1  # both records in one transaction
    w.close()
    ws.close()
