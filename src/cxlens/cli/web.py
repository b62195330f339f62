"""CLI commands of the web app: ``cxlens serve``, ``cxlens keys create|list|revoke``, ``cxlens report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cxlens.cli.main import _db, app, err, handle_errors, open_existing, out, print_json
from cxlens.errors import CxlensInputError
from cxlens.workspace import Workspace

__all__ = ["serve_app"]

keys_app = typer.Typer(help="API keys with scopes (ingest, read, admin); stored hashed in the workspace.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def serve_app(db: Path, host: str, port: int, *, auth: str | None = None, cors: str | None = None,
              log_level: str = "warning", banner: str = "") -> None:
    """Start uvicorn on ``db`` (blocks until Ctrl-C)."""
    import uvicorn
    from pydantic import ValidationError

    from cxlens.api import Settings, create_app

    overrides: dict[str, Any] = {"db": str(db), "host": host, "port": port}
    if auth:
        overrides["auth"] = auth
    if cors is not None:
        overrides["cors_origins"] = cors
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise CxlensInputError(f"invalid server setting {name} (CXLENS_{name.upper()}): {first['msg']} "
                               f"(got {first.get('input')!r})", field=name) from None
    application = create_app(settings)
    url = f"http://{host}:{port}/"
    out.print(f"[bold]cxlens[/] serving {db} at [link={url}]{url}[/link]  "
              f"(auth: {settings.auth}; Ctrl-C stops){banner}", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(envvar="CXLENS_HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CXLENS_PORT", help="Port to listen on.")] = 8000,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="No key checks (local demos on 127.0.0.1 "
                                          "only).")] = False,
    cors: Annotated[str | None, typer.Option(help="Comma-separated origins allowed to call the API "
                                             "(sites embedding the widget); default $CXLENS_CORS_ORIGINS.")] = None,
) -> None:
    """Serve the HTTP API, the survey widget (/widget.js) and the dashboard on the workspace."""
    if no_auth and host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[bold red]error:[/] --no-auth is only allowed on 127.0.0.1/localhost")
        raise typer.Exit(2)
    serve_app(_db(ctx), host, port, auth="none" if no_auth else None, cors=cors)


def _key_table(rows: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title)
    for c in ("key_id", "prefix", "scope", "name", "created_at", "revoked_at"):
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(r.get(c) or "")[:16].replace("T", " ") if c.endswith("_at") else str(r.get(c) or "")
                    for c in ("key_id", "prefix", "scope", "name", "created_at", "revoked_at")])
    return t


@keys_app.command("create")
@handle_errors
def keys_create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="ingest (widget, SDKs), read (queries, dashboard) or admin.")],
    name: Annotated[str | None, typer.Option(help="A label, e.g. 'website widget'.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key (with its token) as JSON.")] = False,
) -> None:
    """Create an API key. The token is printed once; only its hash is stored."""
    from cxlens.api.keys import KeyRing

    with Workspace(_db(ctx)) as ws:
        token, key = KeyRing(ws.store).create(scope, name)
    if as_json:
        print_json({**key.to_dict(), "token": token})
        return
    out.print(_key_table([key.to_dict()], "new API key"))
    out.print(f"token (shown once, store it now): [bold]{token}[/]", highlight=False, soft_wrap=True)


@keys_app.command("list")
@handle_errors
def keys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False,
) -> None:
    """List API keys (prefix, scope, name; tokens are never stored)."""
    from cxlens.api.keys import KeyRing

    path = _db(ctx)
    rows: list[dict[str, Any]] = []
    if path.exists():  # a mistyped --db lists no keys instead of creating an empty workspace
        with Workspace(path) as ws:
            rows = [k.to_dict() for k in KeyRing(ws.store).list()]
    if as_json:
        print_json(rows)
    else:
        out.print(_key_table(rows, "API keys"))


@keys_app.command("revoke")
@handle_errors
def keys_revoke(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id (key_…) or prefix.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the revoked key as JSON.")] = False,
) -> None:
    """Revoke an API key; it stops working at once (a running server: use DELETE /api/keys/{id})."""
    from cxlens.api.keys import KeyRing

    with Workspace(_db(ctx)) as ws:
        k = KeyRing(ws.store).revoke(key).to_dict()
    if as_json:
        print_json(k)
    else:
        out.print(_key_table([k], "revoked"))


@app.command()
@handle_errors
def report(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    date_from: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    segment: Annotated[str | None, typer.Option(help="KEY=VALUE filter applied to every page.")] = None,
    by: Annotated[str | None, typer.Option(help="Split survey and SUS charts by this column.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {path, bytes, pages} as JSON.")] = False,
) -> None:
    """Export every dashboard page into one self-contained HTML file (charts and styles inlined)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from cxlens.api import Settings, create_app
    from cxlens.web import PAGES
    from cxlens.web.report import write_report

    path = _db(ctx)
    ws = open_existing(ctx)
    params = {k: v for k, v in (("from", date_from), ("to", date_to), ("segment", segment), ("by", by)) if v}
    with ws, Progress(SpinnerColumn(), TextColumn("building report …"), console=err, transient=True,
                      disable=as_json):
        application = create_app(Settings(db=str(path), auth="none"), workspace=ws)
        try:
            size = write_report(application, out_path, params, source=str(path))
        finally:
            application.state.writer.close()
    if as_json:
        print_json({"path": str(out_path), "bytes": size, "pages": list(PAGES)})
    else:
        out.print(f"[green]✓[/] wrote {out_path} ({size / 1e6:.1f} MB, {len(PAGES)} pages: "
                  f"{', '.join(PAGES)})", highlight=False)
