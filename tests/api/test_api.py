"""HTTP API: ingest then query round-trips, scopes, the one error shape, surveys, cache, CORS."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from tests.api.conftest import Api

EVENTS = [{"distinct_id": f"u{i % 7}", "event": ["view", "cart", "buy"][i % 3],
           "timestamp": f"2024-05-{1 + i % 28:02d}T10:00:00Z", "event_id": f"e{i}", "plan": "pro" if i % 2 else "free"}
          for i in range(300)]


def assert_error_shape(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def count_by_event(api: Api) -> dict[str, int]:
    r = api.client.post("/api/query", json={"kind": "count", "table": "events", "by": ["event"]}, headers=api.read)
    assert r.status_code == 200, r.text
    return {row["event"]: row["count"] for row in r.json()["rows"]}


def test_ingest_json_then_query_round_trip(api: Api) -> None:
    r = api.client.post("/api/events", json=EVENTS, headers=api.ingest)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 300
    assert count_by_event(api) == {"view": 100, "cart": 100, "buy": 100}
    # the extra key went into properties and is queryable, exactly as with ws.query
    r = api.client.post("/api/query", headers=api.read,
                        json={"kind": "count", "table": "events", "by": ["plan"]})
    assert {x["plan"]: x["count"] for x in r.json()["rows"]} == {"pro": 150, "free": 150}
    assert r.json() == api.ws.query({"kind": "count", "table": "events", "by": ["plan"]})


def test_ingest_ndjson_and_gzip(api: Api) -> None:
    nd = b"\n".join(orjson.dumps(e) for e in EVENTS[:10]) + b"\n"
    r = api.client.post("/api/events", content=nd, headers={**api.ingest, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["rows"] == 10
    r = api.client.post("/api/events", content=gzip.compress(orjson.dumps(EVENTS[10:30])),
                        headers={**api.ingest, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["rows"] == 20
    gz_nd = gzip.compress(b"\n".join(orjson.dumps(e) for e in EVENTS[30:35]))
    r = api.client.post("/api/events", content=gz_nd, headers={**api.ingest, "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["rows"] == 5
    assert sum(count_by_event(api).values()) == 35


def test_every_kind_has_an_ingest_endpoint(api: Api) -> None:
    rows = {
        "responses": [{"survey": "s", "question": "nps", "question_type": "nps", "score": 9,
                       "distinct_id": "u1", "timestamp": "2024-01-01T00:00:00Z"}],
        "tickets": [{"ticket_id": "t1", "opened_at": "2024-01-01", "text": "broken"}],
        "reviews": [{"review_id": "r1", "rating": 4, "text": "ok", "timestamp": "2024-01-01"}],
        "transactions": [{"distinct_id": "u1", "timestamp": "2024-01-01", "amount": 9.5}],
        "sessions": [{"session_id": "s1", "distinct_id": "u1", "started_at": "2024-01-01"}],
        "tasks": [{"study": "st", "participant": "p1", "task": "t", "completed": True, "time_s": 30}],
        "persons": [{"id": "p1", "distinct_ids": ["u1"], "account_id": "a1"}],
        "accounts": [{"account_id": "a1", "name": "Acme"}],
    }
    for kind, data in rows.items():
        r = api.client.post(f"/api/{kind}", json=data, headers=api.ingest)
        assert r.status_code == 200, (kind, r.text)
        assert api.ws.count(kind) == 1, kind


def test_bad_rows_name_field_and_reason_and_store_nothing(api: Api) -> None:
    bad = [*EVENTS[:5], {"distinct_id": "u1", "event": "x", "timestamp": "2024-13-45"}]
    err = assert_error_shape(api.client.post("/api/events", json=bad, headers=api.ingest), 422)
    assert err["details"]["row"] == 6 and err["details"]["column"] == "timestamp"
    assert "2024-13-45" in err["message"]
    err = assert_error_shape(api.client.post("/api/responses", headers=api.ingest, json=[
        {"survey": "s", "question": "nps", "question_type": "nps", "score": 11}]), 422)
    assert err["details"]["column"] == "score"
    assert api.ws.count("events") == 0 and api.ws.count("responses") == 0


def test_a_bad_batch_in_a_group_commit_fails_only_its_own_request(api: Api) -> None:
    good = [EVENTS[i * 10:(i + 1) * 10] for i in range(12)]
    bad = [*EVENTS[:3], {"distinct_id": "u9", "event": "x", "timestamp": "not a time"}]

    def send(batch):
        return api.client.post("/api/events", json=batch, headers=api.ingest)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, [*good[:6], bad, *good[6:]]))
    codes = [r.status_code for r in results]
    assert codes.count(200) == 12 and codes[6] == 422
    assert results[6].json()["error"]["details"]["row"] == 4  # counted within its own batch
    assert api.ws.count("events") == 120


def test_scopes(api: Api) -> None:
    q = {"kind": "count", "table": "events"}
    err = assert_error_shape(api.client.post("/api/events", json=EVENTS[:1], headers=api.read), 403)
    assert err["code"] == "forbidden" and "ingest" in err["message"]
    err = assert_error_shape(api.client.post("/api/query", json=q, headers=api.ingest), 403)
    assert "read" in err["details"]["required_scope"]
    assert api.client.post("/api/query", json=q, headers=api.admin).status_code == 200
    assert api.client.post("/api/events", json=EVENTS[:1], headers=api.admin).status_code == 200
    assert_error_shape(api.client.post("/api/query", json=q), 401)
    assert_error_shape(api.client.post("/api/query", json=q, headers={"X-Api-Key": "cxk_nope_nope"}), 401)
    assert_error_shape(api.client.get("/api/keys", headers=api.read), 403)
    assert api.client.get("/api/keys", headers=api.admin).status_code == 200


def test_keys_are_stored_hashed_and_revocable(api: Api) -> None:
    r = api.client.post("/api/keys", json={"scope": "read", "name": "n"}, headers=api.admin)
    assert r.status_code == 201
    token, key_id = r.json()["token"], r.json()["key_id"]
    stored = api.ws.sql("SELECT * FROM _cxlens_api_keys").to_pylist()
    assert all(token not in str(row.values()) for row in stored)  # only the hash is kept
    h = {"X-Api-Key": token}
    assert api.client.post("/api/query", json={"kind": "count"}, headers=h).status_code == 200
    assert api.client.delete(f"/api/keys/{key_id}", headers=api.admin).status_code == 200
    assert_error_shape(api.client.post("/api/query", json={"kind": "count"}, headers=h), 401)
    assert_error_shape(api.client.post("/api/keys", json={"scope": "root"}, headers=api.admin), 400)


def test_error_paths_all_use_the_one_shape(api: Api) -> None:
    c, h = api.client, api.ingest
    e = assert_error_shape(c.post("/api/query", content=b"{not json", headers=api.read), 400)
    assert e["details"]["field"] == "body"
    e = assert_error_shape(c.post("/api/query", json={"kind": "nope"}, headers=api.read), 400)
    assert "count" in e["details"]["valid_kinds"]
    e = assert_error_shape(c.post("/api/query", json={"kind": "count", "tabel": "x"}, headers=api.read), 400)
    assert "tabel" in e["message"]
    assert_error_shape(c.post("/api/query", json=[1, 2], headers=api.read), 400)
    e = assert_error_shape(c.post("/api/nothing", json=EVENTS[:1], headers=h), 404)
    assert "events" in e["details"]["valid_kinds"]
    assert_error_shape(c.get("/no/such/page"), 404)
    assert_error_shape(c.get("/api/events"), 405)
    e = assert_error_shape(c.get("/api/nothing"), 404)  # no resource (only POST /api/{kind} matched the path)
    assert e["message"] == "no route GET /api/nothing"
    assert_error_shape(c.put("/api/query", json={}), 405)
    assert_error_shape(c.post("/api/events", content=b"", headers=h), 400)
    assert_error_shape(c.post("/api/events", content=b"[]", headers=h), 400)
    assert_error_shape(c.post("/api/events", content=b"[1, 2]", headers=h), 400)
    assert_error_shape(c.post("/api/events", content=b'"text"', headers=h), 400)
    assert_error_shape(c.post("/api/events", content=b"x" * 10, headers={**h, "Content-Encoding": "br"}), 415)
    assert_error_shape(c.post("/api/events", content=b"not gzip", headers={**h, "Content-Encoding": "gzip"}), 400)
    e = assert_error_shape(c.post("/api/surveys", json={"id": "Bad Id!", "question": ""}, headers=api.admin), 422)
    fields = {x["field"] for x in e["details"]["errors"]}
    assert {"id", "question"} <= fields
    assert_error_shape(c.post("/api/surveys", json={"id": "s1", "question": "q", "question_type": "ces",
                                                    "scale_min": 0, "scale_max": 10}, headers=api.admin), 422)
    assert_error_shape(c.get("/api/surveys/none", headers=api.read), 404)
    assert_error_shape(c.get("/overview.json?from=yesterday", headers=api.read), 400)
    assert_error_shape(c.get("/overview.json?segment=novalue", headers=api.read), 400)
    assert_error_shape(c.get("/nopage.json", headers=api.read), 404)


def test_body_limit_413_also_after_gzip() -> None:
    from tests.api.conftest import make_api

    gen = make_api(max_body_bytes=2048)
    api = next(gen)
    try:
        big = orjson.dumps(EVENTS)  # ~30 kB
        e = assert_error_shape(api.client.post("/api/events", content=big, headers=api.ingest), 413)
        assert e["details"]["limit"] == 2048
        bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")  # 1 kB compressed, 1 MB inflated
        assert len(bomb) < 2048
        assert_error_shape(api.client.post("/api/events", content=bomb,
                                           headers={**api.ingest, "Content-Encoding": "gzip"}), 413)
        assert api.ws.count("events") == 0
    finally:
        next(gen, None)


def test_unexpected_exception_is_a_500_in_the_one_shape(api: Api) -> None:
    app = api.client.app

    @app.get("/api/test-crash")
    def crash() -> None:
        raise RuntimeError("boom")

    app.router.routes.insert(0, app.router.routes.pop())  # before the catch-all page route
    e = assert_error_shape(api.client.get("/api/test-crash"), 500)
    assert e["code"] == "internal_error" and "boom" not in e["message"]


def test_surveys_create_list_get(api: Api) -> None:
    s = {"id": "nps-web", "question": "How likely are you to recommend us?", "follow_up": "Why?",
         "targeting": {"url_contains": "/pricing"}, "once_per_days": 30}
    r = api.client.post("/api/surveys", json=s, headers=api.admin)
    assert r.status_code == 201, r.text
    assert r.json()["scale_min"] == 0 and r.json()["scale_max"] == 10
    assert_error_shape(api.client.post("/api/surveys", json=s, headers=api.admin), 409)
    assert_error_shape(api.client.post("/api/surveys", json={**s, "id": "x2"}, headers=api.ingest), 403)
    assert [x["id"] for x in api.client.get("/api/surveys", headers=api.read).json()] == ["nps-web"]
    got = api.client.get("/api/surveys/nps-web", headers=api.ingest)  # the widget reads it
    assert got.status_code == 200 and got.json()["targeting"]["url_contains"] == "/pricing"
    stored = api.ws.sql("SELECT survey_id FROM _cxlens_surveys").to_pylist()
    assert stored == [{"survey_id": "nps-web"}]


def test_query_cache_is_keyed_on_data_version(api: Api) -> None:
    cache = api.client.app.state.cache
    q = {"kind": "count", "table": "events"}
    writer = api.client.app.state.writer
    api.client.post("/api/events", json=EVENTS[:10], headers=api.ingest)
    writer.sync()  # the version moves when a batch is applied to the store (queries wait for that)
    v = cache.version
    first = api.client.post("/api/query", json=q, headers=api.read).json()
    hits = cache.hits
    # same query spelled differently (defaults written out) hits the cache
    same = api.client.post("/api/query", json={**q, "by": [], "filters": []}, headers=api.read).json()
    assert same == first and cache.hits == hits + 1
    api.client.post("/api/events", json=EVENTS[10:15], headers=api.ingest)
    writer.sync()
    assert cache.version > v
    assert api.client.post("/api/query", json=q, headers=api.read).json()["total"] == 15


def test_cors_for_the_widget_origins(api: Api) -> None:
    pre = {"Origin": "http://widget.test", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type,x-api-key"}
    r = api.client.options("/api/responses", headers=pre)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://widget.test"
    r = api.client.options("/api/responses", headers={**pre, "Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in r.headers


def test_health_and_openapi(api: Api) -> None:
    api.client.post("/api/events", json=EVENTS[:10], headers=api.ingest)
    h = api.client.get("/api/health").json()
    assert h["status"] == "ok" and "nps" in h["query_kinds"]
    log = h["ingest_log"]  # an in-memory workspace: sequence numbers but no log directory
    assert log["acked_seq"] == 1 and log["applied_seq"] <= 1 and log["log"] is None and log["failed"] is None
    spec = api.client.get("/api/openapi.json").json()
    assert {"/api/{kind}", "/api/query", "/api/surveys", "/api/health"} <= set(spec["paths"])
    refs = {s["$ref"].rsplit("/", 1)[-1] for s in spec["paths"]["/api/query"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["oneOf"]}
    assert {"ScoreQuery", "CountQuery", "FunnelQuery"} <= refs <= set(spec["components"]["schemas"])


@pytest.mark.parametrize("path", ["/overview.json", "/surveys.json"])
def test_dashboard_json_needs_a_read_key(api: Api, path: str) -> None:
    assert_error_shape(api.client.get(path), 401)
    assert_error_shape(api.client.get(path, headers=api.ingest), 403)
    assert api.client.get(path, headers=api.read).status_code == 200


def test_empty_field_names_are_a_400_not_a_500(api: Api) -> None:
    e = assert_error_shape(api.client.post("/api/events", json=[{"": 1, "event": "x"}], headers=api.ingest), 400)
    assert e["details"]["field"] == ""
    assert api.ws.count("events") == 0


def test_scope_is_checked_before_the_body(api: Api) -> None:
    e = assert_error_shape(api.client.post("/api/surveys", content=b"not json", headers=api.read), 403)
    assert "admin" in e["message"]
    assert_error_shape(api.client.post("/api/keys", json={"nonsense": 1}), 401)
