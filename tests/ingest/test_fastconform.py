"""The pure-Arrow fast path gives exactly conform's table or declines; it never accepts what conform rejects.

Batches are built like the API builds them (records -> orjson -> :func:`cxlens.api.body.parse_records`), from
values chosen to hit the edges of both paths: timestamps from an ISO-8601 grammar with out-of-range fields,
7 fractional digits, every offset spelling and plain junk; strings with quotes, backslashes, control
characters and non-ASCII text; numbers where text is expected; nulls and empty strings; nested values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlens.api.body import parse_records
from cxlens.errors import ImportValidationError
from cxlens.ingest.conform import DOMAIN_KINDS, ROW, _apply_defaults, _extra_checks, conform
from cxlens.ingest.fastconform import fast_conform
from cxlens.ingest.importer import prepare
from cxlens.schema.tables import TABLES

FAST_KINDS = sorted(k for k in TABLES if k not in DOMAIN_KINDS and k not in ("persons", "person_distinct_ids"))

_two = st.integers(0, 99).map(lambda i: f"{i:02d}")
_zone = st.sampled_from(["Z", "z", "+02:00", "-05:30", "+0200", "+02", "-14:00", "+23:59", "+99:00", " UTC", ""])
_frac = st.sampled_from(["", ".1", ".123", ".123456", ".1234567", "."])
_iso = st.builds(
    lambda y, mo, d, sep, h, mi, s, f, z: f"{y:04d}-{mo}-{d}{sep}{h}{mi}{s}{f}{z}",
    st.sampled_from([1, 999, 1970, 2000, 2023, 2024, 9999]), _two, _two, st.sampled_from(["T", " ", "t", "_"]),
    _two, _two.map(lambda m: ":" + m) | st.just(""), _two.map(lambda s: ":" + s) | st.just(""), _frac, _zone)
_good_iso = st.builds(
    lambda y, mo, d, sep, h, rest, z: f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}{rest}{z}",
    st.integers(1900, 2100), st.integers(1, 12), st.integers(1, 28), st.sampled_from(["T", " "]),
    st.integers(0, 23), st.builds(lambda m, s, f: f":{m:02d}{s}{f}", st.integers(0, 59),
                                  st.integers(0, 59).map(lambda s: f":{s:02d}") | st.just(""),
                                  st.sampled_from(["", ".5", ".123456"])) | st.just(""),  # "" : hour only
    st.sampled_from(["Z", "+02:00", "-05:30", "+0200", "+02", "-14:00", ""]))
_timestamp = st.one_of(_iso, _iso, _iso, st.sampled_from(["", " ", "2024-05-01", "2024-05-01T10:00", "1714557600",
                                                          "yesterday", "2024-05-01T10:00:00Z "]),
                       st.integers(-10**12, 10**15), st.none(), st.text(max_size=8))
_text = st.one_of(st.sampled_from(["a", "user-1", "", "é", "日本", "x y", "/pricing", "$pageview"]),
                  st.text(max_size=6), st.none())
_scalar = st.one_of(_text, st.integers(-10**6, 10**6), st.booleans(), st.floats(allow_nan=False, width=32))
_value = st.one_of(_scalar, _scalar, _scalar, st.lists(st.integers(0, 3), max_size=2),
                   st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2))
_extra_names = st.sampled_from(["path", "plan", "browser", "é", 'q"t', "b\\s", "n\x01", "_column", "_pos"])


def _value_for(typ: str, clean: bool, required: bool) -> st.SearchStrategy[Any]:
    if clean:  # values of the field's own type, as a well-behaved SDK sends them: mostly accepted
        words = ["a", "user-1", "é", "日本", "x y", "/p", "$pageview"] + ([] if required else ["", " "])
        return {"string": st.sampled_from(words) | (st.none() if not required else st.nothing()),
                "timestamp": _good_iso, "int": st.integers(-10**6, 10**6), "float": st.floats(-1e6, 1e6),
                "bool": st.booleans(), "json": st.dictionaries(st.sampled_from(["a"]), _scalar, max_size=1)}[typ]
    return {"string": st.one_of(_text, _text, st.integers(-99, 99)), "timestamp": _timestamp,
            "int": st.one_of(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), _text, st.floats(-9, 9)),
            "float": st.one_of(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.integers(-9, 9), _text),
            "bool": st.one_of(st.booleans(), st.booleans(), st.sampled_from(["yes", "0", "maybe"]), st.none()),
            "json": st.one_of(st.dictionaries(st.sampled_from(["a", "path"]), _scalar, max_size=2), _text)}[typ]


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(["events", "events", "events", *FAST_KINDS]))
    t = TABLES[kind]
    # each field keeps one generator for the batch, so a column is mostly of one type, as real batches are
    clean = draw(st.floats(0, 1)) < 0.6
    fields = {c.name: _value_for(c.type, clean and draw(st.floats(0, 1)) < 0.95, c.required) for c in t.columns
              if draw(st.floats(0, 1)) < (0.95 if c.required else 0.5) and not (clean and c.type == "json")}
    tricky = st.sampled_from(['say "hi"', "a\\b", "tab\t", "del\x7f", "nl\n", "ok"])
    extra = st.one_of(_text, tricky, st.integers(), st.booleans(), st.none()) if clean else _value
    fields.update({n: extra for n in draw(st.lists(_extra_names, max_size=3, unique=True))})
    n = draw(st.integers(1, 6))
    # usually every record has the same keys (the fast Arrow conversion); sometimes one lacks a field
    records = [{k: draw(s) for k, s in fields.items()} for _ in range(n)]
    if fields and draw(st.booleans()):
        records[-1].pop(draw(st.sampled_from(sorted(fields))))
    return kind, records


def _raw(records: list[dict[str, Any]]) -> pa.Table | None:
    try:
        data = parse_records(orjson.dumps(records))
    except Exception:  # the API answers 4xx before validation; nothing to compare
        return None
    return data.append_column(ROW, pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64)))


@settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_fast_path_is_conform_or_declines(batch: tuple[str, list[dict[str, Any]]]) -> None:
    kind, records = batch
    data = _raw(records)
    if data is None:
        return
    fast = fast_conform(kind, data)
    try:
        slow = conform(kind, data)
    except ImportValidationError:
        assert fast is None, "the fast path accepted a batch conform rejects"
        return
    if fast is not None:
        assert fast.schema == slow.schema
        assert fast.equals(slow), (fast.to_pylist(), slow.to_pylist())


@pytest.mark.parametrize("records", [
    [{"distinct_id": "u1", "event": "$pageview", "timestamp": "2024-05-01T10:00:00Z", "path": "/a"}],
    [{"distinct_id": "u1", "event": "e", "timestamp": "2024-05-01 10:00:00.123456+02:00", "n": 3, "ok": True,
      "gone": None, "event_id": ""}, {"distinct_id": 7, "event": "e", "timestamp": "2024-02-29T23:59:59-0130",
                                      "n": None, "ok": False, "gone": None, "event_id": "x"}],
    [{"distinct_id": "ü", "event": "日本", "timestamp": "2024-05-01T10:00:00", "city": "Zürich"}],
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10:00:00.5+05"}],
])
def test_the_common_shapes_take_the_fast_path(records: list[dict[str, Any]]) -> None:
    data = _raw(records)
    fast = fast_conform("events", data)
    assert fast is not None
    assert fast.equals(conform("events", data))
    assert prepare("events", data, fast=True)["events"].equals(fast)


@pytest.mark.parametrize("records", [
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10:00:00Z", "price": 1.0}],  # float extra
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10:00:00Z", "q": 'say "hi"'}],  # escaping
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10:00:00Z", "properties": {"a": 1}}],
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01"}],  # a spelling left to DuckDB's cast
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10Z"}],  # Arrow reads it, DuckDB does not
    [{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T10:00:00Z", "t": "a\tb"}],
    [{"distinct_id": "", "event": "e", "timestamp": "2024-05-01T10:00:00Z"}],  # invalid: conform names it
    [{"distinct_id": "u", "event": "e", "timestamp": "2023-02-29T10:00:00Z"}],
])
def test_everything_else_is_declined(records: list[dict[str, Any]]) -> None:
    assert fast_conform("events", _raw(records)) is None


def test_kinds_outside_domain_kinds_have_no_domain_rules() -> None:
    """The fast path covers types, required values and choices; conform adds checks and defaults only for
    DOMAIN_KINDS, so those are the kinds it must leave alone."""
    for kind in FAST_KINDS:
        t = TABLES[kind]
        out = {c.name: f'"{c.name}"' for c in t.columns}
        before = dict(out)
        assert _extra_checks(t, out, {c.name: pa.string() for c in t.columns}) == []
        _apply_defaults(t.name, out, {})
        assert out == before
    for kind in DOMAIN_KINDS:
        assert fast_conform(kind, pa.table({"x": ["1"]})) is None
