"""The ``cxlens`` command line.

Every command opens the workspace given by ``--db`` (default ``./cxlens.duckdb``, or ``$CXLENS_DB``).
Errors print one clear line (file, row, column, value, what was expected) and exit non-zero, without a
traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cxlens.errors import CxlensError, CxlensInputError
from cxlens.schema.tables import KINDS
from cxlens.workspace import Workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="cxlens",
    help="Measure customer and user experience: import signals, query metrics with honest uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "cxlens.duckdb"


def _db(ctx: typer.Context) -> Path:
    return Path(ctx.obj["db"])


def instant_range(frm: str | None, to: str | None) -> dict[str, str | None] | None:
    """``{"from", "to"}`` of inclusive instants from --from/--to; a day given as ``--to`` counts to its last
    microsecond (``--to 2024-03-31`` includes the whole of March 31, UTC)."""
    if not (frm or to):
        return None
    if to and len(to) == 10:
        to = f"{to}T23:59:59.999999"
    return {"from": frm, "to": to}


def open_existing(ctx: typer.Context, *, write: bool = False) -> Workspace:
    """The --db workspace (read-only unless ``write``); a clear error (exit 2) when there is none, instead of
    answering every query from an empty in-memory workspace."""
    path = _db(ctx)
    if not path.exists():
        raise CxlensInputError(f"no workspace at {path}; import data first (cxlens import KIND FILE), "
                               "run cxlens demo --no-serve, or pass --db FILE")
    return Workspace(path, read_only=not write)


def handle_errors(fn: F) -> F:
    """Turn cxlens errors into one red line and an exit code (2 for bad input, 1 otherwise)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CxlensError as e:
            err.print(f"[bold red]error:[/] {e.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2 if e.status < 500 else 1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[str, typer.Option("--db", envvar="CXLENS_DB",
                                    help="Workspace file (DuckDB).")] = DEFAULT_DB,
) -> None:
    ctx.obj = {"db": db}


def print_json(data: Any) -> None:
    """Print JSON to stdout (plain, so it can be piped)."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                  default=str).decode() + "\n")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(f"{item!r}: expected {what}")
        k, v = item.split("=", 1)
        result[k.strip()] = v.strip()
    return result


@app.command("import")
@handle_errors
def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"Table to fill: {', '.join(KINDS)}.")],
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON Lines, JSON, Parquet or .txt files; "
                                                     "all are imported together or none is.")],
    preset: Annotated[str | None, typer.Option(help="Source format (see `cxlens presets`); "
                                               "detected from the header when omitted.")] = None,
    map_: Annotated[list[str], typer.Option("--map", help="SOURCE_COLUMN=field, repeatable.")] = [],  # noqa: B006
    set_: Annotated[list[str], typer.Option("--set", help="field=VALUE for every row, repeatable.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import files into KIND. Stops at the first bad value and stores nothing of the import."""
    mapping = _pairs(map_, "SOURCE_COLUMN=field")
    constants = _pairs(set_, "field=VALUE")
    total = sum(f.stat().st_size for f in files if f.is_file())
    with Workspace(_db(ctx)) as ws, Progress(
        TextColumn("[bold]importing[/] {task.description}"), BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=err, transient=True, disable=total < 5_000_000 or as_json,
    ) as bar:
        task = bar.add_task(", ".join(f.name for f in files)[:60], total=total)
        report = ws.import_file(kind, files, preset=preset, mapping=mapping or None,
                                constants=constants or None,
                                progress=lambda n: bar.advance(task, n))
    if as_json:
        print_json(report.to_dict())
    else:
        out.print(f"[green]✓[/] {report}", highlight=False)


@app.command()
@handle_errors
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"persons": n, "events": n, ...}.')] = False,
) -> None:
    """Rows per table in the workspace."""
    path = _db(ctx)
    if not path.exists():
        counts = dict.fromkeys(KINDS, 0)
    else:
        with Workspace(path, read_only=True) as ws:
            counts = ws.info()
    if as_json:
        print_json(counts)
        return
    t = Table(title=f"cxlens workspace {path}")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for k, n in counts.items():
        t.add_row(k, f"{n:,}")
    out.print(t)


