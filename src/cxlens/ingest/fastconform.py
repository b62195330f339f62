"""A pure-Arrow shortcut of :func:`cxlens.ingest.conform.conform` for the common shape of small API batches.

``conform`` runs one DuckDB query per batch; its fixed cost (~3.5 ms, most of it binding and planning the
query and the Arrow round trip) dominates the HTTP ingest path, where a group commit holds a few thousand
rows. This module does the same work with a handful of Arrow compute kernels (~0.2 ms) for the inputs it can
handle *exactly*, and declines everything else: :func:`fast_conform` returns either the very table
``conform`` would return, or ``None``, and then the caller runs ``conform``.

It never rejects anything. Every error (and its message: row, column, value, expectation) still comes from
``conform``, which stays the one source of the rules; a batch with any value this path is not sure about
(an empty required field, a timestamp outside a strict ISO-8601 subset, a string that JSON would escape, a
float, a nested value, a ``properties`` column) is declined as a whole. ``tests/ingest/test_fastconform.py``
checks with hypothesis that an accepted batch gives exactly ``conform``'s table and that nothing ``conform``
rejects is accepted.

Covered: the kinds without domain checks or defaults (:data:`DOMAIN_KINDS` in ``conform`` lists the others);
canonical columns given as strings (string columns also as integers), timestamps as ISO-8601 strings with a
``T`` or space, up to 6 fractional digits and ``Z``/``±HH[:MM]`` or no offset (read as UTC, like DuckDB's
cast in the UTC session), int/float/bool columns given in their own Arrow type; extra fields of type string,
integer, boolean or null, folded into ``properties`` like ``json_merge_patch('{}', json_object(...))`` does
(null values dropped, keys in column order, no whitespace).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import DOMAIN_KINDS, ROW, SOURCE_COLUMN
from cxlens.schema.tables import TABLES, Column

__all__ = ["fast_conform"]

_POS = "_pos"  # conform's own helper column; a field of that name goes the slow way

# the only timestamp spellings accepted here; DuckDB's cast accepts more (those batches are declined)
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
_ZONE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
# characters a JSON writer escapes: such strings are declined rather than escaped here
_ESCAPED = r'[\x00-\x1f"\\\x7f]'
_KEY_OK = re.compile(r'[^\x00-\x1f"\\\x7f]+')
_STRINGS = (pa.string(), pa.large_string())


class _Decline(Exception):
    """This batch is not one the fast path covers exactly; run conform."""


def fast_conform(kind: str, data: pa.Table) -> pa.Table | None:
    """``conform(kind, data)`` when this shortcut covers ``data`` exactly and every row is valid, else ``None``.

    ``data`` may carry a ``_row`` column (it only matters to error messages, which come from ``conform``).
    """
    if kind in DOMAIN_KINDS or kind not in TABLES or data.num_rows == 0:
        return None
    t = TABLES[kind]
    names = [n for n in data.column_names if n != ROW]
    if SOURCE_COLUMN in names or _POS in names or len(set(names)) != len(names):
        return None
    try:
        out: dict[str, pa.ChunkedArray | pa.Array] = {}
        for col in t.columns:
            if col.name not in names:
                if col.required:
                    raise _Decline
                out[col.name] = pa.nulls(data.num_rows, col.arrow_type)
                continue
            out[col.name] = _column(col, data.column(col.name))
        extras = [n for n in names if n not in t.column_names]
        if extras:
            out["properties"] = _properties(data, extras)
        return pa.table(out, schema=t.arrow_schema)
    except (_Decline, pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _column(col: Column, v: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    typ = v.type
    if pa.types.is_null(typ):
        if col.required:
            raise _Decline
        return pa.nulls(len(v), col.arrow_type)
    if col.type == "string":
        if pa.types.is_integer(typ):
            v = pc.cast(v, pa.string())  # same spelling as DuckDB's CAST(BIGINT AS VARCHAR)
        elif typ in _STRINGS:
            v = _blank_to_null(v)
        else:
            raise _Decline
    elif col.type == "timestamp":
        if typ not in _STRINGS:
            raise _Decline
        v = _timestamps(_blank_to_null(v))
    elif col.type in ("int", "float", "bool") and typ == col.arrow_type:
        pass  # already the stored type: conform's cast is the identity
    else:
        raise _Decline  # json (a properties column), or a type that needs a cast with its own rules
    if col.required and v.null_count:
        raise _Decline
    if col.choices and not pc.all(pc.is_in(v.drop_null(), pa.array(col.choices))).as_py():
        raise _Decline
    return v


def _blank_to_null(v: pa.ChunkedArray) -> pa.ChunkedArray:
    """conform's ``NULLIF(x, '')``."""
    return pc.if_else(pc.equal(v, ""), pa.scalar(None, v.type), v)


def _timestamps(v: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO-8601 strings to UTC ``timestamp[us]``; declines unless every value has the strict form."""
    present = v.drop_null()
    if len(present) and not pc.all(pc.match_substring_regex(present, _ISO)).as_py():
        raise _Decline
    # no offset means UTC (DuckDB casts in the UTC session zone); Arrow wants an explicit zone for that
    zoned = pc.if_else(pc.match_substring_regex(v, _ZONE), v, pc.binary_join_element_wise(v, "Z", ""))
    # a bad calendar value (Feb 30, hour 25, 7 fractional digits) raises ArrowInvalid: declined
    return pc.cast(pc.cast(zoned, pa.timestamp("us", tz="UTC")), pa.timestamp("us"))


def _properties(data: pa.Table, extras: list[str]) -> pa.ChunkedArray:
    """Extra fields as one minified JSON object per row, the text DuckDB's json_merge_patch writes."""
    pieces = []
    for name in extras:
        if not _KEY_OK.fullmatch(name):
            raise _Decline
        v = data.column(name)
        typ = v.type
        if pa.types.is_null(typ):
            continue  # merge_patch drops null members
        if typ in _STRINGS:
            if pc.any(pc.match_substring_regex(v, _ESCAPED)).as_py():
                raise _Decline
            pieces.append(pc.binary_join_element_wise(f',"{name}":"', v, '"', ""))
        elif pa.types.is_integer(typ) or pa.types.is_boolean(typ):
            pieces.append(pc.binary_join_element_wise(f',"{name}":', pc.cast(v, pa.string()), ""))
        else:
            raise _Decline  # floats (DuckDB writes 1.0, Arrow 1), nested values
    if not pieces:
        return pa.repeat("{}", data.num_rows)
    # each member starts with its comma; a null one (null value) becomes "", so a row whose extras are all
    # null is "{}". (Not null_handling="skip": in pyarrow 26 it drops rows whose inputs are all null.)
    members = pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")
    return pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(members, 1), "}", "")
