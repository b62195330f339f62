"""The score rollup: a per-day histogram of survey answers that the store keeps beside ``responses``.

Why it exists: a score query (NPS, CSAT, CES, rating) needs only sufficient statistics per group and period
(answer counts by status, promoters, detractors, top-box count, n, sum, sum of squares, min, max), and all of
them can be read off a histogram of scores. So the store keeps, in the same transaction as every append to
``responses``, one row per (survey, question, question_type, touchpoint, scale, UTC day, status, score) with
its count. A dashboard query "NPS by touchpoint and week" then reads a few thousand rollup rows instead of
every answer: the materialised-view / rollup idea of ClickHouse and Druid, but exact, because a histogram
loses nothing those statistics need. A query on anything else (a JSON property, distinct_id, a range that does
not fall on whole UTC days) scans ``responses`` as before; :func:`can_use` decides.

Each append adds the aggregate of its own batch (many small HTTP batches add many small groups), so the store
compacts the rollup (re-aggregates it in place) once the rows added since the last compaction exceed the size
it had then: amortised O(1) per appended row. Deleting answers rebuilds it from ``responses``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

__all__ = ["DIMENSIONS", "SCORE_ROLLUP", "can_use", "compact_sql", "rollup_select", "whole_days"]

SCORE_ROLLUP = "_cxlens_score_rollup"
"""Name of the rollup table (created by migration 4)."""

DIMENSIONS = ("survey", "question", "question_type", "touchpoint", "scale_min", "scale_max", "status", "score")
"""Columns of ``responses`` kept in the rollup (plus ``day``, the UTC date of ``timestamp``, and ``n``)."""

_DIMS = ", ".join(f'"{d}"' for d in DIMENSIONS)


def rollup_select(source: str) -> str:
    """SQL that aggregates the answers in ``source`` (a table or view of ``responses`` rows) into rollup rows."""
    return (f'SELECT {_DIMS}, CAST("timestamp" AS DATE) AS "day", count(*) AS "n" FROM "{source}" '
            f'GROUP BY {_DIMS}, "day"')


def compact_sql() -> list[str]:
    """Statements that merge rollup rows with equal keys (run inside the append's transaction)."""
    return [
        f'CREATE TEMP TABLE "_cxlens_rollup_compact" AS SELECT {_DIMS}, "day", CAST(sum("n") AS BIGINT) AS "n" '
        f'FROM "{SCORE_ROLLUP}" GROUP BY {_DIMS}, "day"',
        f'DELETE FROM "{SCORE_ROLLUP}"',
        f'INSERT INTO "{SCORE_ROLLUP}" SELECT * FROM "_cxlens_rollup_compact"',
        'DROP TABLE "_cxlens_rollup_compact"',
    ]


def whole_days(start: datetime | None, end: datetime | None) -> bool:
    """True when an inclusive instant range ``[start, end]`` (naive UTC) covers whole UTC days only: it starts
    at midnight and ends on the last microsecond of a day (or is open on that side)."""
    return ((start is None or start.time() == time(0)) and
            (end is None or end.time() == time(23, 59, 59, 999_999)))


def can_use(by: Iterable[str], filter_keys: Iterable[str]) -> bool:
    """Whether a score query grouped by ``by`` and filtered on ``filter_keys`` can be answered from the rollup
    (every name must be a rollup dimension; the date range is checked with :func:`whole_days`)."""
    return all(k in DIMENSIONS for k in (*by, *filter_keys))
