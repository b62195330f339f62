"""Settings of the web app, read from the environment (prefix ``CXLENS_``) or passed to ``create_app``.

Every field has a description; the README's settings table lists each one (a test checks it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Server settings; ``CXLENS_<NAME>`` environment variables override the defaults."""

    model_config = SettingsConfigDict(env_prefix="CXLENS_", extra="ignore")

    db: str = Field("cxlens.duckdb", description="Workspace file (DuckDB) the server opens for writing.")
    host: str = Field("127.0.0.1", description="Address `cxlens serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `cxlens serve` listens on.")
    auth: Literal["keys", "none"] = Field(
        "keys", description="`keys`: every API call needs a key with the right scope and the dashboard a "
        "login with a read key; `none`: no checks at all (local demos on 127.0.0.1 only).")
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed to call the API from a browser (the sites that "
        "embed the widget), e.g. `https://shop.example.com,https://app.example.com`; `*` allows any.")
    max_body_bytes: int = Field(8_000_000, ge=1024, description="Largest accepted request body (after "
                                "gzip decompression); larger ones get 413.")
    flush_rows: int = Field(10_000, ge=1, description="The writer commits its buffer once it holds this "
                            "many rows ...")
    flush_ms: float = Field(5.0, ge=0, description="... or once its oldest waiting batch is this many "
                            "milliseconds old. A request is answered after the commit holding its rows.")
    threads: int = Field(0, ge=0, description="DuckDB worker threads of the server's workspace (0: one per core "
                         "this process may run on).")
    cache_entries: int = Field(512, ge=0, description="Query results kept in memory (keyed on the canonical "
                               "query JSON and the data version, which every write bumps).")
    cookie_secure: bool = Field(False, description="Mark the dashboard login cookie `Secure` (set it when "
                                "serving over HTTPS).")
    public_url: str = Field("", description="URL under which browsers reach this server, used in the widget "
                            "embed snippet; default: the URL of the request.")

    @property
    def origins(self) -> list[str]:
        """The CORS origins as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
