"""The page registry of the dashboard: navigation is built from it, so new pages plug in.

A page is a function ``build(ctx) -> dict`` registered with :func:`register_page`. It asks the engine for
results through ``ctx.query(q)`` (the same query objects as ``ws.query``, cached) and returns blocks the
templates and ``dashboard.js`` render: ``tiles`` (scorecard), ``chart`` (a chart spec) and ``table``. The
same dict is the page's JSON twin (``/<page>.json``). A journey-map page is one more ``register_page``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from cxlens.errors import CxlensError
from cxlens.query import QUERY_KINDS

__all__ = ["PAGES", "Page", "PageContext", "register_page"]

log = logging.getLogger("cxlens.web")


@dataclass(frozen=True)
class Page:
    """One dashboard page."""

    slug: str
    title: str
    build: Callable[[PageContext], dict[str, Any]]
    order: int = 100
    description: str = ""


PAGES: dict[str, Page] = {}


def register_page(slug: str, title: str, order: int = 100, description: str = "") -> Callable[
        [Callable[[PageContext], dict[str, Any]]], Callable[[PageContext], dict[str, Any]]]:
    """Decorator registering ``build(ctx)`` as the page ``/<slug>``."""

    def deco(fn: Callable[[PageContext], dict[str, Any]]) -> Callable[[PageContext], dict[str, Any]]:
        PAGES[slug] = Page(slug, title, fn, order, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return deco


@dataclass
class PageContext:
    """What a page builder gets: the query function and the page filters."""

    run: Callable[[dict[str, Any]], dict[str, Any]]
    date_from: datetime | None = None
    date_to: datetime | None = None
    segment: list[dict[str, Any]] = field(default_factory=list)
    by: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    span_fn: Callable[[str], tuple[str, str] | None] | None = None

    def span(self, table: str) -> tuple[str, str] | None:
        """First and last time stamp of ``table`` (ISO strings), to choose default date windows."""
        return self.span_fn(table) if self.span_fn else None

    def has(self, kind: str) -> bool:
        """Whether the query kind is registered in this installation."""
        return kind in QUERY_KINDS

    def scoped(self, q: dict[str, Any]) -> dict[str, Any]:
        """``q`` with the page's date range and segment filters added where its kind supports them."""
        q = dict(q)
        kind = QUERY_KINDS.get(q.get("kind", ""))
        if kind is None:
            return q
        fields = kind.model.model_fields
        if "filters" in fields and self.segment:
            q["filters"] = [*q.get("filters", []), *self.segment]
        if (self.date_from or self.date_to) and "date_range" in fields:
            ann = fields["date_range"].annotation
            names = set()
            for a in getattr(ann, "__args__", (ann,)):
                names |= set(getattr(a, "model_fields", {}))
            lo = self.date_from.isoformat() if self.date_from else None
            hi = self.date_to.isoformat() if self.date_to else None
            if "date_from" in names:
                q["date_range"] = {"date_from": lo, "date_to": hi}
            else:  # inclusive instants: a "to" given as a day counts to that day's last microsecond
                end = self.date_to
                if end is not None and end.time() == time(0):
                    end = end.replace(hour=23, minute=59, second=59, microsecond=999_999)
                q["date_range"] = {"from": lo, "to": end.isoformat() if end else None}
        return q

    def query(self, q: dict[str, Any], *, scoped: bool = True) -> dict[str, Any] | None:
        """Run ``q`` (with the page filters); ``None`` with the reason recorded when it cannot run."""
        q = self.scoped(q) if scoped else q
        if q.get("kind") not in QUERY_KINDS:
            self.errors.append({"query": q, "message": f"query kind {q.get('kind')!r} is not installed"})
            return None
        try:
            return self.run(q)
        except CxlensError as e:
            self.errors.append({"query": q, "message": e.message})
            return None
        except Exception as e:
            # one failing query kind must not take the whole page down; it is logged and shown on its block
            log.exception("dashboard query failed: %s", q)
            self.errors.append({"query": q, "message": f"internal error in the {q.get('kind')} query "
                                f"({type(e).__name__}); see the server log", "internal": True})
            return None
