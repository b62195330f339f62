"""Query kinds. Importing this package registers the built-in kinds."""

from __future__ import annotations

from cxlens.query import (  # noqa: F401
    conversion,
    count,
    drivers,
    event_tasks,
    funnel,
    latency,
    lifecycle,
    lifetime_churn,
    lifetime_clv,
    lifetime_cohorts,
    lifetime_rfm,
    paths,
    retention,
    reviews,
    scores,
    stickiness,
    text,
    tickets,
    trends,
    usability,
)
from cxlens.query.registry import QUERY_KINDS, QueryKind, QueryModel, parse_query, register_query, run_query

__all__ = ["QUERY_KINDS", "QueryKind", "QueryModel", "parse_query", "register_query", "run_query"]
