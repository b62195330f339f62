"""The server's writer: validated columnar batches, group commit, durable acknowledgements.

Requests hand their parsed batch (an Arrow table) to :meth:`IngestWriter.submit` and wait on the returned
future. The writer thread collects batches until it holds ``flush_rows`` rows or the oldest batch has waited
``flush_ms`` milliseconds, then validates them together (batches with the same columns are concatenated and
conformed in one vectorised pass; a bad row fails only the request it came from), writes the valid ones as
ONE record of the ingest log (:mod:`cxlens.store.ingest_log`), syncs it to disk and only then answers: a 2xx
answer means the rows survive a crash of the process (they are applied when the file is next opened).

A second thread, the applier, appends logged records to the database (as many as are waiting, in one
transaction that also records the last sequence number applied) and checkpoints DuckDB once per row
group's worth of rows. DuckDB blocks appends to a table while it checkpoints it (~50 ms a row group here);
with the log in between, requests wait for the sync of the log, never for a checkpoint. Reads see every
acknowledged row: :meth:`IngestWriter.sync` (called by the workspace's reads, the query cache and the
dashboard) waits until the applier has caught up with what was acknowledged before the read began.

Batches of ``persons`` and ``accounts`` replace rows and are checked against what is stored (one person per
distinct id), so they are not logged: the applier writes them in order with the log and they are answered
after that commit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from cxlens.errors import CxlensError, CxlensInputError, ImportValidationError, StoreError
from cxlens.ingest.conform import ROW
from cxlens.ingest.importer import prepare
from cxlens.store import ingest_log
from cxlens.workspace import Workspace

__all__ = ["IngestWriter"]

log = logging.getLogger(__name__)

_UPSERT = frozenset({"persons", "person_distinct_ids", "accounts"})
_RETRIES = (0.05, 0.25, 1.0)  # seconds between attempts to apply one record before it is set aside


@dataclass
class _Pending:
    kind: str
    data: pa.Table
    future: Future[int] = field(default_factory=Future)
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Logged:
    """Records of the log waiting for the applier (``seq`` is the last one's number)."""

    seq: int
    records: list[dict[str, pa.Table]]
    rows: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Direct:
    """A batch the applier writes itself and answers after its commit (persons, accounts)."""

    items: list[_Pending]
    tables: dict[str, pa.Table]


class IngestWriter:
    """Buffer batches, log them durably from one thread and apply them to the store from another.

    Parameters
    ----------
    ws:
        The workspace to write to (its store must not be written by anyone else meanwhile). A DuckDB file
        gets its log beside it (``<file>.ingest-log``); an in-memory store gets none (nothing to survive).
    flush_rows, flush_ms:
        Log once this many rows wait, or once the oldest waiting batch is this old.
    on_commit:
        Called (in the applier thread) after every commit to the store, e.g. to bump a data version.
    checkpoint_rows:
        Checkpoint once this many rows were applied since the last one (default: the store's row-group
        size; 0 or a store without ``checkpoint()``: leave it to the store).
    max_backlog_rows:
        Logged rows the applier may lag behind before new batches wait (bounds memory).
    """

    def __init__(self, ws: Workspace, *, flush_rows: int = 10_000, flush_ms: float = 5.0,
                 on_commit: Callable[[], None] | None = None, checkpoint_rows: int | None = None,
                 max_backlog_rows: int = 1_000_000, apply_rows: int = 20_000, apply_ms: float = 50.0) -> None:
        self.ws = ws
        self.flush_rows = flush_rows
        self.flush_s = flush_ms / 1000
        self.on_commit = on_commit
        self.max_backlog_rows = max_backlog_rows
        self.apply_rows = apply_rows
        self.apply_s = apply_ms / 1000
        self._readers = 0  # reads waiting in sync(): the applier commits at once for them
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._rows = 0
        self._stop = False
        self.commits = 0
        self.stats = {"flushes": 0, "rows": 0, "requests": 0, "validate_s": 0.0, "log_s": 0.0,
                      "write_s": 0.0, "applies": 0, "checkpoints": 0, "checkpoint_s": 0.0, "rejected_rows": 0}
        self._checkpoint = getattr(ws.store, "checkpoint", None)
        self._checkpoint_rows: int = getattr(ws.store, "ROW_GROUP_ROWS", 0) if checkpoint_rows is None \
            else checkpoint_rows
        self._since_checkpoint = 0
        path = getattr(ws.store, "path", None)
        con = getattr(ws.store, "connection", None)
        self._read_only = bool(getattr(ws.store, "read_only", False))  # served for reading: refuse ingest
        self._seq_in_db = path is not None and con is not None and not self._read_only
        directory = ingest_log.log_dir(path) if self._seq_in_db else None
        if directory is not None:
            # the store replays on open; this covers a workspace opened before a previous writer on it stopped
            # with records left (one that could not write the store)
            ingest_log.replay(ws.store, directory)
        start = ingest_log.committed_seq(con) if directory is not None else 0
        self.log = ingest_log.IngestLog(directory, start + 1,
                                        ingest_log.database_id(con) if directory is not None else "")
        # the applier's side: work queue, what was acknowledged and what is applied
        self._applied = threading.Condition()
        self._queue: deque[_Logged | _Direct] = deque()
        self._acked_seq = start
        self._applied_seq = start
        self._backlog = 0
        self._failed: StoreError | None = None
        self._applier_stop = False
        ws._read_barrier = self.sync
        self._applier = threading.Thread(target=self._apply_loop, name="cxlens-applier", daemon=True)
        self._applier.start()
        self._thread = threading.Thread(target=self._run, name="cxlens-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, data: pa.Table) -> Future[int]:
        """Queue a raw batch of ``kind``; the future gives the rows written (or the validation error)."""
        if self._read_only:
            raise CxlensInputError("this server's workspace is open read-only; it takes no data", kind=kind)
        p = _Pending(kind, data)
        with self._cond:
            if self._stop:
                raise StoreError("the server is shutting down; batch not accepted")
            if self._failed is not None:
                raise self._failed
            self._pending.append(p)
            self._rows += data.num_rows
            if self._rows >= self.flush_rows or len(self._pending) == 1:
                self._cond.notify()
        return p.future

    def sync(self, timeout: float = 60.0) -> None:
        """Wait until every batch acknowledged so far is applied to the store (read your writes)."""
        if threading.current_thread() is self._applier:
            return
        deadline = time.monotonic() + timeout
        with self._applied:
            target = self._acked_seq
            if self._applied_seq >= target:
                return
            self._readers += 1
            self._applied.notify_all()  # the applier stops gathering and commits what it has
            try:
                while self._applied_seq < target:
                    if self._failed is not None:
                        raise self._failed
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreError(f"acknowledged batches are not applied after {timeout:g} s; they are "
                                         "kept in the ingest log", applied_seq=self._applied_seq, acked_seq=target)
                    self._applied.wait(left)
            finally:
                self._readers -= 1

    def status(self) -> dict[str, int | str | None]:
        """Where the log stands: last record acknowledged and applied, rows waiting, the log's directory."""
        with self._applied:
            return {"acked_seq": self._acked_seq, "applied_seq": self._applied_seq, "backlog_rows": self._backlog,
                    "log": None if self.log.directory is None else str(self.log.directory),
                    "failed": None if self._failed is None else self._failed.message}

    def close(self) -> None:
        """Log and apply what is queued, stop both threads and drop the applied log."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=30)
        with self._applied:
            self._applier_stop = True
            self._applied.notify_all()
        self._applier.join(timeout=60)
        self.log.close(self._applied_seq)
        if getattr(self.ws, "_read_barrier", None) == self.sync:
            self.ws._read_barrier = None

    # -- the writer thread --------------------------------------------------------------------------
    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._pending and not self._stop:
                self._cond.wait()
            if not self._pending:
                return None
            while not self._stop and self._rows < self.flush_rows:
                left = self._pending[0].at + self.flush_s - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, self._pending, self._rows = self._pending, [], 0
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._flush(batch)
            except BaseException as e:  # never let the writer die; hand the error to the requests
                err = e if isinstance(e, CxlensError) else StoreError(f"writing failed: {e}")
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(err)

    def _flush(self, batch: list[_Pending]) -> None:
        groups: dict[tuple[str, pa.Schema], list[_Pending]] = defaultdict(list)
        for p in batch:
            key = (p.kind, p.data.schema) if p.kind != "persons" else (p.kind, id(p))  # persons: one by one
            groups[key].append(p)  # type: ignore[index]
        ready: list[tuple[list[_Pending], dict[str, pa.Table]]] = []
        t0 = time.perf_counter()
        for (kind, _), items in groups.items():
            ready.extend(self._validate(kind, items))
        t1 = time.perf_counter()
        self.stats["validate_s"] += t1 - t0
        logged = [(items, tables) for items, tables in ready if not _UPSERT & tables.keys()]
        direct = [_Direct(items, tables) for items, tables in ready if _UPSERT & tables.keys()]
        if logged:
            rows = sum(t.num_rows for _, tables in logged for t in tables.values())
            self._wait_for_room(rows)
            records = ingest_log.merge([tables for _, tables in logged])
            seq = self.log.append(records)  # written and synced: from here the batch survives a crash
            with self._applied:
                self._acked_seq = seq
                self._backlog += rows
                self._queue.append(_Logged(seq, records, rows))
                self._applied.notify_all()
            self.stats["log_s"] += time.perf_counter() - t1
            self.stats["flushes"] += 1
            self.stats["requests"] += sum(len(items) for items, _ in logged)
            self.stats["rows"] += rows
            for items, _ in logged:
                for p in items:
                    p.future.set_result(p.data.num_rows)
        if direct:
            with self._applied:
                self._queue.extend(direct)
                self._applied.notify_all()

    def _wait_for_room(self, rows: int) -> None:
        with self._applied:
            while self._backlog and self._backlog + rows > self.max_backlog_rows:
                if self._failed is not None:
                    raise self._failed
                self._applied.wait(1.0)

    def _validate(self, kind: str, items: list[_Pending]) -> list[tuple[list[_Pending], dict[str, pa.Table]]]:
        """Conform ``items`` together; a bad row fails its own request and the rest is tried again."""
        while items:
            sizes = np.array([p.data.num_rows for p in items], dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            data = pa.concat_tables([p.data for p in items]) if len(items) > 1 else items[0].data
            if ROW in data.column_names:
                data = data.drop_columns([ROW])
            data = data.append_column(ROW, pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64)))
            try:
                return [(items, prepare(kind, data, file=f"{kind} batch", fast=True))]
            except ImportValidationError as e:
                if e.row is None or len(items) == 1:
                    if len(items) == 1:
                        items[0].future.set_exception(_relative(e, 0))
                        return []
                    # no row to blame: validate one by one
                    out = []
                    for p in items:
                        out.extend(self._validate(kind, [p]))
                    return out
                i = int(np.searchsorted(starts, e.row - 1, side="right") - 1)
                items[i].future.set_exception(_relative(e, int(starts[i])))
                items = items[:i] + items[i + 1:]
            except Exception as e:  # a failure must stay with the request that caused it
                if len(items) == 1:
                    items[0].future.set_exception(
                        e if isinstance(e, CxlensError) else StoreError(f"validating the batch failed: {e}"))
                    return []
                out = []
                for p in items:
                    out.extend(self._validate(kind, [p]))
                return out
        return []

    # -- the applier thread -------------------------------------------------------------------------
    def _apply_loop(self) -> None:
        try:
            self._apply_all()
        except BaseException as e:  # a bug: stop taking batches rather than acknowledge what nobody applies
            log.exception("the ingest applier stopped")
            with self._applied:
                self._failed = StoreError(f"the ingest applier stopped ({e}); acknowledged batches are kept in "
                                          f"{self.log.directory} and applied when the file is next opened")
                self._applied.notify_all()

    def _apply_all(self) -> None:
        while True:
            with self._applied:
                while not self._queue and not (self._applier_stop and not self._thread.is_alive()):
                    self._applied.wait(0.5)
                if not self._queue:
                    return
                # gather: bigger DuckDB transactions cost less per row (CPU the answers need), unless a read
                # waits, a persons batch waits for its commit, or the server stops
                while (self._backlog < self.apply_rows and not self._readers and not self._applier_stop
                       and all(isinstance(w, _Logged) for w in self._queue)):
                    left = self._queue[0].at + self.apply_s - time.monotonic()  # type: ignore[union-attr]
                    if left <= 0:
                        break
                    self._applied.wait(left)
                work, self._queue = list(self._queue), deque()
            i = 0
            while i < len(work):
                if self._failed is not None:
                    # nothing after a record that could not be applied may be applied before it (the sequence
                    # number committed with the rows would skip it): the log keeps them for the next open
                    for d in work[i:]:
                        if isinstance(d, _Direct):
                            for p in d.items:
                                p.future.set_exception(self._failed)
                    break
                if isinstance(work[i], _Direct):
                    self._apply_direct(work[i])  # type: ignore[arg-type]
                    i += 1
                    continue
                j = i
                while j < len(work) and isinstance(work[j], _Logged):
                    j += 1
                self._apply_logged(work[i:j])  # type: ignore[arg-type]
                i = j

    def _apply_logged(self, entries: list[_Logged]) -> None:
        t0 = time.perf_counter()
        try:
            self._commit([r for e in entries for r in e.records], entries[-1].seq)
        except Exception:
            for e in entries:  # find the record that fails; apply the others
                if self._failed is not None:
                    return
                self._apply_alone(e)
        else:
            self._done(entries[-1].seq, sum(e.rows for e in entries), time.perf_counter() - t0)

    def _apply_alone(self, e: _Logged) -> None:
        t0 = time.perf_counter()
        for wait in (*_RETRIES, None):
            try:
                self._commit(e.records, e.seq)
            except Exception as err:
                if wait is None:
                    self._set_aside(e, err)
                    return
                time.sleep(wait)
            else:
                self._done(e.seq, e.rows, time.perf_counter() - t0)
                return

    def _set_aside(self, e: _Logged, err: Exception) -> None:
        """A record the store refuses again and again: keep it in ``rejected/`` and go on with the rest."""
        log.error("ingest log record %d (%d rows) cannot be applied: %s", e.seq, e.rows, err)
        kept: list[Path] = []
        try:
            if self.log.directory is not None:
                aside = self.log.directory / "rejected"
                aside.mkdir(exist_ok=True)
                kept = [aside / f"{e.seq:020d}.payload", aside / f"{e.seq:020d}.txt"]
                kept[0].write_bytes(b"".join(ingest_log.encode(r) for r in e.records))  # ingest_log.decode reads it
                kept[1].write_text(f"{type(err).__name__}: {err}\n")
            self._commit([], e.seq)
        except Exception as fatal:  # the store cannot be written at all: stop, keep the log for the next open
            for f in kept:  # not set aside after all: the next open applies it from the log
                f.unlink(missing_ok=True)
            with self._applied:
                self._failed = StoreError(
                    f"the database cannot be written ({fatal}); acknowledged batches are kept in "
                    f"{self.log.directory} and applied when the file is next opened")
                self._applied.notify_all()
            return
        self.stats["rejected_rows"] += e.rows
        self._done(e.seq, e.rows, 0.0)

    def _commit(self, records: list[dict[str, pa.Table]], seq: int) -> None:
        if self._seq_in_db:
            ingest_log.apply_records(self.ws.store, records, seq)
        else:
            with self.ws.store.transaction():
                for tables in records:
                    self.ws.store.append(tables)

    def _done(self, seq: int, rows: int, seconds: float) -> None:
        with contextlib.suppress(OSError):  # committed to the database: the segments it fills can go
            self.log.applied(seq)
        with self._applied:
            self._applied_seq = seq
            self._backlog -= rows
            self._applied.notify_all()
        self.commits += 1
        self.stats["applies"] += 1
        self.stats["write_s"] += seconds
        self._committed(rows)

    def _apply_direct(self, d: _Direct) -> None:
        try:
            with self.ws.store.transaction():
                self.ws._before_append(d.tables)
                n = self.ws.store.append(d.tables).get(d.items[0].kind, 0)
        except Exception as e:
            err = e if isinstance(e, CxlensError) else StoreError(f"writing failed: {e}")
            for p in d.items:
                p.future.set_exception(err)
            return
        self.commits += 1
        self.stats["requests"] += len(d.items)
        self.stats["rows"] += n
        self._committed(n)
        for p in d.items:
            p.future.set_result(p.data.num_rows if len(d.items) > 1 else n)

    def _committed(self, rows: int) -> None:
        if self.on_commit:
            with contextlib.suppress(Exception):
                self.on_commit()
        self._since_checkpoint += rows
        if self._checkpoint and self._checkpoint_rows and self._since_checkpoint >= self._checkpoint_rows:
            self._since_checkpoint = 0
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):  # the rows are committed; DuckDB retries later
                self._checkpoint()
            self.stats["checkpoints"] += 1
            self.stats["checkpoint_s"] += time.perf_counter() - t0


def _relative(e: ImportValidationError, start: int) -> ImportValidationError:
    """The same error with the row counted within the request's own batch (1-based)."""
    return ImportValidationError(e.reason, file=e.file, row=None if e.row is None else e.row - start,
                                 column=e.column, value=e.value, expected=e.expected)

