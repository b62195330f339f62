"""Storage engines behind a narrow protocol (DuckDB by default)."""

from cxlens.store.base import Store
from cxlens.store.duckdb import DuckDBStore

__all__ = ["DuckDBStore", "Store"]
