"""Property-based API test: schemathesis generates requests from the OpenAPI schema (every operation, every
registered query kind in POST /api/query); no answer may be a 5xx. Bounded: a fixed number of examples per
operation, no shrinking deadline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from cxlens import Workspace
from cxlens.api import Settings, create_app

pytestmark = pytest.mark.slow

ADMIN: dict[str, str] = {}

# Defects schemathesis found in code outside the web app; each was fixed and has a regression test below.
# Any 5xx fails the test.
KNOWN_UPSTREAM: tuple[tuple[str, str], ...] = ()


@pytest.fixture(scope="module")
def api_schema() -> Iterator[schemathesis.BaseSchema]:
    ws = Workspace()
    ws.add("events", [{"distinct_id": f"u{i % 5}", "event": ["view", "cart", "buy"][i % 3],
                       "timestamp": f"2024-05-{1 + i % 20:02d}T10:00:00Z"} for i in range(60)])
    ws.add("responses", [{"survey": "s", "question": "nps", "question_type": "nps", "score": i % 11,
                          "distinct_id": f"u{i % 5}", "timestamp": f"2024-05-{1 + i % 20:02d}T10:00:00Z"}
                         for i in range(40)])
    ws.add("transactions", [{"distinct_id": f"u{i % 5}", "timestamp": f"2024-0{1 + i % 6}-01", "amount": 5 + i}
                            for i in range(30)])
    app = create_app(Settings(auth="keys", flush_ms=1), workspace=ws)
    ADMIN["Authorization"] = "Bearer " + app.state.keys.create("admin")[0]
    with TestClient(app):  # runs the lifespan
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    ws.close()


def test_no_server_errors(api_schema: schemathesis.BaseSchema) -> None:
    # schemathesis' pytest plugin does not support this pytest version; drive its strategies directly
    tested = []
    known: list[str] = []
    for result in api_schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        # derandomize: the same generated cases on every run, so CI cannot fail on a new random draw (explore
        # further by hand with derandomize=False and more examples)
        @settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
                  derandomize=True, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **ADMIN}
            try:
                response = case.call()
            except Exception as e:  # the in-process client re-raises what became a 500
                if any(type(e).__name__ == t and m in str(e) for t, m in KNOWN_UPSTREAM):
                    known.append(type(e).__name__)
                    return
                raise
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), \
                    response.text

        check()
        tested.append(f"{op.method.upper()} {op.path}")
    assert {"POST /api/query", "POST /api/{kind}", "POST /api/surveys"} <= set(tested)


@pytest.fixture
def client() -> Iterator[TestClient]:
    ws = Workspace()
    app = create_app(Settings(auth="none"), workspace=ws)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    ws.close()


def test_numeric_filter_with_a_non_number_is_a_400(client: TestClient) -> None:
    r = client.post("/api/query", json={"kind": "count", "filters": [{"key": "a", "operator": "gt", "value": None}]})
    assert r.status_code == 400


def test_empty_timezone_is_a_400(client: TestClient) -> None:
    r = client.post("/api/query", json={"kind": "trends", "series": [{}], "timezone": ""})
    assert r.status_code == 400
