"""Shared fixtures: in-memory workspaces and the ../shared data folder (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cxlens

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def ws() -> cxlens.Workspace:
    """A fresh in-memory workspace."""
    w = cxlens.Workspace()
    yield w
    w.close()


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared datasets sit beside the repo in CI)")
    return SHARED_DATA
