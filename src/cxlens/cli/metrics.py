"""CLI commands for survey and usability metrics: ``cxlens nps|csat|ces|rating|sus|tasks``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cxlens.cli.main import app, handle_errors, instant_range, open_existing, out, print_json
from cxlens.workspace import Workspace

__all__: list[str] = []


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return "–"
    if kind in ("csat", "completion"):
        return f"{100 * v:.1f}%"
    if kind in ("nps",):
        return f"{v:+.1f}"
    return f"{v:.2f}"



def _score_command(kind: str, title: str) -> None:
    @app.command(kind, help=f"{title} per group and period, with confidence intervals (and change tests "
                            "with --compare).")
    @handle_errors
    def command(
        ctx: typer.Context,
        question: Annotated[list[str], typer.Option("--question", "-q", help="Question id(s).")] = [],  # noqa: B006
        survey: Annotated[str | None, typer.Option(help="Survey id.")] = None,
        by: Annotated[list[str], typer.Option("--by", help="Column or property to split by.")] = [],  # noqa: B006
        period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year.")] = None,
        compare: Annotated[bool, typer.Option("--compare", help="Test each period against the previous "
                                                               "one (needs --period).")] = False,
        confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
        box: Annotated[list[float], typer.Option("--box", help="A score counted in the box (repeatable), e.g. "
                                                 "--box 1 --box 2 for the share answering 1-2; csat: "
                                                 "replaces the top-2 box.")] = [],  # noqa: B006
        date_from: Annotated[str | None, typer.Option("--from", help="First day or instant (UTC).")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="Last day (whole day) or instant, inclusive.")
                           ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        q: dict[str, Any] = {"kind": kind, "by": by, "period": period, "confidence": confidence,
                             "survey": survey, "question": question or None}
        if date_from or date_to:
            q["date_range"] = instant_range(date_from, date_to)
        if box:
            q["box"] = box
        if compare:
            q["compare"] = "previous_period"
        with open_existing(ctx) as ws:
            res = ws.query(q)
        if as_json:
            print_json(res)
            return
        t = Table(title=f"{title} ({int(confidence * 100)}% intervals; denominator: answered)")
        for c in [*by, *(["period"] if period else []), "n", "skipped", kind.upper(), "interval"]:
            t.add_column(c, justify="right" if c not in by else "left")
        show_box = bool(box) and kind != "csat"
        if show_box:
            t.add_column(f"share {'/'.join(f'{v:g}' for v in box)}", justify="right")
            t.add_column("share interval", justify="right")
        if compare:
            t.add_column("change", justify="right")
            t.add_column("p (adj.)", justify="right")
        for r in res["rows"]:
            cells = [str(r.get(b)) for b in by] + ([str(r["period"])] if period else [])
            cells += [f"{r['n']:,}", f"{r['skipped']:,}", _fmt(r["estimate"], kind),
                      f"{_fmt(r['ci_low'], kind)} … {_fmt(r['ci_high'], kind)}"]
            if show_box:
                b = r["box"]
                cells += [_fmt(b["share"], "csat"), f"{_fmt(b['ci_low'], 'csat')} … {_fmt(b['ci_high'], 'csat')}"]
            if compare:
                p = r.get("p_value_adjusted")
                star = " *" if r.get("significant") else ""
                cells += [_fmt(r.get("change"), kind if kind != "csat" else "csat"),
                          "–" if p is None else f"{p:.3f}{star}"]
            t.add_row(*cells)
        out.print(t)
        if compare:
            out.print("* significant after correction for multiple comparisons")
        for w in res.get("warnings", []):
            out.print(f"[yellow]warning:[/] {w}")

    command.__doc__ = f"{title} per group and period with confidence intervals."


for _kind, _title in (("nps", "Net Promoter Score"), ("csat", "CSAT (top-2-box share)"),
                      ("ces", "Customer Effort Score"), ("rating", "Mean rating")):
    _score_command(_kind, _title)


@app.command()
@handle_errors
def rollup(
    ctx: typer.Context,
    prop: Annotated[list[str], typer.Option("--property", "-p", help="Keep this JSON property of the answers in "
                                            "the score rollup (repeatable; replaces the promoted set).")] = [],  # noqa: B006
    clear: Annotated[bool, typer.Option("--clear", help="Keep no property (only the typed columns).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show the score rollup, or choose the properties it keeps so that NPS/CSAT/CES/rating by them is instant.

    The rollup is a per-day histogram of answers by survey, question, touchpoint, scale, status and score that
    every import updates; score queries on those (and on promoted properties) read it instead of every answer.
    """
    with open_existing(ctx, write=bool(prop or clear)) as ws:
        info = ws.set_rollup_properties([] if clear else prop) if (prop or clear) else ws.rollup_info()
    if as_json:
        print_json(info)
        return
    if not info["available"]:
        out.print("this store keeps no score rollup: score queries scan the answers")
        return
    out.print(f"score rollup: {info['rows']:,} rows for {info['answers']:,} answers "
              f"({info['stored_answers']:,} stored)")
    out.print(f"  dimensions: {', '.join(info['dimensions'])}")
    out.print(f"  promoted properties: {', '.join(info['properties']) or 'none'}")
    if info["answers"] and info["rows"] > info["answers"] / 4:
        out.print("[yellow]warning:[/] the rollup is more than a quarter of the answers' size: a promoted "
                  "property has many distinct values (an id?); queries gain little from it")


