"""The storage protocol every backend implements.

A store keeps the canonical tables (:mod:`cxlens.schema.tables`) and does three things: append Arrow
batches atomically, run read queries given as sqlglot expressions (rendered in the store's dialect), and
report its capabilities. Query kinds build dialect-neutral sqlglot expressions (see :mod:`cxlens.store.sql`),
so a second engine (ClickHouse through chDB) is a new ``Store`` class, not a change to every query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from sqlglot import exp

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """What cxlens needs from an analytics engine."""

    dialect: str
    """sqlglot dialect name used to render queries (``"duckdb"``, ``"clickhouse"``)."""

    capabilities: frozenset[str]
    """Optional features, e.g. ``{"transactions", "json"}``; query kinds check them."""

    def append(self, tables: Mapping[str, pa.Table]) -> dict[str, int]:
        """Append Arrow tables (already in canonical shape) to their tables, all or nothing."""
        ...

    def execute(self, query: exp.Expression | str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query and return its result as Arrow."""
        ...

    def execute_with(self, query: exp.Expression | str, tables: Mapping[str, pa.Table]) -> pa.Table:
        """Run a read query that also sees the given Arrow tables under their names."""
        ...

    def append_internal(self, table: str, data: pa.Table, delete_where: exp.Expression | None = None) -> None:
        """Append to a table a migration created beside the canonical ones (keys, surveys, text scores),
        first deleting the rows matching ``delete_where``; all or nothing."""
        ...

    def delete_keys(self, table: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        """Delete the rows whose ``column`` is one of ``keys`` (used for upserts of persons/accounts)."""
        ...

    def count(self, table: str) -> int:
        """Number of rows in ``table``."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: everything inside commits together or not at all."""
        ...

    def schema_version(self) -> int:
        """Highest migration applied."""
        ...

    def close(self) -> None:
        """Release the engine."""
        ...


def iter_batches(table: pa.Table, rows: int) -> Iterator[pa.Table]:
    """Slice ``table`` into zero-copy batches of at most ``rows`` rows."""
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)
