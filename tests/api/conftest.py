"""Fixtures for the HTTP API tests: an in-process app on an in-memory workspace, with keys per scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from cxlens import Workspace
from cxlens.api import Settings, create_app


@dataclass
class Api:
    client: TestClient
    ws: Workspace
    ingest: dict[str, str]
    read: dict[str, str]
    admin: dict[str, str]


def make_api(**settings: object) -> Iterator[Api]:
    ws = Workspace()
    app = create_app(Settings(auth="keys", flush_ms=2, **settings), workspace=ws)
    keys = {s: {"Authorization": f"Bearer {app.state.keys.create(s, f'test {s}')[0]}"}
            for s in ("ingest", "read", "admin")}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, ws, keys["ingest"], keys["read"], keys["admin"])
    ws.close()


@pytest.fixture
def api() -> Iterator[Api]:
    yield from make_api(cors_origins="http://widget.test")
