"""Numbered, idempotent schema migrations.

Each migration is a function of the DDL renderer; every statement it emits must be safe to run twice
(``CREATE TABLE IF NOT EXISTS``, ``ADD COLUMN IF NOT EXISTS``), so that opening an old or a fresh workspace
converges on the same schema. Append new migrations at the end; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cxlens.schema.tables import TABLES, Table

__all__ = ["MIGRATIONS", "Migration", "create_table_sql"]

TypeMap = dict[str, str]


@dataclass(frozen=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    statements: Callable[[TypeMap], list[str]]


def create_table_sql(t: Table, types: TypeMap) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a canonical table with the engine's type names."""
    cols = ",\n  ".join(
        f'"{c.name}" {types[c.type]}{" NOT NULL" if c.required else ""}' for c in t.columns
    )
    return f'CREATE TABLE IF NOT EXISTS "{t.name}" (\n  {cols}\n)'


def _initial(types: TypeMap) -> list[str]:
    return [create_table_sql(t, types) for t in TABLES.values()]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables for every signal", _initial),
)
