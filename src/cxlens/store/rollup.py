"""The score rollup: a per-day histogram of survey answers that the store keeps beside ``responses``.

Why it exists: a score query (NPS, CSAT, CES, rating) needs only sufficient statistics per group and period
(answer counts by status, promoters, detractors, top-box count, n, sum, sum of squares, min, max), and all of
them can be read off a histogram of scores. So the store keeps, in the same transaction as every append to
``responses``, one row per (survey, question, question_type, touchpoint, scale, UTC day, status, score) with
its count. A dashboard query "NPS by touchpoint and week" then reads a few thousand rollup rows instead of
every answer: the materialised-view / rollup idea of ClickHouse and Druid, but exact, because a histogram
loses nothing those statistics need. A query on anything else (distinct_id, a JSON property that was not
promoted, a range that does not fall on whole UTC days) scans ``responses`` as before; :func:`can_use` decides.

Promoted properties: JSON properties a team segments by (stage, plan, region) can be kept in the rollup too,
as columns ``p:<name>`` holding exactly the text the scan would extract (the same ``field()`` expression), so
a query by or filtered on them gives the same answer from the rollup. The promoted set is the rollup's own
column list (no separate setting to drift); changing it rebuilds the rollup. A property with many distinct
values makes the rollup as large as the answers, so promote only segment-like ones.

Each append adds the aggregate of its own batch (many small HTTP batches add many small groups), so the store
compacts the rollup (re-aggregates it in place) once the rows added since the last compaction exceed the size
it had then: amortised O(1) per appended row. Deleting answers rebuilds it from ``responses``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from sqlglot import exp

from cxlens.schema.tables import TABLES
from cxlens.store.sql import field

__all__ = ["DIMENSIONS", "PROPERTY_PREFIX", "SCORE_ROLLUP", "can_use", "compact_sql", "property_name",
           "rollup_select", "to_rollup", "whole_days"]

SCORE_ROLLUP = "_cxlens_score_rollup"
"""Name of the rollup table (created by migration 4)."""

DIMENSIONS = ("survey", "question", "question_type", "touchpoint", "scale_min", "scale_max", "status", "score")
"""Columns of ``responses`` kept in the rollup (plus ``day``, the UTC date of ``timestamp``, and ``n``)."""

PROPERTY_PREFIX = "p:"
"""Rollup columns holding a promoted JSON property are named ``p:<property>``."""

_DIMS = ", ".join(f'"{d}"' for d in DIMENSIONS)


def property_name(name: str) -> str | None:
    """The JSON property a ``by``/filter name refers to on ``responses`` (None for a typed column)."""
    return None if name in TABLES["responses"].column_names else name.removeprefix("properties.")


def _extract(prop: str) -> exp.Expression:
    return field("responses", prop)  # the scan's own expression, so both give the same text


def rollup_select(source: str, properties: Sequence[str] = ()) -> str:
    """SQL that aggregates the answers in ``source`` (a table or view of ``responses`` rows) into rollup rows,
    keeping the promoted ``properties`` as ``p:<name>`` columns."""
    props = "".join(f', {_extract(p).sql(dialect="duckdb")} AS "{PROPERTY_PREFIX}{p}"' for p in properties)
    keys = _DIMS + "".join(f', "{PROPERTY_PREFIX}{p}"' for p in properties)
    return (f'SELECT {_DIMS}{props}, CAST("timestamp" AS DATE) AS "day", count(*) AS "n" FROM "{source}" '
            f'GROUP BY {keys}, "day"')


def to_rollup(e: exp.Expression, properties: Sequence[str]) -> exp.Expression:
    """``e`` (built for ``responses``) with each promoted property's JSON extraction replaced by its column."""
    columns = {_extract(p).sql(dialect="duckdb"): f"{PROPERTY_PREFIX}{p}" for p in properties}
    if not columns:
        return e

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JSONExtractScalar):
            col = columns.get(node.sql(dialect="duckdb"))
            if col is not None:
                return exp.column(col, quoted=True)
        return node

    return e.transform(swap)


def compact_sql(properties: Sequence[str] = ()) -> list[str]:
    """Statements that merge rollup rows with equal keys (run inside the append's transaction)."""
    keys = _DIMS + "".join(f', "{PROPERTY_PREFIX}{p}"' for p in properties)
    return [
        f'CREATE TEMP TABLE "_cxlens_rollup_compact" AS SELECT {keys}, "day", CAST(sum("n") AS BIGINT) AS "n" '
        f'FROM "{SCORE_ROLLUP}" GROUP BY {keys}, "day"',
        f'DELETE FROM "{SCORE_ROLLUP}"',
        f'INSERT INTO "{SCORE_ROLLUP}" SELECT * FROM "_cxlens_rollup_compact"',
        'DROP TABLE "_cxlens_rollup_compact"',
    ]


def whole_days(start: datetime | None, end: datetime | None) -> bool:
    """True when an inclusive instant range ``[start, end]`` (naive UTC) covers whole UTC days only: it starts
    at midnight and ends on the last microsecond of a day (or is open on that side)."""
    return ((start is None or start.time() == time(0)) and
            (end is None or end.time() == time(23, 59, 59, 999_999)))


def can_use(by: Iterable[str], filter_keys: Iterable[str], properties: Sequence[str] = ()) -> bool:
    """Whether a score query grouped by ``by`` and filtered on ``filter_keys`` can be answered from the rollup
    (every name must be a rollup dimension or a promoted property; the date range is checked with
    :func:`whole_days`)."""
    return all(k in DIMENSIONS or property_name(k) in properties for k in (*by, *filter_keys))
