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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import DOMAIN_KINDS, ROW, SOURCE_COLUMN
from cxlens.schema.tables import TABLES, Column

__all__ = ["fast_conform"]

_POS = "_pos"  # conform's own helper column; a field of that name goes the slow way

_ZONE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
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
    # a group commit concatenates one table per request: each kernel below would loop over those chunks
    data = data.combine_chunks()
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
    """ISO-8601 strings to UTC ``timestamp[us]``; declines what Arrow's parser would read differently.

    Arrow's ISO-8601 parser is positional: with a ``:`` after the hour (index 13) what it accepts is
    ``YYYY-MM-DD[T ]hh:mm[:ss[.f]][zone]``, which DuckDB reads the same way; ``YYYY-MM-DDThh[zone]`` it also
    accepts and DuckDB does not, hence the check. Calendar errors (Feb 30, hour 25, more than 6 fractional
    digits) raise ArrowInvalid: declined.
    """
    if not pc.all(pc.equal(pc.utf8_slice_codeunits(v, 13, 14), ":")).as_py():
        raise _Decline
    try:
        utc = pc.cast(v, pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        # some value has no offset, which means UTC (DuckDB casts in the UTC session zone); Arrow wants an
        # explicit zone for that
        zoned = pc.if_else(pc.match_substring_regex(v, _ZONE), v, pc.binary_join_element_wise(v, "Z", ""))
        utc = pc.cast(zoned, pa.timestamp("us", tz="UTC"))
    return pc.cast(utc, pa.timestamp("us"))


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
            if _needs_escape(v):
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


def _needs_escape(v: pa.ChunkedArray) -> bool:
    """Whether any value holds a byte a JSON writer escapes (control characters, DEL, ``"``, ``\\``).

    Read straight from the UTF-8 data buffer: a regex kernel costs ~60 ns per value, this a few ns per
    byte (bytes of multi-byte characters are all >= 0x80, so they never match). Null slots may hold bytes
    too; at worst that declines a batch the fast path could have taken.
    """
    for chunk in v.chunks:
        if len(chunk) == 0:
            continue
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(chunk.buffers()[1], np.int64 if wide else np.int32)
        lo, hi = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
        data = np.frombuffer(chunk.buffers()[2], np.uint8)[lo:hi] if hi > lo else np.zeros(0, np.uint8)
        if ((data < 0x20) | (data == 0x22) | (data == 0x5C) | (data == 0x7F)).any():
            return True
    return False
