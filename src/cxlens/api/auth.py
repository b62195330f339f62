"""Who is calling: an API key from ``Authorization: Bearer``, ``X-Api-Key``, or the dashboard login cookie.

The cookie (set by the login form, ``SameSite=Strict``, ``HttpOnly``) is accepted only for reading (dashboard
pages and ``POST /api/query``), so a cross-site form cannot use it to write.
"""

from __future__ import annotations

from fastapi import Request

from cxlens.api.errors import ApiError
from cxlens.api.keys import ApiKey

__all__ = ["COOKIE", "authorize", "token_of"]

COOKIE = "cxlens_key"


def token_of(request: Request, allow_cookie: bool = False) -> str | None:
    """The key token sent with ``request`` (or ``None``)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    if allow_cookie:
        return request.cookies.get(COOKIE)
    return None


def authorize(request: Request, *scopes: str, allow_cookie: bool = False) -> ApiKey | None:
    """Raise 401/403 unless the caller's key grants one of ``scopes``; ``None`` when auth is off."""
    state = request.app.state
    if state.settings.auth == "none":
        return None
    token = token_of(request, allow_cookie)
    if token is None:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>' "
                       f"(a key with scope {' or '.join(scopes)}; create one with `cxlens keys create`)",
                       required_scope=list(scopes))
    key = state.keys.check(token)
    if key is None:
        raise ApiError(401, "unknown or revoked API key", required_scope=list(scopes))
    if not any(key.allows(s) for s in scopes):
        raise ApiError(403, f"key {key.prefix} has scope {key.scope!r}; this needs {' or '.join(scopes)}",
                       scope=key.scope, required_scope=list(scopes))
    return key
