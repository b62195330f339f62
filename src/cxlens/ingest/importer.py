"""Bulk import of files into a workspace: all or nothing.

Every file of one import is read (streaming where the format allows), transformed by its preset or by the
column mapping, validated column-wise, and appended inside one store transaction. The first bad value stops
the import with an error naming file, row, column, value and what was expected, and the transaction is
rolled back, so nothing of the import is stored.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import CxlensInputError
from cxlens.ingest import presets as _builtin_presets  # noqa: F401  (registers the built-in presets)
from cxlens.ingest.conform import ROW, conform
from cxlens.ingest.fastconform import fast_conform
from cxlens.ingest.presets.base import Preset, constant, detect, get, rename
from cxlens.ingest.readers import ReadOptions, iter_batches, read_header, read_table
from cxlens.schema.tables import table
from cxlens.store.base import Store

__all__ = ["ImportReport", "import_files", "prepare"]

Progress = Callable[[int], None]
T = TypeVar("T")

# identity columns whose distinct values an import report counts
_IDENTITY = {"events": "distinct_id", "responses": "response_id", "tickets": "distinct_id",
             "reviews": "distinct_id", "transactions": "distinct_id", "sessions": "session_id",
             "tasks": "participant", "persons": "person_id", "accounts": "account_id"}


@dataclass
class ImportReport:
    """What an import did. ``rows_rejected`` is always 0: a bad row stops the import instead."""

    kind: str
    files: list[str]
    preset: str | None
    rows_read: int = 0
    rows_imported: dict[str, int] = field(default_factory=dict)
    rows_rejected: int = 0
    distinct: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows_per_second"] = round(self.rows_per_second)
        return d

    def __str__(self) -> str:
        imported = ", ".join(f"{n:,} {t}" for t, n in self.rows_imported.items())
        dist = ", ".join(f"{n:,} distinct {k}" for k, n in self.distinct.items())
        return (f"imported {self.rows_read:,} source rows from {len(self.files)} file(s)"
                f"{f' with preset {self.preset}' if self.preset else ''}: {imported}"
                f"{f' ({dist})' if dist else ''} in {self.seconds:.2f} s")


def _generic(kind: str, mapping: Mapping[str, str], constants: Mapping[str, Any]) -> Preset:
    def transform(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
        t = rename(raw, mapping)
        for k, v in constants.items():
            if k in t.column_names:
                t = t.drop_columns([k])
            t = t.append_column(k, constant(v, t.num_rows))
        return {kind: t}

    return Preset("generic", kind, "columns named as the canonical fields, or mapped with --map",
                  lambda h, p: True, transform, streaming=True)


def prepare(kind: str, raw: pa.Table, *, file: str | None = None, formats: Sequence[str] = (),
            row_offset: int = 0, fast: bool = False) -> dict[str, pa.Table]:
    """Validate one raw table of ``kind`` into canonical tables (``persons`` also yields identities).

    ``fast`` first tries :func:`cxlens.ingest.fastconform.fast_conform` (pure Arrow, no fixed query cost,
    for small batches such as the API's group commits); it gives the same table or declines, and then the
    batch is conformed as usual, so errors always come from :func:`conform`.
    """
    if fast and kind != "persons" and not formats:
        ready = fast_conform(kind, raw)
        if ready is not None:
            return {kind: ready}
    if kind == "persons":
        from cxlens.ingest.persons import split_persons

        return {k: conform(k, v, file=file, formats=formats, row_offset=row_offset)
                for k, v in split_persons(raw, file=file).items()}
    return {kind: conform(kind, raw, file=file, formats=formats, row_offset=row_offset)}


def import_files(
    store: Store,
    kind: str,
    paths: Sequence[str | Path],
    *,
    preset: str | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    before_append: Callable[[Mapping[str, pa.Table]], None] | None = None,
) -> ImportReport:
    """Import ``paths`` into ``kind``; see :meth:`cxlens.Workspace.import_file`."""
    table(kind)  # validates the kind, listing valid ones
    if not paths:
        raise CxlensInputError("no file given")
    files = [Path(p) for p in paths]
    report = ImportReport(kind=kind, files=[str(p) for p in files], preset=None)
    started = time.perf_counter()
    uniques: dict[str, list[pa.Array]] = {}
    def prepared() -> Iterator[tuple[int, dict[str, pa.Table]]]:
        for path in files:
            if preset == "generic" or (not preset and (mapping or constants)):
                p = _generic(kind, mapping or {}, constants or {})
            elif preset:
                p = get(preset, kind)
            else:
                p = detect(kind, path, read_header(path)) or _generic(kind, {}, {})
            report.preset = p.name if report.preset in (None, p.name) else "mixed"
            for part in _parts(p, path, progress):
                offset = part.column(ROW)[0].as_py() - 1 if part.num_rows else 0
                ready: dict[str, pa.Table] = {}
                for k, t in p.transform(part, path).items():
                    ready.update(prepare(k, t, file=str(path), formats=p.timestamp_formats,
                                         row_offset=offset))
                yield part.num_rows, ready

    with store.transaction():
        # reading and validating the next batch overlaps with writing this one (two cores)
        for rows, ready in _prefetch(prepared()):
            report.rows_read += rows
            if before_append:
                before_append(ready)
            for k, n in store.append(ready).items():
                report.rows_imported[k] = report.rows_imported.get(k, 0) + n
            for k, t in ready.items():
                idcol = _IDENTITY.get(k)
                if idcol and idcol in t.column_names:
                    uniques.setdefault(idcol if k == kind else f"{k}.{idcol}", []).append(
                        pc.unique(t.column(idcol).combine_chunks()))
    for key, arrays in uniques.items():
        allv = pa.concat_arrays([a.cast(pa.string()) for a in arrays])
        count = len(pc.unique(allv.drop_null()))
        if count:
            report.distinct[key] = count
    report.seconds = time.perf_counter() - started
    return report


_DONE = object()


def _prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Run ``items`` in a background thread, ``depth`` items ahead; its exceptions re-raise here."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer
            q.put(e)

    thread = threading.Thread(target=work, name="cxlens-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _parts(p: Preset, path: Path, progress: Progress | None) -> Iterable[pa.Table]:
    """The file as raw tables with a ``_row`` column (1-based data row)."""
    opts: ReadOptions = p.read
    if p.streaming:
        batches: Iterable[pa.Table] = iter_batches(path, opts, progress)
    else:
        batches = [read_table(path, opts)]
        if progress:
            progress(path.stat().st_size)
    start = 1
    empty = True
    for b in batches:
        if b.num_rows == 0:  # readers differ on the columns of an empty read; the header decides below
            continue
        empty = False
        if ROW in b.column_names:
            yield b
            continue
        rows = pa.array(np.arange(start, start + b.num_rows, dtype=np.int64))
        start += b.num_rows
        yield b.append_column(ROW, rows)
    if empty:  # a header without rows still goes through the checks (a file lacking required columns fails)
        names = [n for n in read_header(path, opts) if n]
        if not names:  # e.g. an empty JSON array: no columns to check, nothing to import
            return
        yield pa.table({**{n: pa.array([], pa.string()) for n in names}, ROW: pa.array([], pa.int64())})

