"""The query contract: registry, validation errors, and the ``count`` kind."""

from __future__ import annotations

import random

import pytest

import cxlens
from cxlens.errors import QueryError, UnknownQueryKindError
from cxlens.query.registry import QUERY_KINDS, QueryModel, register_query

EVENTS = [
    {"distinct_id": f"u{i % 7}", "event": ["$pageview", "signup", "purchase"][i % 3],
     "timestamp": f"2024-05-{1 + i % 20:02d}T12:00:00Z", "plan": ["free", "pro"][i % 2],
     "beta": i % 5 == 0}
    for i in range(60)
]


@pytest.fixture
def loaded(ws: cxlens.Workspace) -> cxlens.Workspace:
    ws.add("events", EVENTS)
    return ws


def test_unknown_kind_names_the_valid_kinds(ws: cxlens.Workspace) -> None:
    with pytest.raises(UnknownQueryKindError) as e:
        ws.query({"kind": "nope"})
    assert "valid kinds:" in str(e.value)
    for k in QUERY_KINDS:
        assert k in str(e.value)
    assert e.value.details["valid_kinds"] == sorted(QUERY_KINDS)
    with pytest.raises(UnknownQueryKindError, match="missing 'kind'"):
        ws.query({})


def test_bad_fields_name_the_valid_fields(ws: cxlens.Workspace) -> None:
    with pytest.raises(QueryError, match=r"unknown field 'group'.*Valid fields: kind, table, by"):
        ws.query({"kind": "count", "group": ["event"]})
    with pytest.raises(QueryError, match="unknown table 'clicks'"):
        ws.query({"kind": "count", "table": "clicks"})
    with pytest.raises(QueryError, match="by"):
        ws.query({"kind": "count", "by": "event"})
    with pytest.raises(QueryError, match="not a list"):
        ws.query([1])  # type: ignore[arg-type]


def test_count_by_column_matches_python(loaded: cxlens.Workspace) -> None:
    res = loaded.query({"kind": "count", "table": "events", "by": ["event"]})
    expected: dict[str, int] = {}
    for e in EVENTS:
        expected[e["event"]] = expected.get(e["event"], 0) + 1
    assert {r["event"]: r["count"] for r in res["rows"]} == expected
    assert res["total"] == len(EVENTS)


def test_count_by_property_and_filters(loaded: cxlens.Workspace) -> None:
    res = loaded.query({"kind": "count", "by": ["plan"], "filters": [
        {"key": "event", "operator": "exact", "value": ["signup", "purchase"]},
        {"key": "beta", "value": True},
    ]})
    want: dict[str, int] = {}
    for e in EVENTS:
        if e["event"] in ("signup", "purchase") and e["beta"]:
            want[e["plan"]] = want.get(e["plan"], 0) + 1
    assert {r["plan"]: r["count"] for r in res["rows"]} == want
    n = loaded.query({"kind": "count", "filters": [{"key": "event", "operator": "icontains",
                                                     "value": "PAGE"}]})["total"]
    assert n == sum(e["event"] == "$pageview" for e in EVENTS)
    n = loaded.query({"kind": "count", "filters": [{"key": "plan", "operator": "is_not",
                                                     "value": "free"}]})["total"]
    assert n == sum(e["plan"] != "free" for e in EVENTS)
    unset = {"kind": "count", "filters": [{"key": "nothing", "operator": "is_set"}]}
    assert loaded.query(unset)["total"] == 0


def test_count_date_range_is_inclusive(loaded: cxlens.Workspace) -> None:
    res = loaded.query({"kind": "count", "date_range": {"from": "2024-05-02T12:00:00Z",
                                                         "to": "2024-05-03T12:00:00Z"}})
    assert res["total"] == sum(e["timestamp"][:10] in ("2024-05-02", "2024-05-03") for e in EVENTS)


def test_count_does_not_depend_on_row_order(ws: cxlens.Workspace) -> None:
    shuffled = EVENTS[:]
    random.Random(7).shuffle(shuffled)
    ws.add("events", shuffled)
    other = cxlens.Workspace()
    other.add("events", EVENTS)
    q = {"kind": "count", "by": ["event", "plan"]}
    assert ws.query(q) == other.query(q)


def test_registering_a_new_kind() -> None:
    class PingQuery(QueryModel):
        kind: str = "ping_test"
        echo: str = "pong"

    @register_query("ping_test", PingQuery)
    def run(ws: cxlens.Workspace, q: PingQuery) -> dict:
        return {"echo": q.echo, "events": ws.count("events")}

    try:
        assert cxlens.Workspace().query({"kind": "ping_test", "echo": "hi"}) == {"echo": "hi", "events": 0}
        with pytest.raises(ValueError, match="twice"):
            register_query("ping_test", PingQuery)(run)
    finally:
        del QUERY_KINDS["ping_test"]


@pytest.mark.parametrize("value", [None, "abc", True, [1, 2], float("nan")])
def test_numeric_filter_needs_a_number(ws: cxlens.Workspace, value: object) -> None:
    with pytest.raises(QueryError, match="filter on 'a'"):
        ws.query({"kind": "count", "filters": [{"key": "a", "operator": "gt", "value": value}]})


def test_property_names_with_path_characters_are_keys(ws: cxlens.Workspace) -> None:
    """Regression (found by schemathesis): a property such as "[G" was JSON-path syntax and a DuckDB error."""
    ws.add("events", [{"distinct_id": "u", "event": "e", "timestamp": "2024-01-01T00:00:00Z",
                       "properties": {"[G": "x", "$browser": "ff", "a": {"b": "nested"}, 'q"t': "quo"}}])
    for key, value in (("[G", "x"), ("$browser", "ff"), ("a.b", "nested"), ("properties.a.b", "nested"),
                       ('q"t', "quo"), ("missing", None)):
        assert ws.query({"kind": "count", "by": [key]})["rows"] == [{key: value, "count": 1}]
    with pytest.raises(QueryError, match="invalid property name"):
        ws.query({"kind": "count", "by": ["a..b"]})
