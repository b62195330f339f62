"""Validate and coerce a raw Arrow table into a canonical table, column-wise, in one pass.

The work runs in an in-memory DuckDB (vectorised casts, no Python loop over rows) whatever the target store
is, so every backend gets the same validation. One SELECT computes every target column plus ``_err``, the
number of the first check a row fails (0 = fine). If any row fails, the first failing row becomes an
:class:`~cxlens.errors.ImportValidationError` naming file, row, column, value and what was expected.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError
from cxlens.schema.tables import TABLES, Column, Table

__all__ = ["DOMAIN_KINDS", "ROW", "SOURCE_COLUMN", "conform"]

ROW = "_row"
"""Name of the optional source-row column (1-based data row) carried through validation."""

SOURCE_COLUMN = "_column"
"""Optional column naming the source column a row's value came from (presets that reshape wide files
set it, so that errors name the file's column rather than the canonical field)."""

_POS = "_pos"

DOMAIN_KINDS = frozenset({"responses", "reviews", "tasks"})
"""Kinds with checks beyond column types and choices (scales, ranges) or defaults; :mod:`fastconform` leaves
them to this module."""

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")

_DEFAULT_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}

_local = threading.local()


def _engine() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        _local.con = con
    return con


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class _Check:
    column: str
    condition: str  # SQL, true when the row is bad
    reason: str
    expected: str
    source: str  # SQL expression giving the offending value


def _blank_to_null(src: str, typ: pa.DataType) -> str:
    # no trim here: it costs more than the casts, which accept surrounding spaces anyway
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return f"NULLIF({src}, '')"
    return src


def _cast(col: Column, src: str, typ: pa.DataType, formats: Sequence[str]) -> tuple[str, str | None]:
    """SQL for the target value, and the expectation text when a non-null source can fail the cast."""
    if col.type == "string":
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            return f"NULLIF({src}, '')", None
        if pa.types.is_floating(typ):
            # 1.0 -> '1' so that ids read as floats keep their natural spelling
            return f"CASE WHEN {src} = trunc({src}) THEN CAST(CAST({src} AS BIGINT) AS VARCHAR) " \
                   f"ELSE CAST({src} AS VARCHAR) END", None
        if pa.types.is_struct(typ) or pa.types.is_list(typ) or pa.types.is_map(typ):
            return f"CAST(to_json({src}) AS VARCHAR)", None
        return f"CAST({src} AS VARCHAR)", None
    s = _blank_to_null(src, typ)
    if col.type == "int":
        if pa.types.is_integer(typ):
            return f"CAST({src} AS BIGINT)", None
        return f"CASE WHEN TRY_CAST({s} AS DOUBLE) = trunc(TRY_CAST({s} AS DOUBLE)) " \
               f"THEN TRY_CAST(TRY_CAST({s} AS DOUBLE) AS BIGINT) END", "a whole number"
    if col.type == "float":
        if pa.types.is_integer(typ) or pa.types.is_floating(typ):
            return f"CAST({src} AS DOUBLE)", None
        return f"TRY_CAST({s} AS DOUBLE)", "a number"
    if col.type == "bool":
        if pa.types.is_boolean(typ):
            return src, None
        low = f"lower(trim(CAST({src} AS VARCHAR)))"
        t = ", ".join(_lit(v) for v in _TRUE)
        f = ", ".join(_lit(v) for v in _FALSE)
        return f"CASE WHEN {low} IN ({t}) THEN true WHEN {low} IN ({f}) THEN false END", \
            "true/false (also yes/no, 1/0)"
    if col.type == "timestamp":
        if pa.types.is_timestamp(typ):
            if typ.tz is not None:
                return f"CAST(timezone('UTC', {src}) AS TIMESTAMP)", None
            return f"CAST({src} AS TIMESTAMP)", None
        if pa.types.is_date(typ):
            return f"CAST({src} AS TIMESTAMP)", None
        if pa.types.is_integer(typ) or pa.types.is_floating(typ):
            return _epoch(f"CAST({src} AS DOUBLE)"), None
        parts = [f"try_strptime({s}, {_lit(f)})" for f in formats]
        parts.append(f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP)")  # the session zone is UTC
        parts.append(f"CASE WHEN regexp_full_match({s}, '-?[0-9]{{9,16}}([.][0-9]+)?') "
                     f"THEN {_epoch(f'CAST({s} AS DOUBLE)')} END")
        expect = "a date/time in ISO-8601 (2024-05-31T14:03:00Z)"
        if formats:
            expect = "a date/time like " + " or ".join(repr(f) for f in formats) + " or ISO-8601"
        return f"COALESCE({', '.join(parts)})", expect
    if col.type == "json":
        if pa.types.is_struct(typ) or pa.types.is_map(typ):
            return f"CAST(to_json({src}) AS VARCHAR)", None
        return f"CASE WHEN json_valid({s}) THEN {s} END", "a JSON object"
    raise AssertionError(col.type)


