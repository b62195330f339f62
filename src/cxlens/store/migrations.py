"""Numbered, idempotent schema migrations.

Each migration is a function of the DDL renderer; every statement it emits must be safe to run twice
(``CREATE TABLE IF NOT EXISTS``, ``ADD COLUMN IF NOT EXISTS``), so that opening an old or a fresh workspace
converges on the same schema. Append new migrations at the end; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cxlens.schema.tables import TABLES, Column, Table
from cxlens.store import distinct_codes
from cxlens.store.ingest_log import LOG_TABLE
from cxlens.store.rollup import SCORE_ROLLUP, rollup_select

__all__ = ["INTERNAL_TABLES", "MIGRATIONS", "TEXT_SCORES", "TEXT_TAXONOMIES", "Migration", "create_table_sql"]

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


def _web(types: TypeMap) -> list[str]:
    """API keys (hashed, with scopes) and survey definitions of the web app."""
    s, ts, js = types["string"], types["timestamp"], types["json"]
    return [
        f'CREATE TABLE IF NOT EXISTS "_cxlens_api_keys" (\n  "key_id" {s} NOT NULL,\n  "prefix" {s} NOT NULL,\n'
        f'  "hash" {s} NOT NULL,\n  "scope" {s} NOT NULL,\n  "name" {s},\n  "created_at" {ts} NOT NULL,\n'
        f'  "revoked_at" {ts}\n)',
        f'CREATE TABLE IF NOT EXISTS "_cxlens_surveys" (\n  "survey_id" {s} NOT NULL,\n  "definition" {js} NOT NULL,'
        f'\n  "created_at" {ts} NOT NULL,\n  "updated_at" {ts} NOT NULL\n)',
    ]


TEXT_SCORES = Table(
    "text_scores",
    "Scores of a text (sentiment, ...) with the method and version that produced them (cxlens.text).",
    (
        Column("source_table", "string", True, "responses, tickets or reviews."),
        Column("row_key", "string", description="Key of the scored row (review_id, ticket_id, response_id:question)."),
        Column("text_hash", "string", True, "md5 of the scored text: the cache key with method and version."),
        Column("method", "string", True, "vader, tfidf, embedding, ..."),
        Column("version", "string", True, "Version of the method (package or trained head)."),
        Column("score", "float", description="Score in [-1, 1]."),
        Column("label", "string", description="negative, neutral or positive."),
        Column("computed_at", "timestamp", description="When it was computed (UTC)."),
    ),
)
"""Sentiment (and other) scores stored with the text they belong to; not an import kind."""

TEXT_TAXONOMIES = Table(
    "text_taxonomies",
    "User-editable theme taxonomies (cxlens.text.taxonomy): one row per taxonomy and theme.",
    (
        Column("taxonomy", "string", True, "Taxonomy name."),
        Column("theme", "string", True, "Theme name."),
        Column("position", "int", True, "Order of the theme in the taxonomy."),
        Column("definition", "json", True, "The theme's rules: keywords, patterns, examples, exclude."),
        Column("similarity", "float", description="Cosine threshold for example sentences."),
        Column("updated_at", "timestamp", description="When it was saved (UTC)."),
    ),
)


def _text_tables(types: TypeMap) -> list[str]:
    return [create_table_sql(TEXT_SCORES, types), create_table_sql(TEXT_TAXONOMIES, types)]


def _score_rollup(types: TypeMap) -> list[str]:
    """The per-day score histogram of :mod:`cxlens.store.rollup`, filled from the answers already stored."""
    return [f'CREATE TABLE IF NOT EXISTS "{SCORE_ROLLUP}" AS {rollup_select("responses")}']


def _distinct_codes(types: TypeMap) -> list[str]:
    """Integer codes of distinct ids beside ``events`` (:mod:`cxlens.store.distinct_codes`); codes the rows
    already stored."""
    return distinct_codes.schema_sql(types) + distinct_codes.assign_sql()


def _event_codes(types: TypeMap) -> list[str]:
    """Integer codes of event names beside ``events`` (:mod:`cxlens.store.distinct_codes`); codes the rows
    already stored."""
    return distinct_codes.event_schema_sql(types) + distinct_codes.event_assign_sql()


def _ingest_log(types: TypeMap) -> list[str]:
    """The last ingest-log record applied (:mod:`cxlens.store.ingest_log`), committed with its rows."""
    return [f'CREATE TABLE IF NOT EXISTS "{LOG_TABLE}" (seq {types["int"]} NOT NULL)',
            f'INSERT INTO "{LOG_TABLE}" SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM "{LOG_TABLE}")']


def _database_id(types: TypeMap) -> list[str]:
    """A random id of this database, in the names of its ingest-log segments, so a log never goes into another
    file (a database deleted and created again under the same name, a log copied beside the wrong file)."""
    return [f'ALTER TABLE "{LOG_TABLE}" ADD COLUMN IF NOT EXISTS database_id {types["string"]}',
            f'UPDATE "{LOG_TABLE}" SET database_id = replace(CAST(uuid() AS VARCHAR), \'-\', \'\') '
            "WHERE database_id IS NULL"]


#: Tables a migration creates beside the canonical ones (written with ``Store.append_internal``).
INTERNAL_TABLES = frozenset({"text_scores", "text_taxonomies", "_cxlens_api_keys", "_cxlens_surveys"})

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables for every signal", _initial),
    Migration(2, "text_scores and text_taxonomies (cxlens.text)", _text_tables),
    Migration(3, "web app: API keys and survey definitions", _web),
    Migration(4, "score rollup: answers per day, question, touchpoint and score", _score_rollup),
    Migration(5, "integer codes of distinct ids for the event queries", _distinct_codes),
    Migration(6, "integer codes of event names for the event queries", _event_codes),
    Migration(7, "ingest log: the last acknowledged batch applied", _ingest_log),
    Migration(8, "ingest log: the database's id, named in its log segments", _database_id),
)
