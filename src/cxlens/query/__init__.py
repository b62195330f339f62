"""Query kinds. Importing this package registers the built-in kinds."""

from __future__ import annotations

from cxlens.query import count, funnel, retention, scores, usability  # noqa: F401
from cxlens.query.registry import QUERY_KINDS, QueryKind, QueryModel, parse_query, register_query, run_query

__all__ = ["QUERY_KINDS", "QueryKind", "QueryModel", "parse_query", "register_query", "run_query"]