def _epoch(v: str) -> str:
    """Epoch numbers: the magnitude tells seconds, milliseconds or microseconds."""
    micros = f"CASE WHEN abs({v}) >= 1e14 THEN {v} WHEN abs({v}) >= 1e11 THEN {v} * 1e3 ELSE {v} * 1e6 END"
    return f"make_timestamp(CAST({micros} AS BIGINT))"


def _extra_checks(t: Table, out: dict[str, str], present: dict[str, pa.DataType]) -> list[_Check]:
    """Domain checks beyond types: scores inside their scale, known enums."""
    checks: list[_Check] = []
    if t.name not in DOMAIN_KINDS:
        return checks

    def raw(name: str) -> str:
        return _q(name) if name in present else "NULL"

    if t.name == "responses":
        qt = out["question_type"]
        lo = f"COALESCE({out['scale_min']}, " + _scale_case(qt, 0) + ")"
        hi = f"COALESCE({out['scale_max']}, " + _scale_case(qt, 1) + ")"
        sc = out["score"]
        checks.append(_Check("scale_max", f"{qt} = 'ces' AND {hi} NOT IN (5, 7)",
                             "CES scale must be 1-5 or 1-7", "scale_max 5 or 7", raw("scale_max")))
        checks.append(_Check("scale_max", f"{qt} = 'nps' AND ({lo} <> 0 OR {hi} <> 10)",
                             "NPS is always 0-10", "scale 0-10", raw("scale_max")))
        checks.append(_Check("score", f"{sc} IS NOT NULL AND {qt} IN ('nps','ces','csat','rating') "
                             f"AND ({sc} < {lo} OR {sc} > {hi})", "score outside the question's scale",
                             "a score within the scale (NPS 0-10, CSAT 1-5, CES 1-5 or 1-7)", raw("score")))
        checks.append(_Check("score", f"{sc} IS NOT NULL AND {qt} IN ('nps','ces','csat') "
                             f"AND {sc} <> trunc({sc})", "score is not a whole number",
                             "a whole number", raw("score")))
    if t.name == "reviews":
        r = out["rating"]
        checks.append(_Check("rating", f"{r} < 1 OR {r} > 5", "rating outside 1-5", "1 to 5 stars",
                             raw("rating")))
    if t.name == "tasks":
        for c in ("time_s", "errors", "clicks"):
            checks.append(_Check(c, f"{out[c]} < 0", f"{c} is negative", "zero or more", raw(c)))
    return checks


def _scale_case(qt: str, i: int) -> str:
    whens = " ".join(f"WHEN {qt} = {_lit(k)} THEN {v[i]}" for k, v in _DEFAULT_SCALES.items())
    return f"CASE {whens} END"


