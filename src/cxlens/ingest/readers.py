"""Read CSV, JSON Lines, JSON, Parquet and whitespace-separated text into Arrow batches.

CSV columns are read as text (the validator casts them, so a bad value is reported with its row instead of
silently turning a column into strings). Large CSV and Parquet files stream in batches so that memory stays
flat and a progress bar can follow the bytes read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from cxlens.errors import ImportValidationError, NotFoundError
from cxlens.ingest.records import to_arrow

__all__ = ["Format", "ReadOptions", "detect_format", "iter_batches", "read_header", "read_table"]

Format = Literal["csv", "jsonl", "json", "parquet", "txt"]
Progress = Callable[[int], None]

WHOLE_READ_BYTES = 4 << 30
"""CSV files up to this size are parsed in one multi-threaded pass; larger ones stream."""

_EXT: dict[str, Format] = {
    ".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".parquet": "parquet", ".pq": "parquet", ".txt": "txt",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file: format, delimiter, header, and JSON leniency."""

    format: Format | None = None
    delimiter: str | None = None
    header: bool = True
    column_names: tuple[str, ...] | None = None
    lenient_json: bool = False  # tolerate trailing commas before ] or }
    bare_cr_as_space: bool = False  # a lone carriage return inside a field is text, not a line break
    batch_rows: int = 1_048_576


