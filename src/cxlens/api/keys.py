"""API keys with scopes, stored hashed in the workspace table ``_cxlens_api_keys`` (migration 3).

A key is ``cxk_<prefix>_<secret>``: 8 random hex characters shown in listings plus 32 random bytes. Only the
SHA-256 of the whole token is stored. A slow password hash (PBKDF2, bcrypt) protects low-entropy passwords;
for a 256-bit random token SHA-256 is already infeasible to invert, and it keeps per-request checks cheap.

Scopes: ``ingest`` (send data: the widget, SDKs), ``read`` (queries and the dashboard), ``admin`` (everything,
including survey definitions and keys).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa

from cxlens.errors import CxlensInputError, NotFoundError
from cxlens.store.base import Store

__all__ = ["SCOPES", "ApiKey", "KeyRing", "hash_token"]

Scope = Literal["ingest", "read", "admin"]
SCOPES: tuple[str, ...] = ("ingest", "read", "admin")
_TABLE = "_cxlens_api_keys"


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a key token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the token itself)."""

    key_id: str
    prefix: str
    scope: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """Whether this key grants ``scope`` (``admin`` grants everything)."""
        return self.revoked_at is None and (self.scope == scope or self.scope == "admin")

    def to_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "prefix": self.prefix, "scope": self.scope, "name": self.name,
                "created_at": self.created_at.isoformat(),
                "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat()}


class KeyRing:
    """Create, list, revoke and check keys; keeps an in-memory map hash -> key, refreshed on change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._by_hash: dict[str, ApiKey] = {}
        self.reload()

    def reload(self) -> None:
        """Read the key table again."""
        rows = self.store.execute(f'SELECT * FROM "{_TABLE}"').to_pylist()
        with self._lock:
            self._by_hash = {r["hash"]: ApiKey(r["key_id"], r["prefix"], r["scope"], r["name"],
                                               r["created_at"], r["revoked_at"]) for r in rows}

    def create(self, scope: str, name: str | None = None) -> tuple[str, ApiKey]:
        """Make a key; returns ``(token, key)``. The token is shown once and cannot be recovered."""
        if scope not in SCOPES:
            raise CxlensInputError(f"unknown scope {scope!r}; scopes: {', '.join(SCOPES)}", field="scope")
        prefix = secrets.token_hex(4)
        token = f"cxk_{prefix}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC).replace(tzinfo=None)
        key = ApiKey(f"key_{prefix}", prefix, scope, name, now)
        row = pa.table({"key_id": [key.key_id], "prefix": [prefix], "hash": [hash_token(token)],
                        "scope": [scope], "name": pa.array([name], pa.string()),
                        "created_at": pa.array([now], pa.timestamp("us")),
                        "revoked_at": pa.array([None], pa.timestamp("us"))})
        self.store.append_internal(_TABLE, row)
        self.reload()
        return token, key

    def list(self) -> list[ApiKey]:
        """Every key, oldest first."""
        with self._lock:
            return sorted(self._by_hash.values(), key=lambda k: k.created_at)

    def revoke(self, key_id_or_prefix: str) -> ApiKey:
        """Revoke a key by id (``key_…``) or prefix; it stops working at once."""
        match = [k for k in self.list() if key_id_or_prefix in (k.key_id, k.prefix)]
        if not match:
            raise NotFoundError(f"no key {key_id_or_prefix!r}; see `cxlens keys list`", key=key_id_or_prefix)
        with self.store.transaction():
            self.store.connection.execute(  # type: ignore[attr-defined]
                f'UPDATE "{_TABLE}" SET revoked_at = now()::TIMESTAMP WHERE key_id = ? AND revoked_at IS NULL',
                [match[0].key_id])
        self.reload()
        return next(k for k in self.list() if k.key_id == match[0].key_id)

    def check(self, token: str | None) -> ApiKey | None:
        """The key of ``token`` when it exists and is not revoked, else ``None``."""
        if not token:
            return None
        with self._lock:
            key = self._by_hash.get(hash_token(token))
        return key if key is not None and key.revoked_at is None else None
