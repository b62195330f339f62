"""CLI for text analytics: ``cxlens sentiment``, ``cxlens themes``, ``cxlens taxonomy ...``, ``cxlens eval text``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxlens.cli.main import _db, app, handle_errors, out, print_json
from cxlens.errors import CxlensInputError
from cxlens.workspace import Workspace

__all__ = ["eval_app", "taxonomy_app"]

taxonomy_app = typer.Typer(help="User-editable theme taxonomies (keywords, patterns, example sentences).",
                           no_args_is_help=True)
eval_app = typer.Typer(help="Accuracy of cxlens models on public labelled data.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(eval_app, name="eval")

SourceOpt = Annotated[str, typer.Option("--source", "-s", help="responses, tickets or reviews.")]
ByOpt = Annotated[list[str], typer.Option("--by", help="Column or property to split by.")]
PeriodOpt = Annotated[str | None, typer.Option(help="day, week, month, quarter or year.")]
QuestionOpt = Annotated[list[str], typer.Option("--question", "-q", help="Question id(s) (responses).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _open(ctx: typer.Context, write: bool = True) -> Workspace:
    path = _db(ctx)
    if not path.exists():
        return Workspace(None)
    return Workspace(path, read_only=not write)


@contextmanager
def _progress(what: str) -> Iterator[None]:
    """A bar for the work a text query reports (scoring n texts, finding themes), on a terminal only."""
    from cxlens.text.progress import progress_hook

    with Progress(TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, disable=not out.is_terminal) as prog:
        task = prog.add_task(what, total=None)

        def hook(stage: str, done: int, total: int) -> None:
            prog.update(task, description=stage, completed=done, total=total)

        with progress_hook(hook):
            yield


@app.command("sentiment", help="Sentiment of responses, tickets or reviews per group and period (VADER, "
                               "TF-IDF or embedding model); scores are stored with the text.")
@handle_errors
def sentiment_cmd(
    ctx: typer.Context,
    source: SourceOpt = "responses",
    method: Annotated[str, typer.Option("--method", "-m", help="vader, tfidf or embedding.")] = "vader",
    by: ByOpt = [],  # noqa: B006
    period: PeriodOpt = None,
    question: QuestionOpt = [],  # noqa: B006
    examples: Annotated[int, typer.Option(help="Most negative/positive texts to show per group.")] = 0,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not cache scores in the workspace.")] = False,
    as_json: JsonOpt = False,
) -> None:
    q: dict[str, Any] = {"kind": "sentiment", "source": source, "method": method, "by": by, "period": period,
                         "question": question or None, "examples": examples, "store": not no_store}
    with _open(ctx, write=not no_store) as ws, _progress(f"reading {source}"):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    t = Table(title=f"Sentiment of {source} ({res['method']}, {res['version']}; 95% intervals)")
    for c in [*res["by"], "n", "mean score", "interval", "positive", "neutral", "negative", "net"]:
        t.add_column(c, justify="left" if c in res["by"] else "right")
    for r in res["rows"]:
        t.add_row(*[str(r.get(b)) for b in res["by"]], f"{r['n']:,}", f"{r['mean_score']:+.3f}",
                  "–" if r["ci_low"] is None else f"{r['ci_low']:+.3f} … {r['ci_high']:+.3f}",
                  f"{100 * r['share_positive']:.1f}%", f"{100 * r['neutral'] / r['n']:.1f}%",
                  f"{100 * r['share_negative']:.1f}%", f"{r['net_sentiment']:+.1f}")
    out.print(t)
    for r in res["rows"] if examples else []:
        head = " / ".join(str(r.get(b)) for b in res["by"]) or "all"
        for kind in ("most_negative", "most_positive"):
            for text in r.get(kind, []):
                out.print(f"[dim]{head} {kind.replace('_', ' ')}:[/] {text[:200]}", highlight=False)


@app.command("themes", help="Themes in open text (NMF, or a stored taxonomy with --taxonomy): label, size, share, "
                            "quotes, sentiment, trend; --compare nps shows what detractors talk about.")
@handle_errors
def themes_cmd(
    ctx: typer.Context,
    source: SourceOpt = "responses",
    n: Annotated[int, typer.Option("--n", "-n", help="Number of themes to discover.")] = 8,
    taxonomy: Annotated[str | None, typer.Option(help="Name of a stored taxonomy.")] = None,
    method_themes: Annotated[str, typer.Option("--method", help="nmf (TF-IDF) or embedding (k-means on "
                                                                "MiniLM embeddings).")] = "nmf",
    question: QuestionOpt = [],  # noqa: B006
    period: PeriodOpt = None,
    compare: Annotated[str | None, typer.Option(help="nps, sentiment, or a column whose first two values "
                                                     "are compared.")] = None,
    theme: Annotated[list[str], typer.Option("--theme", help="Only these themes.")] = [],  # noqa: B006
    quotes: Annotated[int, typer.Option(help="Quotes per theme.")] = 2,
    method: Annotated[str, typer.Option("--sentiment-method", help="vader, tfidf or embedding.")] = "vader",
    as_json: JsonOpt = False,
) -> None:
    q: dict[str, Any] = {"kind": "themes", "source": source, "n_themes": n, "taxonomy": taxonomy,
                         "method": method_themes,
                         "question": question or None, "period": period, "compare": compare,
                         "theme": theme or None, "quotes": quotes, "sentiment_method": method}
    with _open(ctx) as ws, _progress(f"reading {source}"):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    t = Table(title=f"Themes in {res['n']:,} texts of {source} ({res['method']})")
    for c in ("theme", "size", "share", "sentiment", "% negative", "quote"):
        t.add_column(c, justify="left" if c in ("theme", "quote") else "right", overflow="fold")
    for r in res["themes"]:
        ms = r.get("mean_sentiment")
        sn = r.get("share_negative")
        t.add_row(r["theme"], f"{r['size']:,}", f"{100 * r['share']:.1f}%", "–" if ms is None else f"{ms:+.2f}",
                  "–" if sn is None else f"{100 * sn:.0f}%", (r["quotes"][0][:90] if r["quotes"] else ""))
    out.print(t)
    if "comparison" in res:
        c = res["comparison"]
        a, b = c["compare"]
        ct = Table(title=f"Theme share, {a} (n={c['groups'][a]:,}) vs {b} (n={c['groups'][b]:,}); "
                         f"p adjusted ({c['correction']})")
        for col in ("theme", a, b, "difference", "interval", "p (adj.)"):
            ct.add_column(col, justify="left" if col == "theme" else "right")
        for r in c["rows"]:
            ct.add_row(r["label"], f"{100 * r['shares'][a]:.1f}%", f"{100 * r['shares'][b]:.1f}%",
                       f"{100 * r['difference']:+.1f} pts", f"{100 * r['ci_low']:+.1f} … {100 * r['ci_high']:+.1f}",
                       f"{r['p_value_adjusted']:.3g}{' *' if r['significant'] else ''}")
        out.print(ct)
        out.print("* significant after correction for multiple comparisons")


@taxonomy_app.command("add", help="Store (or replace) a taxonomy from a JSON or YAML file.")
@handle_errors
def taxonomy_add(ctx: typer.Context,
                 file: Annotated[Path, typer.Argument(help="Taxonomy file (.json, .yaml).")]) -> None:
    from cxlens.text.storage import save_taxonomy
    from cxlens.text.taxonomy import load_taxonomy_file

    tax = load_taxonomy_file(file)
    with Workspace(_db(ctx)) as ws:
        k = save_taxonomy(ws.store, tax)
    out.print(f"stored taxonomy [bold]{tax.name}[/] with {k} themes in {_db(ctx)}")


@taxonomy_app.command("list", help="Taxonomies stored in the workspace.")
@handle_errors
def taxonomy_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    from cxlens.text.storage import list_taxonomies

    with _open(ctx, write=False) as ws:
        rows = list_taxonomies(ws.store)
    if as_json:
        print_json(rows)
        return
    t = Table(title="taxonomies")
    for c in ("name", "themes", "updated_at"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["name"], str(r["themes"]), str(r["updated_at"]))
    out.print(t)


@taxonomy_app.command("show", help="Print a stored taxonomy (JSON; --yaml for YAML), e.g. to edit and re-add it.")
@handle_errors
def taxonomy_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Taxonomy name.")],
                  yaml_out: Annotated[bool, typer.Option("--yaml", help="YAML instead of JSON.")] = False) -> None:
    from cxlens.text.storage import load_taxonomy

    with _open(ctx, write=False) as ws:
        tax = load_taxonomy(ws.store, name)
    if yaml_out:
        import yaml

        typer.echo(yaml.safe_dump(tax.to_dict(), sort_keys=False, allow_unicode=True))
    else:
        print_json(tax.to_dict())


@taxonomy_app.command("apply", help="Classify texts with a taxonomy file (multi-label), without a workspace.")
@handle_errors
def taxonomy_apply(file: Annotated[Path, typer.Argument(help="Taxonomy file (.json, .yaml).")],
                   texts: Annotated[list[str], typer.Argument(help="Texts to classify.")],
                   as_json: JsonOpt = False) -> None:
    from cxlens.text.taxonomy import load_taxonomy_file

    tax = load_taxonomy_file(file)
    labels = tax.labels(texts)
    if as_json:
        print_json([{"text": t, "themes": lab} for t, lab in zip(texts, labels, strict=True)])
        return
    t = Table(title=f"taxonomy {tax.name}")
    t.add_column("text", overflow="fold")
    t.add_column("themes")
    for text, lab in zip(texts, labels, strict=True):
        t.add_row(text, ", ".join(lab) or "–")
    out.print(t)


def _default_shared() -> Path:
    env = os.environ.get("CXLENS_SHARED_DATA")
    return Path(env) if env else Path("../shared/data")


@eval_app.command("text", help="Accuracy of the text models on the shared labelled sets (VADER tweets, UCI "
                               "sentences, NHS FFT topics and sentiment, Maalej reviews, Bitext intents).")
@handle_errors
def eval_text(
    shared: Annotated[Path | None, typer.Option(help="The shared data folder (default ../shared/data or "
                                                     "$CXLENS_SHARED_DATA).")] = None,
    only: Annotated[list[str], typer.Option("--only", help="vader, uci, fft, maalej or bitext.")] = [],  # noqa: B006
    no_embeddings: Annotated[bool, typer.Option("--no-embeddings", help="Skip the embedding models.")] = False,
    retrain: Annotated[bool, typer.Option("--retrain", help="First retrain the bundled heads "
                                                            "(src/cxlens/text/heads).")] = False,
    as_json: JsonOpt = False,
) -> None:
    from cxlens.cli.text_eval import render_eval
    from cxlens.text.evaluate import STAGES, evaluate

    folder = shared or _default_shared()
    if unknown := [s for s in only if s not in STAGES]:
        raise CxlensInputError(f"--only {', '.join(map(repr, unknown))}: unknown set; sets: {', '.join(STAGES)}")
    if retrain:
        from cxlens.text.train import train_all

        train_all(embeddings=False if no_embeddings else None, log=lambda m: out.print(f"[dim]{m}[/]"))
    stages = [s for s in STAGES if not only or s in only]
    with Progress(TextColumn("[bold]eval[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, disable=not out.is_terminal) as prog:
        task = prog.add_task("", total=len(stages))
        seen: list[str] = []

        def stage(name: str) -> None:
            if seen:
                prog.advance(task)
            seen.append(name)
            prog.update(task, description=name)

        res = evaluate(folder, embeddings=False if no_embeddings else None, only=only or None, on_stage=stage)
        prog.advance(task)
    if as_json:
        print_json(res)
        return
    render_eval(res)
