"""Small vectorised helpers shared by the built-in presets."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["blank_to_null", "has_columns", "pick", "slug"]


def has_columns(header: list[str], *names: str) -> bool:
    """True when every name is in the header (compared without surrounding spaces)."""
    h = {c.strip().lstrip("\ufeff") for c in header}
    return all(n in h for n in names)


def pick(raw: pa.Table, mapping: Mapping[str, str], keep_rest: bool = True) -> pa.Table:
    """Columns renamed by ``mapping`` (source -> target); the rest kept under snake_case names."""
    cols: dict[str, pa.ChunkedArray] = {}
    for name in raw.column_names:
        if name in mapping:
            cols[mapping[name]] = raw.column(name)
        elif keep_rest:
            cols.setdefault(slug(name) if name != "_row" else name, raw.column(name))
    return pa.table(cols)


def slug(name: str) -> str:
    """Snake case: ``'Sub-issue'`` -> ``'sub_issue'``, ``'Timely response?'`` -> ``'timely_response'``."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    return s or "column"


def blank_to_null(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Empty or whitespace-only strings become nulls."""
    s = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, arr.type), arr)