def conform(
    kind: str,
    data: pa.Table,
    *,
    file: str | None = None,
    formats: Sequence[str] = (),
    row_offset: int = 0,
) -> pa.Table:
    """Return ``data`` as the canonical table of ``kind``, or raise on the first bad row.

    Parameters
    ----------
    kind:
        Canonical table name.
    data:
        Columns named as the canonical ones; other columns are folded into ``properties``. A ``_row``
        column (1-based source row) is used in error messages; without it rows count from
        ``row_offset + 1``.
    file:
        Source name for error messages.
    formats:
        strptime formats tried (in order) for timestamp strings before ISO-8601.
    """
    t = TABLES[kind]
    if ROW not in data.column_names:
        rows = np.arange(row_offset + 1, row_offset + 1 + data.num_rows, dtype=np.int64)
        data = data.append_column(ROW, pa.array(rows))
    data = data.append_column(_POS, pa.array(np.arange(data.num_rows, dtype=np.int64)))
    present = {n: data.schema.field(n).type for n in data.column_names if n != _POS}
    for col in t.columns:
        if col.required and col.name not in present and not _has_default(t.name, col.name):
            raise ImportValidationError(
                "required column is missing", file=file, column=col.name,
                expected=f"a column {col.name!r} ({col.description or col.type}); "
                f"columns found: {', '.join(c for c in data.column_names if c not in (ROW, _POS)) or '(none)'}",
            )
    # stage 1 casts every column once; stage 2 applies defaults and the checks on the cast values
    inner: dict[str, str] = {}
    out: dict[str, str] = {}
    checks: list[_Check] = []
    for col in t.columns:
        if col.name not in present:
            out[col.name] = "NULL"
            continue
        src = _q(col.name)
        expr, expect = _cast(col, src, present[col.name], formats)
        inner[f"c_{col.name}"] = expr
        out[col.name] = _q(f"c_{col.name}")
        if expect:
            inner[f"s_{col.name}"] = _blank_to_null(src, present[col.name])
            checks.append(_Check(col.name, f"{_q('s_' + col.name)} IS NOT NULL AND {out[col.name]} IS NULL "
                                 f"AND trim(CAST({_q('s_' + col.name)} AS VARCHAR)) <> ''",
                                 "cannot read value", expect, src))
        if col.choices:
            allowed = ", ".join(_lit(c) for c in col.choices)
            checks.append(_Check(col.name, f"{out[col.name]} NOT IN ({allowed})", "unknown value",
                                 "one of: " + ", ".join(col.choices), src))
    extras = [c for c in data.column_names if c not in t.column_names and c not in (ROW, SOURCE_COLUMN, _POS)]
    if extras:
        base = inner["c_properties"] if "properties" in present else "'{}'"
        packed = "json_object(" + ", ".join(f"{_lit(c)}, {_q(c)}" for c in extras) + ")"
        inner["c_properties"] = f"CAST(json_merge_patch(COALESCE({base}, '{{}}'), {packed}) AS VARCHAR)"
        out["properties"] = _q("c_properties")
    _apply_defaults(t.name, out, present)
    for col in t.columns:
        if col.required:
            checks.append(_Check(col.name, f"{out[col.name]} IS NULL", "required value is empty",
                                 (col.description or col.type).rstrip("."),
                                 _q(col.name) if col.name in present else "NULL"))
    checks.extend(_extra_checks(t, out, present))

    whens = " ".join(f"WHEN {c.condition} THEN {i + 1}" for i, c in enumerate(checks))
    err = f"CASE {whens} ELSE 0 END" if checks else "0"
    stage1 = ", ".join(f"{e} AS {_q(n)}" for n, e in inner.items())
    select = ", ".join(f"{e} AS {_q(n)}" for n, e in out.items())
    con = _engine()
    view = "_cxlens_conform"
    con.register(view, data)
    try:
        sql = f"WITH s1 AS (SELECT {stage1}{', ' if stage1 else ''}{ROW}, {_POS} FROM {view}) " \
              f"SELECT {select}, {err} AS _err, {ROW}, {_POS} FROM s1"
        result = con.sql(sql).to_arrow_table()
        bad = pc.not_equal(result.column("_err"), 0)
        if pc.any(bad).as_py():
            first = result.filter(bad).sort_by([(ROW, "ascending"), (_POS, "ascending")]).slice(0, 1)
            check = checks[first.column("_err")[0].as_py() - 1]
            row = first.column(ROW)[0].as_py()
            found = con.sql(
                f"SELECT CAST({check.source} AS VARCHAR), "
                f"{_q(SOURCE_COLUMN) if SOURCE_COLUMN in present else 'NULL'} FROM {view} WHERE {_POS} = ?",
                params=[first.column(_POS)[0].as_py()]
            ).fetchall()
            value = found[0] if found else None
            column = check.column if not (found and found[0][1]) else f"{found[0][1]}"
            raise ImportValidationError(
                check.reason, file=file, row=row, column=column,
                value=None if value is None else value[0], expected=check.expected,
            )
    finally:
        con.unregister(view)
    return result.drop_columns(["_err", ROW, _POS]).cast(t.arrow_schema)


def _has_default(table: str, column: str) -> bool:
    return table == "responses" and column == "status"


def _apply_defaults(table: str, out: dict[str, str], present: dict[str, pa.DataType]) -> None:
    if table != "responses":
        return
    qt = out["question_type"]
    default = (f"CASE WHEN {out['score']} IS NULL AND {out['text']} IS NULL "
               f"AND {out['choice']} IS NULL THEN 'skipped' ELSE 'answered' END")
    out["status"] = default if "status" not in present else f"COALESCE({out['status']}, {default})"
    for i, name in enumerate(("scale_min", "scale_max")):
        out[name] = f"COALESCE({out[name]}, {_scale_case(qt, i)})"
