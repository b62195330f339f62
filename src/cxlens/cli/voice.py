"""CLI commands for the voice of the customer: ``cxlens tickets``, ``cxlens reviews``, ``cxlens drivers``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxlens.cli.main import app, err, handle_errors, instant_range, open_existing, out, print_json
from cxlens.workspace import Workspace

__all__: list[str] = []


def _open(ctx: typer.Context) -> Workspace:
    return open_existing(ctx)


@contextmanager
def _working(what: str):  # type: ignore[no-untyped-def]
    """A progress bar on stderr (stdout stays clean for --json) while a long query runs."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(pulse_style="cyan"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        bar.add_task(what, total=None)
        yield


def _pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def _num(v: Any, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def _cut(s: Any, width: int = 60) -> str:
    s = "–" if s is None else str(s)
    return s if len(s) <= width else s[: width - 1] + "…"


# -- tickets -----------------------------------------------------------------------------------------------

@app.command(help="Support-log mining: volume and share by product/issue/channel, spikes per period, "
                  "timely-response rate, resolution time, recurring complaint clusters, intent routing.")
@handle_errors
def tickets(
    ctx: typer.Context,
    by: Annotated[list[str], typer.Option("--by", help="Column or property to group by (product, "
                                                        "sub_product, category, channel, company, ...).")] = [],  # noqa: B006
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year: trend and spikes.")] = None,
    clusters: Annotated[bool, typer.Option("--clusters", help="Group near-duplicate complaints.")] = False,
    intents: Annotated[bool, typer.Option("--intents", help="Route messages to intents (cxlens.text).")] = False,
    threshold: Annotated[float, typer.Option(help="Cosine similarity that links two complaints.")] = 0.5,
    top: Annotated[int, typer.Option(help="Largest groups shown.")] = 15,
    since: Annotated[str | None, typer.Option("--from", "--since", help="Only tickets opened on or after this "
                                              "day or instant.")] = None,
    until: Annotated[str | None, typer.Option("--to", "--until", help="Only tickets opened on or before this "
                                              "day (whole day) or instant.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Support-log mining over the tickets table."""
    include = ["volume", "timely", "resolution"] + (["trend"] if period else []) + \
        (["clusters"] if clusters else []) + (["intents"] if intents else [])
    q: dict[str, Any] = {"kind": "tickets", "by": by or ["product"], "period": period, "include": include,
                         "top": top, "cluster_threshold": threshold}
    if since or until:
        q["date_range"] = instant_range(since, until)
    with _open(ctx) as ws, _working("mining tickets"):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    keys = res["by"]
    span = f" opened {res['first']} … {res['last']}" if res.get("first") is not None else ""
    out.print(f"[bold]{res['total']:,} tickets[/]{span}")
    if res.get("volume"):
        t = Table(title="Volume (share with 95% interval)", box=box.SIMPLE_HEAD)
        for c in keys:
            t.add_column(c, overflow="fold", max_width=60)
        for c in ("tickets", "share", "interval", *(["per 1k active"] if res.get("active_persons") else [])):
            t.add_column(c, justify="right")
        for r in res["volume"]:
            cells = [_cut(r[k]) for k in keys] + [f"{r['count']:,}", _pct(r["share"]),
                                                    f"{_pct(r['share_ci_low'])} … {_pct(r['share_ci_high'])}"]
            if res.get("active_persons"):
                cells.append(_num(r.get("per_1000_active"), ".1f"))
            t.add_row(*cells)
        out.print(t)
    if "spikes" in res:
        t = Table(title=f"Spikes ({res['spike_test']})", box=box.SIMPLE_HEAD)
        for c in [*keys, "period", "tickets", "previous", "rate ratio", "p (adj.)"]:
            t.add_column(c, justify="left" if c in keys else "right", max_width=50)
        for r in res["spikes"][:top]:
            t.add_row(*[_cut(r[k], 50) for k in keys], str(r["period"]), f"{r['count']:,}",
                      f"{r['previous_count']:,}", _num(r["rate_ratio"], ".1f"), f"{r['p_value_adjusted']:.2g}")
        out.print(t if res["spikes"] else "No significant spikes.")
    if res.get("timely") and res["timely"]["n"]:
        tm = res["timely"]
        out.print(f"Timely responses: [bold]{_pct(tm['rate'])}[/] ({tm['timely']:,} of {tm['n']:,}; 95% CI "
                  f"{_pct(tm['ci_low'])} … {_pct(tm['ci_high'])}, {tm['method']})")
        if tm["responses"]:
            out.print("Company responses: " + ", ".join(f"{r['response']} {r['count']:,}"
                                                       for r in tm["responses"][:6]))
    for label, key in (("Time to close", "to_close"), ("Time to first response", "to_first_response")):
        d = (res.get("resolution") or {}).get(key)
        if d:
            out.print(f"{label}: median [bold]{d['median_hours']:.1f} h[/] (95% CI {_num(d['ci_low'], '.1f')} … "
                      f"{_num(d['ci_high'], '.1f')} h), n = {d['n']:,}")
    if "clusters" in res:
        cl = res["clusters"]
        out.print(f"[bold]Recurring clusters[/]: {cl['clusters']} clusters of ≥ {cl['min_size']} near-duplicates "
                  f"cover {cl['clustered_texts']} of {cl['texts']:,} texts (cosine ≥ {cl['threshold']})")
        for c in cl["rows"]:
            out.print(f" #{c['cluster']} [bold]{c['count']}[/] complaints, {c['first_seen']} … {c['last_seen']}, "
                      f"{c['distinct_texts']} distinct, {_cut(c.get('top_category'), 50)}; terms: "
                      f"{', '.join(c['top_terms'])}")
            for ex in c["examples"][:2]:
                out.print(f"    “{_cut(ex, 160)}”", highlight=False)
    if "intents" in res:
        t = Table(title=f"Intents of {res['intents']['texts']:,} messages")
        for c in ("category", "intent", "messages", "share", "mean confidence"):
            t.add_column(c, justify="right" if c in ("messages", "share", "mean confidence") else "left")
        for r in res["intents"]["rows"][:top]:
            t.add_row(str(r["category"]), str(r["intent"]), f"{r['count']:,}", _pct(r["share"]),
                      _num(r["mean_confidence"]))
        out.print(t)
    for note in res["notes"]:
        out.print(f"[dim]note: {note}[/]")


# -- reviews -----------------------------------------------------------------------------------------------

@app.command(help="Review analytics: star distribution, mean stars and share of 4-5 stars with intervals per "
                  "app / version / period, change tests (--compare) and review classes (--classify).")
@handle_errors
def reviews(
    ctx: typer.Context,
    by: Annotated[list[str], typer.Option("--by", help="app, version, source or any property.")] = [],  # noqa: B006
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year.")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Test each period against the previous one.")] = False,
    classify: Annotated[bool, typer.Option("--classify", help="Bug report / feature request / praise / "
                                                              "user experience shares.")] = False,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Star ratings and review classes."""
    q: dict[str, Any] = {"kind": "reviews", "by": by, "period": period, "confidence": confidence,
                         "classify": classify}
    if compare:
        q["compare"] = "previous_period"
    with _open(ctx) as ws, _working("reading reviews" + (" and classifying" if classify else "")):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    t = Table(title=f"Star ratings ({int(confidence * 100)}% intervals)", box=box.SIMPLE_HEAD)
    cols = [*by, *(["period"] if period else []), "n", "1★", "2★", "3★", "4★", "5★", "mean", "interval",
            "4-5★", "interval "]
    if compare:
        cols += ["Δ mean", "sig."]
    for c in cols:
        t.add_column(c, justify="left" if c in by else "right")
    for r in res["rows"]:
        cells = [_cut(r.get(b), 40) for b in by] + ([str(r["period"])] if period else [])
        cells += [f"{r['n']:,}", *[f"{r['stars'][k]:,}" for k in "12345"], _num(r["mean"]),
                  f"{_num(r['mean_ci_low'])} … {_num(r['mean_ci_high'])}", _pct(r["top2_share"]),
                  f"{_pct(r['top2_ci_low'])} … {_pct(r['top2_ci_high'])}"]
        if compare:
            cells += [_num(r.get("mean_change"), "+.2f"), "*" if r.get("significant") else ""]
        t.add_row(*cells)
    out.print(t)
    if compare:
        out.print(f"* {res['test']}")
    if "classes" in res:
        t = Table(title=f"Review classes ({res['classes']['texts']:,} reviews)")
        for c in [*by, "class", "reviews", "share", "interval"]:
            t.add_column(c, justify="right" if c in ("reviews", "share", "interval") else "left")
        for r in res["classes"]["rows"]:
            t.add_row(*[_cut(r.get(b), 40) for b in by], r["class"], f"{r['count']:,}", _pct(r["share"]),
                      f"{_pct(r['ci_low'])} … {_pct(r['ci_high'])}")
        out.print(t)


# -- drivers -----------------------------------------------------------------------------------------------

@app.command(help="Key-driver analysis: which rated attributes or themes move an outcome (NPS, CSAT, any "
                  "score). Johnson's relative weights and Shapley (LMG) shares of R² with bootstrap intervals, "
                  "and an importance x performance quadrant per driver.")
@handle_errors
def drivers(
    ctx: typer.Context,
    outcome: Annotated[str, typer.Option("--outcome", "-o", help="Question id of the outcome.")],
    driver: Annotated[list[str], typer.Option("--driver", "-d", help="Driver question id (repeat); default: "
                                                                    "all other scored questions.")] = [],  # noqa: B006
    themes: Annotated[str | None, typer.Option(help="Property of the text answers listing their themes "
                                                    "(e.g. topics).")] = None,
    survey: Annotated[str | None, typer.Option(help="Survey id.")] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    max_themes: Annotated[int, typer.Option(help="Most frequent themes kept.")] = 10,
    lower_is_better: Annotated[bool, typer.Option("--lower-is-better", help="The outcome's best answer is its "
                                                                            "lowest (e.g. NHS FFT, 1 = very "
                                                                            "good).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Key drivers of an outcome question."""
    q: dict[str, Any] = {"kind": "drivers", "outcome": outcome, "drivers": driver or None, "themes": themes,
                         "survey": survey, "n_boot": n_boot, "seed": seed, "max_themes": max_themes,
                         "higher_is_better": not lower_is_better}
    with _open(ctx) as ws, _working(f"bootstrapping {n_boot:,} resamples"):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    lo, hi = res["r2_ci"]
    out.print(f"Drivers of [bold]{res['outcome']}[/]: R² = {res['r2']:.3f} (95% CI {_num(lo, '.3f')} … "
              f"{_num(hi, '.3f')}), n = {res['n']:,} complete submissions, {res['n_boot']:,} bootstrap resamples "
              f"(seed {res['seed']})")
    t = Table(title="Importance: share of R² (95% bootstrap interval); performance 0-100", box=box.SIMPLE_HEAD)
    for c in ("#", "driver", "Shapley (95% CI)", "rel. weight", "share", "effect", "perf.", "quadrant"):
        t.add_column(c, justify="left" if c in ("driver", "quadrant", "effect") else "right",
                     min_width={"#": 2, "driver": 14, "Shapley (95% CI)": 11}.get(c), max_width=34 if c == "driver"
                     else None)
    for r in res["rows"]:
        sh, rw = r.get("shapley") or {}, r.get("relative_weight") or {}
        ci = f"{_num(sh.get('estimate'), '.3f')} ({_num(sh.get('ci_low'), '.3f')}–{_num(sh.get('ci_high'), '.3f')})" \
            if sh else "–"
        t.add_row(str(r["rank"]), r["driver"], ci, _num(rw.get("estimate"), ".3f"), _pct((sh or rw).get("share"), 0),
                  str(r.get("direction") or "–"), _num(r.get("performance"), ".0f"), str(r.get("quadrant") or "–"))
    out.print(t)
    for w in res["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")
