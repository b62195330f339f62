"""``POST /api/{kind}``: batch ingest, also served by a plain ASGI shortcut in front of FastAPI.

The route is declared in FastAPI (OpenAPI document, docs, schemathesis) and both it and the shortcut run
:func:`ingest_batch`, so there is one handler. The shortcut exists because this is the one hot route: a
request that reaches it skips FastAPI's match over every route (the dashboard pages included), dependency
solving and the exception middleware. It sits inside the CORS middleware, so cross-origin answers keep their
headers, and turns a :class:`~cxlens.errors.CxlensError` into the same answer the app's handler gives;
anything else propagates to the server-error middleware (a 500 in the one shape), as from a route.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from cxlens.api.auth import authorize
from cxlens.api.body import parse_records, read_body
from cxlens.api.errors import JSONBytes, error_response
from cxlens.errors import CxlensError, NotFoundError
from cxlens.schema.tables import KINDS

__all__ = ["IngestShortcut", "ingest_batch"]

_PREFIX = "/api/"


async def ingest_batch(request: Request, kind: str) -> JSONBytes:
    """Parse, queue and await one batch of ``kind``; the answer is sent once the batch is durable (synced to
    the ingest log; persons and accounts: committed)."""
    if kind not in KINDS:
        raise NotFoundError(f"no ingest endpoint for {kind!r}; kinds: {', '.join(KINDS)}", kind=kind,
                            valid_kinds=list(KINDS))
    state = request.app.state
    authorize(request, "ingest")
    body = await read_body(request, state.settings.max_body_bytes)
    data = parse_records(body, request.headers.get("content-type", ""))
    n = await asyncio.wrap_future(state.writer.submit(kind, data))
    return JSONBytes({"kind": kind, "rows": n})


class IngestShortcut:
    """ASGI middleware answering ``POST /api/<kind>`` itself; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = _kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await ingest_batch(Request(scope, receive), kind)
        except CxlensError as e:
            response = error_response(e)
        await response(scope, receive, send)


def _kind(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root: Any = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root):]
    if not path.startswith(_PREFIX):
        return None
    kind = path[len(_PREFIX):]
    return kind if kind in KINDS else None