@app.command()
@handle_errors
def sus(
    file: Annotated[Path, typer.Argument(help="SUS answers: one row per respondent, 10 item columns "
                                              "(numbers 1-5 or labels such as 'Strongly agree').")],
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    benchmark: Annotated[float | None, typer.Option(help="Test the mean against this, e.g. 68.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score a SUS questionnaire file: mean with interval, grade, percentile, subscales."""
    with Workspace() as ws:
        ws.import_file("responses", file, preset="sus_wide")
        res = ws.query({"kind": "sus", "confidence": confidence, "benchmark": benchmark})
    if as_json:
        print_json(res)
        return
    for r in res["rows"]:
        out.print(f"SUS = [bold]{r['estimate']:.1f}[/] ({int(confidence * 100)}% CI {r['ci_low']:.1f} … "
                  f"{r['ci_high']:.1f}), n = {r['n']}, grade {r['grade']}, percentile {r['percentile']:.0f}")
        out.print(f"  sd {r['sd']:.2f}, median {r['median']:.1f}, min {r['min']:.1f}, max {r['max']:.1f}; "
                  f"usability {r['usability']['mean']:.1f}, learnability {r['learnability']['mean']:.1f}")
        for w in r["warnings"]:
            out.print(f"  [yellow]warning:[/] {w}")


@app.command()
@handle_errors
def tasks(
    file: Annotated[Path, typer.Argument(help="Task table: participant, task, completed, time, "
                                              "satisfaction, variant columns.")],
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    compare: Annotated[bool, typer.Option("--compare", help="Compare versions (variant).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Usability task metrics from a file: completion, time on task, satisfaction, per task and version."""
    with Workspace() as ws:
        ws.import_file("tasks", file)
        res = ws.query({"kind": "tasks", "confidence": confidence,
                        **({"compare": "variant"} if compare else {})})
    if as_json:
        print_json(res)
        return
    t = Table(title=f"Task metrics ({int(confidence * 100)}% intervals)")
    for c in ("task", "variant", "n", "completion", "time (s)", "satisfaction"):
        t.add_column(c, justify="right")
    for r in res["rows"]:
        def cell(m: dict[str, Any] | None, kind: str) -> str:
            if not m:
                return "–"
            return f"{_fmt(m['estimate'], kind)} ({_fmt(m['ci_low'], kind)}–{_fmt(m['ci_high'], kind)})"
        t.add_row(str(r["task"]), str(r["variant"]), str(r["attempts"]), cell(r["completion"], "completion"),
                  cell(r["time"], "time"), cell(r["satisfaction"], "sat"))
    out.print(t)
    if compare:
        out.print(_comparison_table(res["rows"]))


def _comparison_table(rows: list[dict[str, Any]]) -> Table:
    """The version tests of a tasks query: each version against the first version of the same task."""
    import math

    forms: dict[str, tuple[Any, str]] = {"completion": (lambda v: f"{100 * v:+.1f}", " pts"),
                                         "log_time": (lambda v: f"{math.exp(v):.2f}", "x"),
                                         "satisfaction": (lambda v: f"{v:+.2f}", "")}

    def test(d: dict[str, Any] | None, name: str) -> str:
        if not d:
            return "–"
        f, unit = forms[name]
        p = d["p_value_adjusted"]
        return (f"{f(d['difference'])}{unit} ({f(d['ci_low'])} … {f(d['ci_high'])})"
                + (f", p {p:.3g}" if p is not None else "") + (" *" if d["significant"] else ""))

    t = Table(title="Versions against the first version of each task (p adjusted across tests; * significant)")
    for c in ("task", "variant", "vs", "completion", "time ratio", "satisfaction"):
        t.add_column(c, justify="right")
    for r in rows:
        if "compared_with" in r:
            cmp = r.get("comparison", {})
            t.add_row(str(r["task"]), str(r["variant"]), str(r["compared_with"]),
                      *[test(cmp.get(n), n) for n in ("completion", "log_time", "satisfaction")])
    return t