def detect_format(path: Path) -> Format:
    """Format from the extension, or from the first bytes when the extension says nothing."""
    fmt = _EXT.get(path.suffix.lower())
    if fmt == "json":
        head = _head(path, 4096).lstrip()
        if head.startswith(b"{") and b"\n{" in head:
            return "jsonl"
    if fmt:
        return fmt
    head = _head(path, 4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    s = head.lstrip()
    if s.startswith(b"["):
        return "json"
    if s.startswith(b"{"):
        return "jsonl"
    return "csv"


def _head(path: Path, n: int) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _check(path: Path) -> Path:
    if not path.exists():
        raise NotFoundError(f"{path}: no such file", file=str(path))
    if path.is_dir():
        raise NotFoundError(f"{path} is a folder; give a file", file=str(path))
    return path


def read_header(path: Path, opts: ReadOptions | None = None) -> list[str]:
    """Column names (CSV header, keys of the first JSON record, Parquet schema), for preset detection."""
    opts = opts or ReadOptions()
    fmt = opts.format or detect_format(_check(path))
    if fmt == "parquet":
        return list(pq.read_schema(path).names)
    text = _head(path, 65536).decode("utf-8", errors="replace").lstrip("\ufeff")
    if fmt == "csv":
        first = text.splitlines()[0] if text else ""
        return [c for c in next(csv.reader([first], delimiter=opts.delimiter or _sniff_delim(first)))]
    if fmt == "txt":
        return text.splitlines()[0].split() if text else []
    if fmt == "jsonl":
        try:
            rec = orjson.loads(text.splitlines()[0])
        except (orjson.JSONDecodeError, IndexError):
            return []
        return list(rec) if isinstance(rec, dict) else []
    m = re.search(r"\{", text)
    if not m:
        return []
    keys = re.findall(r'"([^"\\]+)"\s*:', text[m.start():m.start() + 4000])
    return list(dict.fromkeys(keys))


def _sniff_delim(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


class _CountingFile(io.RawIOBase):
    """A read-only file that reports bytes read (for progress bars)."""

    def __init__(self, f: BinaryIO, progress: Progress | None) -> None:
        self._f = f
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        if self._progress and n:
            self._progress(n)
        return n


def iter_batches(path: Path, opts: ReadOptions | None = None,
                 progress: Progress | None = None) -> Iterator[pa.Table]:
    """Yield the file as Arrow tables of at most ``opts.batch_rows`` rows (CSV, Parquet stream)."""
    opts = opts or ReadOptions()
    fmt = opts.format or detect_format(_check(path))
    if fmt == "csv":
        yield from _csv_batches(path, opts, progress)
    elif fmt == "parquet":
        pf = pq.ParquetFile(path)
        per_row = path.stat().st_size / max(pf.metadata.num_rows, 1)
        for batch in pf.iter_batches(batch_size=opts.batch_rows):
            if progress:
                progress(int(batch.num_rows * per_row))
            yield pa.Table.from_batches([batch])
    else:
        table = read_table(path, opts)
        if progress:
            progress(path.stat().st_size)
        yield table


def _csv_batches(path: Path, opts: ReadOptions, progress: Progress | None) -> Iterator[pa.Table]:
    names = list(opts.column_names) if opts.column_names else read_header(path, opts)
    first = _head(path, 65536).decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    delim = opts.delimiter or _sniff_delim(first[0] if first else "")
    if opts.header:
        names = _dedupe(names)
    read = pacsv.ReadOptions(column_names=names, skip_rows=1 if opts.header else 0,
                             block_size=16 << 20)
    parse = pacsv.ParseOptions(delimiter=delim, newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    size = path.stat().st_size
    source: Path | pa.BufferReader = path
    if opts.bare_cr_as_space:
        source = pa.BufferReader(re.sub(rb"\r(?!\n)", b" ", path.read_bytes()))
    if size <= WHOLE_READ_BYTES or opts.bare_cr_as_space:
        # the multi-threaded reader is ~3x faster than the streaming one; memory is plentiful at this size
        try:
            whole = pacsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as e:
            raise ImportValidationError(f"cannot parse the CSV: {_clean(e)}", file=str(path),
                                        expected=f"{len(names)} fields per row separated by {delim!r}, "
                                        "UTF-8 text") from None
        for start in range(0, whole.num_rows, opts.batch_rows):
            part = whole.slice(start, opts.batch_rows)
            if progress:
                progress(int(size * part.num_rows / max(whole.num_rows, 1)))
            yield part
        return
    with path.open("rb") as raw:
        stream = io.BufferedReader(_CountingFile(raw, progress), buffer_size=1 << 20)
        try:
            reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
            pending: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                pending.append(batch)
                rows += batch.num_rows
                if rows >= opts.batch_rows:
                    yield pa.Table.from_batches(pending)
                    pending, rows = [], 0
            if pending:
                yield pa.Table.from_batches(pending)
        except pa.ArrowInvalid as e:
            raise ImportValidationError(f"cannot parse the CSV: {_clean(e)}", file=str(path),
                                        expected=f"{len(names)} fields per row separated by {delim!r}, "
                                        "UTF-8 text") from None


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n.strip().lstrip("\ufeff") or "column"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def _clean(e: Exception) -> str:
    return str(e).splitlines()[0]


def read_table(path: Path, opts: ReadOptions | None = None) -> pa.Table:
    """Read the whole file into one Arrow table."""
    opts = opts or ReadOptions()
    fmt = opts.format or detect_format(_check(path))
    if fmt in ("csv", "parquet"):
        batches = list(iter_batches(path, opts))
        return pa.concat_tables(batches) if batches else pa.table({})
    if fmt == "txt":
        return _read_whitespace(path, opts)
    if fmt == "jsonl":
        return _read_jsonl(path)
    return _read_json(path, opts)


def _read_whitespace(path: Path, opts: ReadOptions) -> pa.Table:
    rows = []
    with path.open(encoding="utf-8") as f:
        lines = f.read().splitlines()
    names = list(opts.column_names) if opts.column_names else None
    if opts.header and names is None:
        names = lines[0].split()
    body = lines[1:] if opts.header else lines
    assert names is not None
    for i, line in enumerate(body, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names):
            raise ImportValidationError(
                f"row has {len(parts)} fields", file=str(path), row=i, value=line.strip(),
                expected=f"{len(names)} whitespace-separated fields ({' '.join(names)})")
        rows.append(parts)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})


def _read_jsonl(path: Path) -> pa.Table:
    try:
        return pajson.read_json(path)
    except pa.ArrowInvalid:
        pass  # heterogeneous records: fall back to a per-line parse that reports the bad line
    records = []
    with path.open("rb") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as e:
                raise ImportValidationError(f"invalid JSON: {e}", file=str(path), row=i,
                                            expected="one JSON object per line") from None
    return to_arrow(records)


_TRAILING = re.compile(rb",(\s*[\]}])")


def _read_json(path: Path, opts: ReadOptions) -> pa.Table:
    raw = path.read_bytes()
    if opts.lenient_json:
        raw = _TRAILING.sub(rb"\1", raw)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        hint = " (a trailing comma before ] ?)" if b",\n]" in raw[-64:] or b", ]" in raw[-64:] else ""
        raise ImportValidationError(f"invalid JSON{hint}: {e}", file=str(path), row=e.lineno,
                                    expected="a JSON array of objects, or JSON Lines") from None
    if isinstance(doc, dict):
        for key in ("results", "data", "events", "records", "items"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise ImportValidationError("JSON top level is not an array", file=str(path),
                                    expected="a JSON array of objects")
    return to_arrow(doc)
