"""The HTTP API: ``create_app(settings)`` builds the FastAPI application (API, widget, dashboard).

Routes
------
``POST /api/{kind}``      batch ingest (JSON array or NDJSON, gzip accepted), scope ``ingest``
``POST /api/query``       a query object exactly as ``ws.query`` takes it, scope ``read``
``GET|POST /api/surveys``  survey definitions (list: ``read``; create: ``admin``); ``GET /api/surveys/{id}``
                          also with ``ingest`` (the widget reads its survey)
``GET /api/keys`` ...     key management, scope ``admin``
``GET /api/health``       liveness and data version, no key
``GET /api/openapi.json`` the OpenAPI schema; ``/api/docs`` renders it
``GET /widget.js``        the survey widget; dashboard pages under ``/`` (see :mod:`cxlens.web`)
"""

from __future__ import annotations

import gc
import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

import cxlens
from cxlens.api.auth import authorize
from cxlens.api.body import read_body
from cxlens.api.cache import QueryCache
from cxlens.api.errors import JSONBytes, install_error_handlers
from cxlens.api.ingest import IngestShortcut, ingest_batch
from cxlens.api.keys import KeyRing
from cxlens.api.settings import Settings
from cxlens.api.surveys import SurveyDefinition, SurveyStore
from cxlens.api.writer import IngestWriter
from cxlens.errors import CxlensInputError
from cxlens.query import QUERY_KINDS
from cxlens.schema.tables import KINDS
from cxlens.workspace import Workspace

__all__ = ["create_app"]

_ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}},
}
_ERRORS = {str(s): {"description": d, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
           for s, d in ((400, "bad input"), (401, "no or unknown key"), (403, "key lacks the scope"),
                        (404, "not found"), (413, "body too large"), (422, "invalid data"))}


class IngestResult(BaseModel):
    """What an ingest call stored (durably: the batch was synced to the ingest log before this answer, and
    every later query sees it)."""

    kind: str
    rows: int = Field(description="rows written")


class KeyCreate(BaseModel):
    """A key to create."""

    scope: str = Field(description="ingest, read or admin")
    name: str | None = None


def _record_schema(kind: str) -> dict[str, Any]:
    from cxlens.schema.tables import table

    t = table(kind)
    types = {"string": "string", "int": "integer", "float": "number", "bool": "boolean",
             "timestamp": "string", "json": "object"}
    props: dict[str, Any] = {}
    for c in t.columns:
        props[c.name] = {"type": types[c.type], "description": c.description or c.type}
    return {"type": "object", "properties": props, "additionalProperties": True}


def create_app(settings: Settings | None = None, *, workspace: Workspace | None = None) -> FastAPI:
    """Build the web app.

    Parameters
    ----------
    settings:
        Server settings (default: from ``CXLENS_*`` environment variables).
    workspace:
        An open workspace to serve instead of opening ``settings.db`` (tests, embedding). The app closes
        only a workspace it opened itself.
    """
    settings = settings or Settings()
    own = workspace is None
    if workspace is None:
        from cxlens.store.duckdb import DuckDBStore

        # DuckDB sizes its pool by the machine's cores; a server pinned to fewer (taskset, cgroup cpusets)
        # would only pay for thread hand-offs, so the default follows the cores this process may run on
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        threads = settings.threads or cores
        workspace = Workspace(settings.db, store=DuckDBStore(settings.db, threads=threads))
    ws = workspace
    cache = QueryCache(ws, settings.cache_entries)
    writer = IngestWriter(ws, flush_rows=settings.flush_rows, flush_ms=settings.flush_ms, on_commit=cache.bump)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        # the app's modules, schemas and caches live as long as the process: move them out of the cyclic
        # collector's view, or every full collection (frequent under ingest: each request builds a hundred
        # dicts) walks them all again (~6% of the ingest core, measured with perf)
        gc.collect()
        gc.freeze()
        yield
        writer.close()
        if own:
            ws.close()

    app = FastAPI(title="cxlens", version=cxlens.__version__ if hasattr(cxlens, "__version__") else "0",
                  description="Ingest CX/UX signals, query metrics with intervals, survey widget and dashboard.",
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
                  default_response_class=JSONBytes, lifespan=lifespan)
    app.state.settings = settings
    app.state.ws = ws
    app.state.cache = cache
    app.state.writer = writer
    app.state.keys = KeyRing(ws.store)
    app.state.surveys = SurveyStore(ws.store)
    install_error_handlers(app)
    app.add_middleware(IngestShortcut)  # added before CORS, so inside it: ingest answers get CORS headers
    if settings.origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-Api-Key", "Content-Type", "Content-Encoding"],
                           max_age=600)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Liveness, the data version (bumped by every write) and the registered query kinds."""
        return {"status": "ok", "data_version": cache.version, "query_kinds": sorted(QUERY_KINDS),
                "kinds": list(KINDS), "writer": dict(writer.stats),
                "ingest_log": writer.status()}

    query_schema, query_defs = _query_schemas()

    @app.post("/api/query", tags=["query"], responses=_ERRORS, openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": query_schema}}}})
    async def query(request: Request) -> Any:
        """Run a query object (``{"kind": ..., ...}``), exactly as ``Workspace.query`` takes it."""
        authorize(request, "read", allow_cookie=True)
        body = await read_body(request, settings.max_body_bytes)
        import orjson

        try:
            q = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise CxlensInputError(f"the query is not valid JSON: {e}", field="body") from None
        if not isinstance(q, dict):
            raise CxlensInputError(f"a query is a JSON object with a 'kind', not a JSON {type(q).__name__}",
                                   field="body")
        return await run_in_threadpool(cache.query, q)

    @app.get("/api/surveys", tags=["surveys"], responses=_ERRORS)
    def list_surveys(request: Request) -> list[dict[str, Any]]:
        """Every survey definition."""
        authorize(request, "read", allow_cookie=True)
        return app.state.surveys.list()

    def admin_only(request: Request) -> None:
        """Checked before the body is parsed, so a caller without the scope learns nothing about it."""
        authorize(request, "admin")

    @app.post("/api/surveys", tags=["surveys"], status_code=201, responses={**_ERRORS, "409": _ERRORS["400"]},
              dependencies=[Depends(admin_only)])
    def create_survey(survey: SurveyDefinition) -> dict[str, Any]:
        """Store a survey definition for the widget (scope ``admin``)."""
        out = app.state.surveys.create(survey)
        cache.bump()
        return out

    @app.get("/api/surveys/{survey_id}", tags=["surveys"], responses=_ERRORS)
    def get_survey(request: Request, survey_id: str) -> dict[str, Any]:
        """One survey definition (the widget reads it with its ``ingest`` key)."""
        authorize(request, "ingest", "read", allow_cookie=True)
        return app.state.surveys.get(survey_id)

    @app.get("/api/keys", tags=["keys"], responses=_ERRORS)
    def list_keys(request: Request) -> list[dict[str, Any]]:
        """Every key (prefix and scope; tokens are never stored)."""
        authorize(request, "admin")
        return [k.to_dict() for k in app.state.keys.list()]

    @app.post("/api/keys", tags=["keys"], status_code=201, responses=_ERRORS, dependencies=[Depends(admin_only)])
    def create_key(body: KeyCreate) -> dict[str, Any]:
        """Create a key; the token is in this answer only."""
        token, key = app.state.keys.create(body.scope, body.name)
        return {**key.to_dict(), "token": token}

    @app.delete("/api/keys/{key_id}", tags=["keys"], responses=_ERRORS)
    def revoke_key(request: Request, key_id: str) -> dict[str, Any]:
        """Revoke a key by id or prefix."""
        authorize(request, "admin")
        return app.state.keys.revoke(key_id).to_dict()

    ingest_body = {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}, "minItems": 1}},
        "application/x-ndjson": {"schema": {"type": "string"}}}}

    @app.post("/api/{kind}", tags=["ingest"], response_model=IngestResult, responses=_ERRORS,
              openapi_extra={"requestBody": ingest_body})
    async def ingest(request: Request, kind: str) -> Any:
        """Append a batch of records of ``kind`` (events, responses, tickets, reviews, transactions,
        sessions, tasks, persons, accounts). Validated like a file import; all or nothing per request; the
        answer comes once the rows are durable (synced to the ingest log), and every later query sees them."""
        return await ingest_batch(request, kind)  # IngestShortcut answers these before FastAPI routes them

    from cxlens.web.views import install_web

    install_web(app)
    _with_components(app, query_defs)
    return app


def _query_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """``oneOf`` the registered query models, with their definitions as OpenAPI components."""
    models = list({id(k.model): k.model for k in QUERY_KINDS.values()}.values())
    refs, top = models_json_schema([(m, "validation") for m in models],
                                   ref_template="#/components/schemas/{model}")
    return {"oneOf": [refs[(m, "validation")] for m in models]}, top.get("$defs", {})


def _with_components(app: FastAPI, defs: dict[str, Any]) -> None:
    """Add the query models' schemas to the generated OpenAPI document."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = plain()
            comps = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in defs.items():
                comps.setdefault(name, schema)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
