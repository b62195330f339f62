"""The ingest log: validated batches made durable before they are applied to the database.

The server acknowledges a batch once it is in this log and synced to disk, not once DuckDB has committed
it; a separate thread applies the log to DuckDB. That takes DuckDB's checkpoints (which block appends to a
table for tens of milliseconds, in DuckDB 2.0) off the path of an answer, the way PostHog answers once a
batch is in Kafka rather than in ClickHouse. Every record carries a sequence number, and the number of the
last record applied is committed to DuckDB in the same transaction as its rows
(``_cxlens_ingest_log.seq``), so a record is applied exactly once: :func:`replay` re-applies only what the
database does not hold yet, whenever the file is opened for writing after a crash.

Format (written by hand because no library offers an append-only, fsync-per-group, torn-write-detecting
log of Arrow tables; the tables themselves are Arrow IPC streams): a log is a directory ``<db>.ingest-log``
of segment files ``<first seq, 20 digits>-<database id>.log`` (so a segment never goes into another database);
a segment is a sequence of records, each a 20-byte header
``b"CXL1" | seq u64 | length u32 | crc32 u32`` (little endian) and a payload of ``length`` bytes: for each
table ``name length u16 | name (utf-8) | ipc length u64 | Arrow IPC stream``. A record cut short by a crash
(it was never acknowledged: the answer waits for the sync) ends the log; a bad record followed by good ones
is corruption, reported with the file and offset.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from cxlens.errors import StoreError

__all__ = ["LOG_TABLE", "ForeignLogError", "IngestLog", "apply_records", "committed_seq", "database_id", "decode",
           "encode", "has_records", "log_dir", "merge", "read_records", "replay", "segments"]

LOG_TABLE = "_cxlens_ingest_log"
"""One row: the sequence number of the last log record applied (committed with that record's rows)."""

_MAGIC = b"CXL1"
_HEADER = struct.Struct("<4sQII")
_NAME = struct.Struct("<H")
_IPC = struct.Struct("<Q")
_SEGMENT_BYTES = 64 << 20
_REPLAY_ROWS = 1_000_000  # rows applied per transaction when replaying

log = logging.getLogger(__name__)


def log_dir(db: str | Path) -> Path:
    """The log directory of the database file ``db``."""
    db = Path(db)
    return db.with_name(db.name + ".ingest-log")


def encode(tables: Mapping[str, pa.Table]) -> bytes:
    """The payload of one record: every table as an Arrow IPC stream, with its name."""
    parts: list[bytes] = []
    for name, t in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        buf = sink.getvalue()
        raw = name.encode()
        parts += [_NAME.pack(len(raw)), raw, _IPC.pack(buf.size), buf.to_pybytes()]
    return b"".join(parts)


def decode(payload: bytes) -> dict[str, pa.Table]:
    """The tables of a record's payload (inverse of :func:`encode`)."""
    out: dict[str, pa.Table] = {}
    view = memoryview(payload)
    at = 0
    while at < len(view):
        (n,) = _NAME.unpack_from(view, at)
        at += _NAME.size
        name = bytes(view[at:at + n]).decode()
        at += n
        (size,) = _IPC.unpack_from(view, at)
        at += _IPC.size
        out[name] = pa.ipc.open_stream(pa.py_buffer(view[at:at + size])).read_all()
        at += size
    return out


def read_records(segment: Path) -> Iterator[tuple[int, bytes, int]]:
    """``(seq, payload, end offset)`` of every whole record of ``segment``, in order.

    Stops at a record cut short at the end of the file (a crash while writing it); raises
    :class:`~cxlens.errors.StoreError` for a damaged record followed by more data.
    """
    data = segment.read_bytes()
    at = 0
    while at < len(data):
        bad = None
        if len(data) - at < _HEADER.size:
            bad = "a header cut short"
        else:
            magic, seq, length, crc = _HEADER.unpack_from(data, at)
            end = at + _HEADER.size + length
            if magic != _MAGIC:
                bad = "no record marker"
            elif end > len(data):
                bad = "a record cut short"
            else:
                payload = data[at + _HEADER.size:end]
                if zlib.crc32(payload) != crc:
                    bad = "a checksum mismatch"
        if bad is not None:
            if _only_tail(data, at):
                return
            raise StoreError(f"ingest log {segment} is damaged at byte {at}: {bad}, with data after it",
                             path=str(segment), offset=at)
        yield seq, payload, end
        at = end


def _only_tail(data: bytes, at: int) -> bool:
    """Whether the bad bytes from ``at`` can be the one record a crash cut short (no whole record after)."""
    nxt = data.find(_MAGIC, at + 1)
    while nxt != -1:
        if len(data) - nxt >= _HEADER.size:
            _, _, length, crc = _HEADER.unpack_from(data, nxt)
            end = nxt + _HEADER.size + length
            if end <= len(data) and zlib.crc32(data[nxt + _HEADER.size:end]) == crc:
                return False
        nxt = data.find(_MAGIC, nxt + 1)
    return True


def segments(directory: Path) -> list[Path]:
    """The segment files of a log, oldest first."""
    return sorted(directory.glob("*.log")) if directory.is_dir() else []


def has_records(directory: Path) -> bool:
    """Whether the log at ``directory`` holds anything (records that may not be applied yet)."""
    return any(seg.stat().st_size for seg in segments(directory))


def committed_seq(con: Any) -> int:
    """The last record applied to the database behind DuckDB connection ``con``."""
    # fetchall: DuckDB refuses other work on a connection that holds a result not read to the end
    rows = con.execute(f"SELECT max(seq) FROM {LOG_TABLE}").fetchall()
    row = rows[0] if rows else None
    return int(row[0] or 0) if row else 0


class ForeignLogError(StoreError):
    """The ingest log beside a database file was written for another database."""

    code = "foreign_ingest_log"


def database_id(con: Any) -> str:
    """The random id of the database behind DuckDB connection ``con`` (migration 8)."""
    rows = con.execute(f"SELECT max(database_id) FROM {LOG_TABLE}").fetchall()
    return str(rows[0][0])


def _segment_owner(segment: Path) -> str | None:
    """The database id in a segment's name (``<first seq>-<database id>.log``)."""
    _, _, owner = segment.stem.partition("-")
    return owner or None


def replay(store: Any, directory: Path) -> int:
    """Apply the records of the log at ``directory`` that ``store`` (writable) does not hold; returns rows.

    Whole segments are deleted once everything in them is committed to the database. A segment written for
    another database (its id is in the file name) stops the replay with a :class:`~cxlens.errors.StoreError`.
    """
    files = segments(directory)
    if not files:
        return 0
    me = database_id(store.connection)
    for seg in files:
        if _segment_owner(seg) != me:
            raise ForeignLogError(
                f"ingest log segment {seg} belongs to another database (id {_segment_owner(seg)}, this file is "
                f"{me}): it holds batches acknowledged for a file that was replaced. Move {directory} away to "
                "open this database without them, or put the original file back.", path=str(seg))
    done = committed_seq(store.connection)
    rows = 0
    pending: list[dict[str, pa.Table]] = []
    pending_rows = 0
    last = done

    def flush() -> None:
        nonlocal pending, pending_rows
        if pending:
            apply_records(store, pending, last)
        pending, pending_rows = [], 0

    for seg in files:
        for seq, payload, _ in read_records(seg):
            if seq <= done:
                continue
            tables = decode(payload)
            pending.append(tables)
            n = sum(t.num_rows for t in tables.values())
            pending_rows += n
            rows += n
            last = seq
            if pending_rows >= _REPLAY_ROWS:
                flush()
    flush()
    if rows:
        log.warning("applied %d acknowledged rows from the ingest log %s", rows, directory)
    for seg in files:
        seg.unlink()
    return rows


def merge(records: list[dict[str, pa.Table]]) -> list[dict[str, pa.Table]]:
    """Records' tables concatenated per table (one append each); records whose schemas differ stay apart."""
    merged: dict[str, list[pa.Table]] = {}
    for r in records:
        for name, t in r.items():
            merged.setdefault(name, []).append(t)
    try:
        return [{name: pa.concat_tables(ts) if len(ts) > 1 else ts[0] for name, ts in merged.items()}]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return records


def apply_records(store: Any, records: list[dict[str, pa.Table]], seq: int) -> None:
    """Append ``records`` and mark ``seq`` applied, in one transaction."""
    with store.transaction():
        for tables in merge(records):
            store.append(tables)
        store.connection.execute(f"UPDATE {LOG_TABLE} SET seq = ?", [seq])


class IngestLog:
    """The writable end of a log: append a record, sync it; drop segments once applied.

    ``directory=None`` gives a log that keeps nothing (an in-memory database has nothing to survive).
    """

    def __init__(self, directory: Path | None, next_seq: int, database: str = "") -> None:
        self.directory = directory
        self.database = database
        self.next_seq = next_seq
        self._lock = threading.Lock()
        self._closed: list[tuple[Path, int]] = []  # (segment, last seq in it)
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._last = next_seq - 1
        self.bytes_written = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def append(self, records: list[dict[str, pa.Table]]) -> int:
        """Write ``records`` (one sequence number each) and sync them to disk; returns the last number.

        On a failed write the segment is cut back to its last whole record, so the log stays readable.
        """
        first = self.next_seq
        if self.directory is None:
            self.next_seq += len(records)
            self._last = self.next_seq - 1
            return self._last
        out = []
        for k, tables in enumerate(records):
            payload = encode(tables)
            out += [_HEADER.pack(_MAGIC, first + k, len(payload), zlib.crc32(payload)), payload]
        data = b"".join(out)
        if self._fd is None or self._size >= _SEGMENT_BYTES:
            self._rotate(first)
        assert self._fd is not None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fdatasync(self._fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise StoreError(f"cannot write the ingest log {self._path}: {e}", path=str(self._path)) from e
        self.next_seq += len(records)
        self._last = self.next_seq - 1
        self._size += len(data)
        self.bytes_written += len(data)
        return self._last

    def _rotate(self, seq: int) -> None:
        assert self.directory is not None
        if self._fd is not None and self._path is not None:
            os.close(self._fd)
            with self._lock:
                self._closed.append((self._path, seq - 1))
        self._path = self.directory / f"{seq:020d}-{self.database}.log"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        dfd = os.open(self.directory, os.O_RDONLY)  # the new file's name must survive a crash too
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def applied(self, seq: int) -> None:
        """Everything up to ``seq`` is committed to the database: delete the segments it fills."""
        with self._lock:
            keep = []
            for path, last in self._closed:
                if last <= seq:
                    path.unlink(missing_ok=True)
                else:
                    keep.append((path, last))
            self._closed = keep

    def close(self, applied_seq: int) -> None:
        """Close the current segment; delete every segment when all of the log is applied."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self._path is not None:
                with self._lock:
                    self._closed.append((self._path, self._last))
        self.applied(applied_seq)
        if self.directory is not None and not self._closed:
            with contextlib.suppress(OSError):  # left in place if anything else is in it (rejected/)
                self.directory.rmdir()
