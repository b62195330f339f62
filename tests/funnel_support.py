"""Helpers shared by the funnel test modules (importable because pytest puts ``tests/`` on ``sys.path``).

``engine`` is an autouse fixture once a module imports it: every test then runs under each funnel evaluator
(the automatic choice, the general state machine and the scalar reference).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import cxlens
import cxlens.query.funnel as funnel_module

__all__ = ["BASE", "counts", "engine", "ev", "run"]

BASE = datetime(2024, 1, 1)


@pytest.fixture(params=["auto", "general", "scalar"], autouse=True)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(funnel_module, "ENGINE", request.param)
    return request.param


def ev(who: str, event: str, sec: float, **props: Any) -> dict[str, Any]:
    """An event ``sec`` seconds after 2024-01-01T00:00Z."""
    return {"distinct_id": who, "event": event, "timestamp": (BASE + timedelta(seconds=sec)).isoformat() + "Z",
            "properties": props}


def run(ws: cxlens.Workspace, steps: list[Any], events: list[dict[str, Any]] | None = None,
        **kw: Any) -> dict[str, Any]:
    """Add ``events`` (if any) and run a funnel over ``steps``."""
    if events:
        ws.add("events", events)
    return ws.query({"kind": "funnel", "steps": steps, **kw})


def counts(r: dict[str, Any]) -> list[int]:
    """The step counts of a funnel result."""
    return [s["count"] for s in r["steps"]]
