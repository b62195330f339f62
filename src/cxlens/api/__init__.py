"""The HTTP API of cxlens (FastAPI): ingest, queries, survey definitions, keys; see :mod:`cxlens.api.app`."""

from __future__ import annotations

from cxlens.api.app import create_app
from cxlens.api.settings import Settings

__all__ = ["Settings", "create_app"]
