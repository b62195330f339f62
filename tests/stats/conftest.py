"""Fixtures for the statistics tests: ``../shared/data`` beside the repository (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def shared_data_dir() -> Path:
    """``<repo>/../shared/data``; tests that use it skip with a reason when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared datasets sit beside the repository)")
    return SHARED_DATA
