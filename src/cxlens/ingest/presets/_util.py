"""Small vectorised helpers shared by the built-in presets (no Python loop over rows anywhere)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError

__all__ = [
    "blank_to_null",
    "has_columns",
    "merge_json",
    "numeric",
    "pick",
    "slug",
    "squash_spaces",
]

Column = pa.ChunkedArray | pa.Array


def has_columns(header: list[str], *names: str) -> bool:
    """True when every name is in the header (compared without surrounding spaces or a byte-order mark)."""
    h = {c.strip().lstrip("\ufeff") for c in header}
    return all(n in h for n in names)


def pick(raw: pa.Table, mapping: Mapping[str, str], keep_rest: bool = True) -> pa.Table:
    """Columns renamed by ``mapping`` (source -> target); the rest kept under snake_case names."""
    cols: dict[str, Column] = {}
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


def blank_to_null(arr: Column) -> Column:
    """Empty or whitespace-only strings become nulls (other types pass through)."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return arr
    s = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, arr.type), arr)


def squash_spaces(arr: Column) -> Column:
    """Runs of whitespace (including no-break spaces and line breaks) become one space; ends trimmed."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, "[\\s\u00a0]+", " "))


def numeric(arr: Column, type_: pa.DataType | None = None, *, rows: Column | None = None,
            column: str | None = None, file: str | None = None) -> Column:
    """Text -> numbers: blank becomes null.

    With ``rows`` (the ``_row`` column), any other value that is not a plain number stops the import with
    its row, ``column`` and value; without it such values become null (for loose property columns).
    """
    type_ = type_ or pa.float64()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return pc.cast(arr, type_)
    s = pc.utf8_trim_whitespace(arr)
    ok = pc.match_substring_regex(s, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
    as_float = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    whole = pc.equal(as_float, pc.floor(as_float))
    if rows is not None:
        bad = pc.and_(pc.not_equal(pc.fill_null(s, ""), ""),
                      pc.invert(pc.fill_null(whole if pa.types.is_integer(type_) else ok, False)))
        if pc.any(bad).as_py():
            i = pc.index(bad, True).as_py()
            raise ImportValidationError("cannot read value", file=file, row=rows[i].as_py(), column=column,
                                        value=arr[i].as_py(),
                                        expected="a whole number" if pa.types.is_integer(type_) else "a number")
    if pa.types.is_integer(type_):
        return pc.cast(pc.if_else(whole, as_float, pa.scalar(None, pa.float64())), type_)
    return pc.cast(as_float, type_)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def merge_json(base: Column | None, extra: pa.StructArray | None = None,
               nested: Mapping[str, Column] | None = None) -> pa.Array:
    """One JSON object per row: ``base`` patched with the fields of ``extra``, then with each ``nested``
    column (JSON text) parsed and stored under its key. Null fields are dropped at every level.

    ``base`` is JSON object text or a struct (pyarrow's JSON reader unifies the objects of all lines into
    one struct, filling absent keys with nulls: dropping nulls undoes that). A text ``base`` that is not
    valid JSON is returned unchanged, so that the validator still reports it with its row. Runs in an
    in-memory DuckDB, column-wise.
    """
    n = len(extra) if extra is not None else len(base) if base is not None else 0
    cols: dict[str, Column] = {"b": pa.nulls(n, pa.string()) if base is None else base}
    is_struct = pa.types.is_struct(cols["b"].type)
    if not is_struct:
        cols["b"] = pc.cast(cols["b"], pa.string())
    merged = "COALESCE(to_json(b), '{}')" if is_struct else "COALESCE(NULLIF(trim(b), ''), '{}')"
    merged = f"json_merge_patch('{{}}', {merged})"  # drops the nulls of the base too
    if extra is not None:
        cols["e"] = extra
        merged = f"json_merge_patch({merged}, COALESCE(to_json(e), '{{}}'))"
    for i, (key, col) in enumerate((nested or {}).items()):
        cols[f"n{i}"] = pc.cast(col, pa.string())
        value = f"CASE WHEN json_valid(n{i}) THEN CAST(n{i} AS JSON) ELSE to_json(n{i}) END"
        merged = f"json_merge_patch({merged}, json_object({_lit(key)}, {value}))"
    if not is_struct:
        merged = f"CASE WHEN b IS NULL OR trim(b) = '' OR json_valid(b) THEN {merged} ELSE b END"
    t = pa.table(cols)
    con = duckdb.connect(":memory:")
    con.register("t", t)
    try:
        return con.sql(f"SELECT CAST({merged} AS VARCHAR) AS p FROM t").to_arrow_table().column("p").combine_chunks()
    finally:
        con.close()
