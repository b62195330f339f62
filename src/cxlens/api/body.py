"""Request bodies of the ingest API: bounded size, gzip, JSON arrays or NDJSON, parsed once with orjson.

No per-event pydantic model: the records go straight from orjson to a columnar Arrow table and are validated
column-wise by :func:`cxlens.ingest.importer.prepare` (the same checks as file imports).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import pyarrow as pa
from fastapi import Request

from cxlens.api.errors import ApiError
from cxlens.errors import CxlensInputError
from cxlens.ingest.records import to_arrow

__all__ = ["parse_records", "read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The (decompressed) body; 413 when it is, or would inflate to, more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {int(declared):,} bytes exceeds the limit of {limit:,} bytes",
                       limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds the limit of {limit:,} bytes", limit=limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").lower().strip()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; send gzip or nothing",
                       field="Content-Encoding")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as e:
        raise ApiError(400, f"body is not valid gzip: {e}", field="body") from None
    if len(out) > limit or d.unconsumed_tail:
        raise ApiError(413, f"decompressed body exceeds the limit of {limit:,} bytes", limit=limit)
    return out


def _loads(body: bytes, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise CxlensInputError(f"{what} is not valid JSON: {e}", field="body") from None


def _columnar(records: list[dict[str, Any]]) -> pa.Table:
    """Records to Arrow. Fast path (Arrow's C++ conversion) when every record's keys are among the first
    record's and no value is nested; otherwise :func:`cxlens.ingest.records.to_arrow`, which serialises nested
    values to JSON and keeps mixed-type fields as text (the validator casts them)."""
    first = records[0]
    if set().union(*records).issubset(first):
        try:
            t = pa.Table.from_pylist(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            t = None
        if t is not None and not any(pa.types.is_nested(f.type) for f in t.schema):
            return t
    return to_arrow(records)


def parse_records(body: bytes, content_type: str = "") -> pa.Table:
    """A JSON array (or one object) or NDJSON body as an Arrow table of records."""
    text = body.strip()
    if not text:
        raise CxlensInputError("empty body; send a JSON array of records or NDJSON", field="body")
    ndjson = any(t in content_type for t in ("ndjson", "jsonl", "json-seq", "jsonlines"))
    if not ndjson:
        try:
            records = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            if b"\n" not in text:
                raise CxlensInputError(f"body is not valid JSON: {e}", field="body") from None
            ndjson = True  # several lines: read them as NDJSON
    if ndjson:
        lines = [ln for ln in text.split(b"\n") if ln.strip()]
        records = _loads(b"[" + b",".join(lines) + b"]", "NDJSON body (one JSON object per line)")
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise CxlensInputError(f"body is a JSON {type(records).__name__}; expected an array of objects",
                               field="body")
    if not records:
        raise CxlensInputError("the array is empty; send at least one record", field="body")
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise CxlensInputError(f"record {bad + 1} is a JSON {type(records[bad]).__name__}; expected an object",
                               field="body", row=bad + 1)
    data = _columnar(records)
    bad_name = next((c for c in data.column_names if not c.strip() or c.startswith("_cxlens")), None)
    if bad_name is not None:
        raise CxlensInputError(f"field name {bad_name!r} is not allowed: names must be non-empty and must not "
                               "start with '_cxlens'", field=bad_name)
    return data
