"""The dashboard (server-rendered pages from a page registry), the survey widget and the HTML report."""

from __future__ import annotations

from cxlens.web import pages as _pages  # noqa: F401  (registers the built-in pages)
from cxlens.web.registry import PAGES, Page, PageContext, register_page

__all__ = ["PAGES", "Page", "PageContext", "register_page"]
