"""``cxlens report``: every dashboard page in one self-contained HTML file (CSS and JS inlined)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from cxlens.web.registry import PAGES
from cxlens.web.views import _WEB, _nav, build_page, templates

__all__ = ["render_report", "write_report"]


def render_report(app: FastAPI, params: dict[str, str] | None = None, *, source: str = "") -> str:
    """HTML of all registered pages with the given filters (``from``, ``to``, ``segment``, ``by``)."""
    params = params or {}
    pages: list[dict[str, Any]] = [build_page(app, p.slug, params)
                                   for p in sorted(PAGES.values(), key=lambda p: p.order)]
    static = _WEB / "static"
    inline = {"css": (static / "style.css").read_text(encoding="utf-8"),
              "echarts": (static / "vendor" / "echarts" / "echarts.min.js").read_text(encoding="utf-8"),
              "dashboard": (static / "dashboard.js").read_text(encoding="utf-8")}
    for k in ("echarts", "dashboard"):
        inline[k] = inline[k].replace("</script", "<\\/script")
    page_json = [orjson.dumps(p, default=str, option=orjson.OPT_NON_STR_KEYS).decode().replace("</", "<\\/")
                 for p in pages]
    return templates.get_template("report.html").render(
        request=None, pages=pages, page=None, page_json=page_json, nav=_nav(), report=True, inline=inline,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), source=source)


def write_report(app: FastAPI, out: Path, params: dict[str, str] | None = None, *, source: str = "") -> int:
    """Write the report to ``out``; returns its size in bytes."""
    html = render_report(app, params, source=source)
    out.write_text(html, encoding="utf-8")
    return out.stat().st_size
