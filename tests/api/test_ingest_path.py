"""The ingest hot path: the ASGI shortcut answers exactly as the FastAPI route would, keeps CORS and the error
shape, and the rows stored through the API's fast validation are the rows ``Workspace.add`` stores."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import Api, make_api
from tests.api.test_api import EVENTS, assert_error_shape

from cxlens import Workspace
from cxlens.api import Settings, create_app
from cxlens.api.body import parse_records
from cxlens.api.ingest import IngestShortcut
from cxlens.api.writer import IngestWriter

_GZ = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def _requests(ingest: dict[str, str], read: dict[str, str]) -> list[tuple[str, dict[str, str], bytes]]:
    """(path, headers, body) covering answers of every kind: 200, 4xx from auth, body, parsing, validation."""
    js = {"Content-Type": "application/json"}
    nd = {"Content-Type": "application/x-ndjson"}
    ok = orjson.dumps(EVENTS[:20])
    return [
        ("/api/events", {**js, **ingest}, ok),
        ("/api/events", {**_GZ, **ingest}, gzip.compress(ok)),
        ("/api/events", {**nd, **ingest}, b"\n".join(orjson.dumps(e) for e in EVENTS[20:25])),
        ("/api/responses", {**js, **ingest}, orjson.dumps([{"survey": "s", "question": "q",
                                                            "question_type": "nps", "score": 9}])),
        ("/api/events", js, ok),  # no key
        ("/api/events", {**js, "X-Api-Key": "cxk_nope_nope"}, ok),
        ("/api/events", {**js, **read}, ok),  # wrong scope
        ("/api/events", {**js, **ingest}, b"[{"),
        ("/api/events", {**js, **ingest}, b"[]"),
        ("/api/events", {**js, **ingest}, b"[1]"),
        ("/api/events", {**_GZ, **ingest}, b"not gzip"),
        ("/api/events", {**js, **ingest}, orjson.dumps([{"distinct_id": "u", "event": "e",
                                                         "timestamp": "2024-13-45"}])),
        ("/api/events", {**js, **ingest}, orjson.dumps([{"event": "e", "timestamp": "2024-05-01T00:00:00Z"}])),
        ("/api/events", {**js, **ingest}, orjson.dumps([{"_cxlens_x": 1}])),
        ("/api/bogus", {**js, **ingest}, ok),  # not a kind: FastAPI's route answers 404 in both apps
    ]


def _answers(shortcut: bool) -> list[tuple[int, bytes, str | None]]:
    ws = Workspace()
    app = create_app(Settings(auth="keys", flush_ms=2, cors_origins="http://widget.test"), workspace=ws)
    if not shortcut:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not IngestShortcut]
    assert any(m.cls is IngestShortcut for m in app.user_middleware) == shortcut
    ingest = {"Authorization": f"Bearer {app.state.keys.create('ingest')[0]}"}
    token, key = app.state.keys.create("read")
    read = {"Authorization": f"Bearer {token}"}
    out = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, headers, body in _requests(ingest, read):
            r = client.post(path, content=body, headers={**headers, "Origin": "http://widget.test"})
            body = r.content.replace(key.prefix.encode(), b"KEY")  # a random prefix, named in the 403
            out.append((r.status_code, body, r.headers.get("www-authenticate")))
            assert r.headers.get("access-control-allow-origin") == "http://widget.test"
    ws.close()
    return out


def test_the_shortcut_answers_exactly_as_the_fastapi_route() -> None:
    fast, routed = _answers(True), _answers(False)
    assert [s for s, _, _ in fast] == [200, 200, 200, 200, 401, 401, 403, 400, 400, 400, 400, 422, 422, 400, 404]
    assert fast == routed
    assert fast[4][2] == "Bearer"


@pytest.fixture
def api() -> Iterator[Api]:
    yield from make_api()


def test_api_rows_are_the_rows_workspace_add_stores(api: Api) -> None:
    """The API validates with the fast path where it applies; Workspace.add always runs conform."""
    batch = [{**e, "n": i, "flag": i % 2 == 0, "gone": None, "event_id": "" if i % 5 == 0 else e["event_id"],
              "timestamp": f"2024-05-0{1 + i % 9}T1{i % 10}:00:00{['Z', '+02:00', '-0530', ''][i % 4]}"}
             for i, e in enumerate(EVENTS[:50])]
    r = api.client.post("/api/events", json=batch, headers=api.ingest)
    assert r.status_code == 200, r.text
    with Workspace() as ws:
        ws.add("events", batch)
        assert api.ws.table("events").equals(ws.table("events"))


def test_a_row_error_still_names_row_column_and_value(api: Api) -> None:
    bad = [*EVENTS[:4], {**EVENTS[4], "timestamp": "2024-05-01T10Z"}]  # Arrow would read it; DuckDB does not
    e = assert_error_shape(api.client.post("/api/events", json=bad, headers=api.ingest), 422)
    assert (e["details"]["row"], e["details"]["column"], e["details"]["value"]) == (5, "timestamp", "2024-05-01T10Z")
    assert api.ws.count("events") == 0


def test_the_writer_checkpoints_after_answering_every_row_group(tmp_path) -> None:
    ws = Workspace(tmp_path / "w.duckdb")
    writer = IngestWriter(ws, flush_ms=1, checkpoint_rows=250)
    for i in range(3):
        assert writer.submit("events", parse_records(orjson.dumps(EVENTS[i * 100:(i + 1) * 100]))).result(10) == 100
    writer.close()  # the checkpoint runs after the answers: wait for the thread
    assert writer.stats["checkpoints"] == 1 and writer.stats["rows"] == 300
    ws.close()
    with Workspace(tmp_path / "w.duckdb", read_only=True) as again:
        assert again.count("events") == 300
