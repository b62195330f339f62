"""Dashboard routes: pages from the registry (HTML and JSON twin), login, static files and the widget."""

from __future__ import annotations

import threading
from datetime import datetime
from importlib.resources import files
from typing import Any

import orjson
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlglot import exp, select

from cxlens.api.auth import COOKIE, authorize
from cxlens.api.errors import ApiError, JSONBytes
from cxlens.errors import CxlensInputError
from cxlens.store.sql import time_column
from cxlens.web.registry import PAGES, PageContext

__all__ = ["build_page", "install_web", "page_context", "templates"]

_WEB = files("cxlens.web")
templates = Jinja2Templates(directory=str(_WEB / "templates"))


def _date(v: str | None, name: str) -> datetime | None:
    if not v:
        return None
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        raise CxlensInputError(f"{name}: cannot read {v!r}; expected a date like 2024-05-31", field=name,
                               value=v) from None


def _segment(v: str | None) -> list[dict[str, Any]]:
    if not v:
        return []
    if "=" not in v:
        raise CxlensInputError(f"segment: expected KEY=VALUE (e.g. touchpoint=/pricing), got {v!r}",
                               field="segment", value=v)
    k, val = v.split("=", 1)
    if not k.strip():
        raise CxlensInputError("segment: the key before '=' is empty", field="segment", value=v)
    return [{"key": k.strip(), "operator": "exact", "value": val.strip()}]


def _spans(app: FastAPI) -> Any:
    cache: dict[tuple[int, str], tuple[str, str] | None] = {}
    lock = threading.Lock()

    def span(table: str) -> tuple[str, str] | None:
        app.state.ws._wait_for_writes()  # acknowledged batches first, so the key's version covers them
        key = (app.state.cache.version, table)
        with lock:
            if key in cache:
                return cache[key]
        col = time_column(table)
        if col is None:
            return None
        q = select(exp.Min(this=exp.column(col)).as_("lo"), exp.Max(this=exp.column(col)).as_("hi")).from_(table)
        row = app.state.ws.store.execute(q).to_pylist()[0]
        out = None if row["lo"] is None else (row["lo"].isoformat(), row["hi"].isoformat())
        with lock:
            cache[key] = out
        return out

    return span


def page_context(app: FastAPI, params: dict[str, str]) -> PageContext:
    """The page filters from query parameters ``from``, ``to``, ``segment`` (KEY=VALUE) and ``by``."""
    return PageContext(run=app.state.cache.query, date_from=_date(params.get("from"), "from"),
                       date_to=_date(params.get("to"), "to"), segment=_segment(params.get("segment")),
                       by=(params.get("by") or "").strip() or None, span_fn=app.state.span)


def build_page(app: FastAPI, slug: str, params: dict[str, str]) -> dict[str, Any]:
    """The page ``slug`` as a JSON-serialisable dict (the JSON twin)."""
    page = PAGES.get(slug)
    if page is None:
        raise ApiError(404, f"no dashboard page {slug!r}; pages: {', '.join(PAGES)}", pages=list(PAGES))
    ctx = page_context(app, params)
    body = page.build(ctx)
    filters = {k: params.get(k) or None for k in ("from", "to", "segment", "by")}
    return {"page": slug, "title": page.title, "filters": filters, "data_version": app.state.cache.version,
            **body, "notes": ctx.errors}


def _nav() -> list[dict[str, str]]:
    return [{"slug": p.slug, "title": p.title} for p in sorted(PAGES.values(), key=lambda p: p.order)]


def render_html(request: Request | None, data: dict[str, Any], *, report: bool = False,
                inline: dict[str, str] | None = None) -> str:
    """The HTML of a page dict (``inline`` holds JS/CSS text for a self-contained report)."""
    tpl = templates.get_template("page.html")
    return tpl.render(request=request, page=data, nav=_nav(), report=report, inline=inline or {},
                      data_json=orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
                      .replace("</", "<\\/"))


def install_web(app: FastAPI) -> None:
    """Add the dashboard, login, static files and ``/widget.js`` to ``app``."""
    app.state.span = _spans(app)
    app.mount("/static", StaticFiles(directory=str(_WEB / "static")), name="static")
    widget = (_WEB / "static" / "widget.js").read_bytes()

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        return Response(widget, media_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})

    def _logged_in(request: Request) -> bool:
        try:
            authorize(request, "read", allow_cookie=True)
            return True
        except ApiError:
            return False

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login_form(request: Request, error: str | None = None, next: str = "/overview") -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {"error": error, "next": next, "nav": []})

    @app.post("/login", include_in_schema=False)
    def login(request: Request, key: str = Form(...), next: str = Form("/overview")) -> Response:
        k = app.state.keys.check(key.strip())
        if k is None or not k.allows("read"):
            return templates.TemplateResponse(
                request, "login.html", {"error": "unknown key, or its scope is not read or admin",
                                        "next": next, "nav": []}, status_code=401)
        target = next if next.startswith("/") and not next.startswith("//") else "/overview"
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", secure=app.state.settings.cookie_secure,
                        max_age=30 * 86400)
        return resp

    @app.get("/logout", include_in_schema=False)
    def logout() -> Response:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/overview", status_code=307)

    @app.get("/{slug}.json", tags=["dashboard"])
    def page_json(request: Request, slug: str) -> JSONBytes:
        """The JSON twin of a dashboard page (same filters as the page: from, to, segment, by)."""
        authorize(request, "read", allow_cookie=True)
        return JSONBytes(build_page(app, slug, dict(request.query_params)))

    @app.get("/{slug}", include_in_schema=False)
    def page_html(request: Request, slug: str) -> Response:
        if slug not in PAGES:
            raise ApiError(404, f"no page {slug!r}; pages: {', '.join(PAGES)}", pages=list(PAGES))
        if not _logged_in(request):
            if request.query_params.get("format") == "json":
                authorize(request, "read", allow_cookie=True)
            return RedirectResponse(f"/login?next=/{slug}", status_code=303)
        data = build_page(app, slug, dict(request.query_params))
        if request.query_params.get("format") == "json":
            return JSONBytes(data)
        base = app.state.settings.public_url or str(request.base_url).rstrip("/")
        data["server_url"] = base
        return HTMLResponse(render_html(request, data))
