"""One JSON error shape for every error the server returns: ``{"error": {"code", "message", "details"}}``.

cxlens errors use :meth:`cxlens.errors.CxlensError.to_dict`; HTTP errors (401/403/404/405/413), request
validation errors (422, naming each field and reason) and unexpected exceptions (500) get the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxlens.errors import CxlensError

__all__ = ["ApiError", "JSONBytes", "error_body", "error_response", "install_error_handlers"]

log = logging.getLogger("cxlens.api")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
          422: "invalid_request", 429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


class ApiError(CxlensError):
    """An HTTP-level error raised by the API itself (auth, body size, media type)."""

    def __init__(self, status: int, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.status = status
        self.code = code or _CODES.get(status, "error")


def error_body(status: int, message: str, code: str | None = None, **details: Any) -> dict[str, Any]:
    """The error shape for ``status``."""
    return {"error": {"code": code or _CODES.get(status, "error"), "message": message, "details": details}}


def error_response(e: CxlensError) -> JSONBytes:
    """The answer to a cxlens error: its status, the one shape, and a Bearer challenge on 401."""
    headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
    return JSONBytes(e.to_dict(), status_code=e.status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(x) for x in loc if x not in ("body",)]
    return ".".join(parts) or "body"


def _unknown_ingest_path(request: Request) -> bool:
    """``/api/<name>`` where ``<name>`` is neither an ingest kind nor a route of its own."""
    from cxlens.schema.tables import KINDS

    parts = request.url.path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "api" or parts[1] in KINDS:
        return False
    literal = {getattr(r, "path", "") for r in request.app.routes if "{" not in getattr(r, "path", "{")}
    return request.url.path.rstrip("/") not in literal


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one shape."""

    @app.exception_handler(CxlensError)
    async def _cxlens(request: Request, e: CxlensError) -> JSONBytes:
        return error_response(e)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONBytes:
        msg = e.detail if isinstance(e.detail, str) else str(e.detail)
        if e.status_code == 404 and msg == "Not Found":
            msg = f"no route {request.method} {request.url.path}"
        elif e.status_code == 405 and _unknown_ingest_path(request):
            # only the catch-all POST /api/{kind} matched: for an unknown kind that is no resource at all
            e = StarletteHTTPException(404)
            msg = f"no route {request.method} {request.url.path}"
        elif e.status_code == 405:
            msg = f"method {request.method} is not allowed on {request.url.path}"
        return JSONBytes(error_body(e.status_code, msg, path=request.url.path), status_code=e.status_code,
                              headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONBytes:
        errors = [{"field": _field(err.get("loc", ())), "reason": err.get("msg", "invalid")} for err in e.errors()]
        msg = "; ".join(f"{x['field']}: {x['reason']}" for x in errors[:5]) or "invalid request"
        return JSONBytes(error_body(422, msg, errors=errors), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONBytes:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONBytes(error_body(500, f"internal error ({type(e).__name__}); see the server log"),
                              status_code=500)


class JSONBytes(JSONResponse):
    """A JSON response rendered with orjson (dates as ISO strings, numpy scalars as numbers)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