@app.command()
@handle_errors
def query(
    ctx: typer.Context,
    q: Annotated[str, typer.Argument(help="A query object as JSON, or a file holding one.")],
) -> None:
    """Run a query object and print the result as JSON, e.g. '{"kind": "count", "by": ["event"]}'."""
    source = q
    if not q.lstrip().startswith("{") and Path(q).is_file():
        source = Path(q).read_text(encoding="utf-8")
    try:
        obj = json.loads(source)
    except json.JSONDecodeError as e:
        err.print(f"[bold red]error:[/] the query is not valid JSON: {e}")
        raise typer.Exit(2) from None
    with open_existing(ctx) as ws:
        print_json(ws.query(obj))


@app.command()
@handle_errors
def presets(kind: Annotated[str | None, typer.Argument(help="Only presets for this kind.")] = None) -> None:
    """List the import presets (known source formats) and what they read."""
    from cxlens.ingest.presets import PRESETS

    t = Table(title="import presets")
    for c in ("preset", "kind", "reads"):
        t.add_column(c)
    for p in PRESETS.values():
        if kind is None or p.kind == kind:
            t.add_row(p.name, p.kind, p.description)
    t.add_row("generic", kind or "any", "columns named as the canonical fields, or mapped with --map "
              "SOURCE=field / --set field=VALUE (the default when no preset matches the header)")
    out.print(t)


@app.command()
@handle_errors
def demo(
    ctx: typer.Context,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the dashboard and API afterwards "
                                        "(default); --no-serve only loads the data and exits.")] = True,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the workspace file first.")] = False,
    host: Annotated[str, typer.Option(help="Address the demo server binds to (no key checks: keep it "
                                      "local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the demo server.")] = 8000,
) -> None:
    """Load the bundled demo data (real public samples) into a fresh workspace, print a summary and serve it."""
    from cxlens.datasets import load_demo

    path = _db(ctx)
    if reset and path.exists():
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    with Workspace(path) as ws:
        loaded = any(ws.info().values())
        if loaded and not serve:
            err.print(f"[yellow]{path} already holds data; the demo loads into an empty workspace. "
                      f"Use --reset to rebuild it, or --db NEW_FILE.[/]")
            raise typer.Exit(2)
        reports = [] if loaded else load_demo(ws, progress=lambda name: err.print(f"  loading {name} …"))
        counts = ws.info()
        if serve:
            from cxlens.api.surveys import SurveyDefinition, SurveyStore

            surveys = SurveyStore(ws.store)
            if not any(s["id"] == "nps-demo" for s in surveys.list()):
                surveys.create(SurveyDefinition(
                    id="nps-demo", question_type="nps", once_per_days=0,
                    question="How likely are you to recommend us to a friend or colleague?",
                    follow_up="What is the main reason for your score?"))
    t = Table(title=f"cxlens demo workspace: {path}")
    for c in ("table", "rows", "source"):
        t.add_column(c)
    sources: dict[str, str] = {}
    for r in reports:
        sources[r.kind] = ", ".join(filter(None, [sources.get(r.kind), r.preset]))
    for k, n in counts.items():
        if n:
            t.add_row(k, f"{n:,}", sources.get(k, ""))
    out.print(t)
    example = '{"kind": "count", "table": "events", "by": ["event"]}'
    out.print(f"Try: cxlens --db {path} query '{example}'", highlight=False)
    if serve:
        from cxlens.cli.web import serve_app

        snippet = (f'\nwidget: <script src="http://{host}:{port}/widget.js" data-survey="nps-demo" async>'
                   "</script>")
        serve_app(path, host, port, auth="none", cors="*", banner=snippet)


def main() -> None:
    """Entry point of the ``cxlens`` script."""
    app()


# commands defined in sibling modules register themselves on `app`
from cxlens.cli import behaviour, lifetime, metrics, text, voice, web  # noqa: E402,F401

if __name__ == "__main__":
    main()
