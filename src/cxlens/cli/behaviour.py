"""CLI commands for behavioural analytics on events: ``cxlens funnel|retention|trends|paths|lifecycle|stickiness``
and UX measures ``cxlens event-tasks|latency|conversion``.

Every command takes simple flags (``cxlens funnel --step pageview --step signup --window 7d``) or a whole
query object (``--query file.json`` or inline JSON, which the flags then cannot change), prints a readable
table, or the query result with ``--json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cxlens.cli.main import app, err, handle_errors, open_existing, out, print_json
from cxlens.errors import CxlensInputError

__all__: list[str] = []

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|second|m|min|minute|h|hour|d|day|w|week|mo|month)s?\s*$", re.I)
_UNITS = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day", "w": "week",
          "mo": "month"}

QueryOpt = Annotated[str | None, typer.Option("--query", help="A query object as JSON, or a .json file holding "
                                                               "one (replaces the other flags).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Start (ISO date or instant).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="End (ISO date or instant, inclusive).")]
TzOpt = Annotated[str, typer.Option("--timezone", help="IANA time zone of periods and naive dates.")]
IntervalOpt = Annotated[str, typer.Option("--interval", help="hour, day, week or month.")]


def duration(text: str, option: str = "--window") -> dict[str, Any]:
    """``"7d"`` -> ``{"value": 7, "unit": "day"}``.

    Parameters
    ----------
    text : str
        A number and a unit: s, m(in), h, d, w, mo (or the full names).
    option : str
        Option name for the error message.

    Returns
    -------
    dict
    """
    m = _DURATION.match(text)
    if not m:
        raise CxlensInputError(f"{option} {text!r}: expected a number and a unit such as 30m, 12h, 7d, 2w or 1mo")
    unit = m.group(2).lower()
    return {"value": int(m.group(1)), "unit": _UNITS.get(unit, unit)}


def _load_query(text: str | None, kind: str) -> dict[str, Any] | None:
    if text is None:
        return None
    raw = text
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise CxlensInputError(f"--query {text!r}: not a JSON object and no such file")
        raw = path.read_text(encoding="utf-8")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise CxlensInputError(f"--query: not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise CxlensInputError("--query: expected a JSON object")
    obj.setdefault("kind", kind)
    if obj["kind"] != kind:
        raise CxlensInputError(f"--query has kind {obj['kind']!r}; this command runs {kind!r} queries")
    return obj


def _run(ctx: typer.Context, q: dict[str, Any], as_json: bool = False) -> dict[str, Any] | None:
    """Run ``q`` on the --db workspace; with ``as_json`` print the result and return None (nothing to draw)."""
    with open_existing(ctx) as ws, err.status(f"running {q['kind']} …"):
        res = ws.query(q)
    if as_json:
        print_json(res)
        return None
    return res


def _activity_query(kind: str, event: str | None, interval: str, frm: str | None, to: str | None,
                    timezone: str) -> dict[str, Any]:
    """The lifecycle / stickiness query the flags describe."""
    q: dict[str, Any] = {"kind": kind, "event": {"event": event}, "interval": interval, "timezone": timezone}
    if (dr := _date_range(frm, to, ("date_from", "date_to"))) is not None:
        q["date_range"] = dr
    return q


def _date_range(frm: str | None, to: str | None, keys: tuple[str, str] = ("from", "to")) -> dict[str, Any] | None:
    if frm is None and to is None:
        return None
    return {k: v for k, v in zip(keys, (frm, to), strict=True) if v is not None}


def _secs(v: float | None) -> str:
    if v is None:
        return "–"
    if v < 120:
        return f"{v:.0f} s"
    if v < 7200:
        return f"{v / 60:.1f} min"
    if v < 172_800:
        return f"{v / 3600:.1f} h"
    return f"{v / 86_400:.1f} d"


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "–"


def _ci(r: dict[str, Any] | None, fmt: str = "{:.1%}") -> tuple[str, str]:
    if not r or r.get("estimate") is None:
        return "–", "–"
    lo, hi = r.get("ci_low"), r.get("ci_high")
    interval = "–" if lo is None or hi is None else f"{fmt.format(lo)} … {fmt.format(hi)}"
    return fmt.format(r["estimate"]), interval


@app.command("funnel", help="Conversion funnel through ordered steps: counts, conversion and drop-off per step.")
@handle_errors
def funnel_cmd(
    ctx: typer.Context,
    step: Annotated[list[str], typer.Option("--step", "-s", help="An event name (repeat, in order).")] = [],  # noqa: B006
    window: Annotated[str, typer.Option(help="Conversion window, e.g. 30m, 12h, 7d, 2w.")] = "14d",
    order: Annotated[str, typer.Option(help="ordered, strict or unordered.")] = "ordered",
    breakdown: Annotated[str | None, typer.Option(help="Event property to split by.")] = None,
    frm: FromOpt = None,
    to: ToOpt = None,
    timezone: TzOpt = "UTC",
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "funnel")
    if q is None:
        if len(step) < 1:
            raise CxlensInputError("give the steps with --step EVENT (repeat it) or a --query")
        q = {"kind": "funnel", "steps": [{"event": s} for s in step], "order": order,
             "conversion_window": duration(window), "timezone": timezone}
        if breakdown:
            q["breakdown"] = {"properties": [breakdown]}
        if (dr := _date_range(frm, to)) is not None:
            q["date_range"] = dr
    if (res := _run(ctx, q, as_json)) is None:
        return
    out.print(_funnel_table(res["steps"], "funnel"))
    for b in res.get("breakdowns", []):
        out.print(_funnel_table(b["steps"], " / ".join(b["breakdown_value"]) or "(none)"))


def _funnel_table(steps: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title)
    for c in ("#", "step", "persons", "conversion", "from previous", "drop-off", "avg time", "median time"):
        t.add_column(c, justify="left" if c == "step" else "right")
    first = steps[0]["count"] if steps else 0
    prev = first
    for i, s in enumerate(steps):
        t.add_row(str(i + 1), str(s["name"]), f"{s['count']:,}", _pct(s["count"], first),
                  _pct(s["count"], prev) if i else "", f"{prev - s['count']:,}" if i else "",
                  _secs(s.get("average_conversion_time")), _secs(s.get("median_conversion_time")))
        prev = s["count"]
    return t


@app.command("retention", help="Cohort retention triangle: cohorts by period of a target event, returns after.")
@handle_errors
def retention_cmd(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(help="Event that puts a person in a cohort (default any).")] = None,
    returning: Annotated[str | None, typer.Option(help="Event that counts as a return (default: target).")] = None,
    period: Annotated[str, typer.Option(help="hour, day, week or month.")] = "week",
    intervals: Annotated[int, typer.Option(help="Number of periods when --from is not given.")] = 8,
    mode: Annotated[str, typer.Option(help="recurring, first_time or first_ever.")] = "first_time",
    cumulative: Annotated[bool, typer.Option(help="Count returns in that period or later.")] = False,
    frm: FromOpt = None,
    to: ToOpt = None,
    timezone: TzOpt = "UTC",
    week_start: Annotated[str, typer.Option(help="sunday or monday (weeks start on Sunday by default, as in "
                                                 "the query and in PostHog).")] = "sunday",
    counts: Annotated[bool, typer.Option("--counts", help="Show counts instead of percentages.")] = False,
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "retention")
    if q is None:
        q = {"kind": "retention", "target": {"event": target}, "period": period, "total_intervals": intervals,
             "mode": mode, "cumulative": cumulative, "timezone": timezone, "week_start": week_start}
        if returning:
            q["returning"] = {"event": returning}
        if (dr := _date_range(frm, to, ("date_from", "date_to"))) is not None:
            q["date_range"] = dr
    if (res := _run(ctx, q, as_json)) is None:
        return
    tables = {"": res["rows"]} if "rows" in res else res.get("breakdowns", {})
    for label, rows in tables.items():
        t = Table(title=f"retention by {q.get('period', 'day')}" + (f": {label}" if label else ""))
        t.add_column("cohort")
        t.add_column("persons", justify="right")
        for j in range(len(rows)):
            t.add_column(str(j), justify="right")
        for d, row in zip(res["row_dates"], rows, strict=False):
            size = row[0]
            cells = [f"{c:,}" if counts else _pct(c, size) for c in row]
            t.add_row(d[:16].replace("T00:00", ""), f"{size:,}", *cells)
        out.print(t)


@app.command("trends", help="Events, unique persons or a property's sum/average per hour, day, week or month.")
@handle_errors
def trends_cmd(
    ctx: typer.Context,
    event: Annotated[list[str], typer.Option("--event", "-e", help="Event name (repeat for more series).")] = [],  # noqa: B006
    math: Annotated[str, typer.Option(help="total, unique, sum, avg, min or max.")] = "total",
    prop: Annotated[str | None, typer.Option("--property", help="Numeric property for sum/avg/min/max.")] = None,
    interval: IntervalOpt = "day",
    breakdown: Annotated[str | None, typer.Option(help="Event property to split by.")] = None,
    frm: FromOpt = None,
    to: ToOpt = None,
    timezone: TzOpt = "UTC",
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "trends")
    if q is None:
        names: list[str | None] = list(event) or [None]
        q = {"kind": "trends", "interval": interval, "timezone": timezone,
             "series": [{"event": e, "math": math, "math_property": prop} for e in names]}
        if breakdown:
            q["breakdown"] = {"property": breakdown}
        if (dr := _date_range(frm, to, ("date_from", "date_to"))) is not None:
            q["date_range"] = dr
    if (res := _run(ctx, q, as_json)) is None:
        return
    t = Table(title=f"trends per {res['interval']}")
    t.add_column("period")
    for s in res["series"]:
        label = s["name"] + (f" [{s['breakdown_value'] or '(none)'}]" if "breakdown_value" in s else "")
        t.add_column(label, justify="right")
    for i, d in enumerate(res["dates"]):
        t.add_row(d[:16].replace("T00:00", ""), *[_num(s["data"][i]) for s in res["series"]])
    t.add_row("total", *[_num(s["aggregated"]) for s in res["series"]], style="bold")
    out.print(t)


def _num(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:,}" if isinstance(v, int) else f"{v:,.2f}"


@app.command("paths", help="What persons do after (--start) or before (--end) an event: top paths as links.")
@handle_errors
def paths_cmd(
    ctx: typer.Context,
    start: Annotated[str | None, typer.Option(help="Paths starting at this event.")] = None,
    end: Annotated[str | None, typer.Option(help="Paths ending at this event.")] = None,
    depth: Annotated[int, typer.Option(help="Number of steps of each path.")] = 4,
    item_property: Annotated[str | None, typer.Option(help="Use this property (e.g. the page) as the item.")] = None,
    limit: Annotated[int, typer.Option(help="Links to show.")] = 20,
    frm: FromOpt = None,
    to: ToOpt = None,
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "paths")
    if q is None:
        q = {"kind": "paths", "start_point": start, "end_point": end, "step_limit": depth, "edge_limit": limit,
             "item_property": item_property}
        if (dr := _date_range(frm, to)) is not None:
            q["date_range"] = dr
    if (res := _run(ctx, q, as_json)) is None:
        return
    t = Table(title=f"top paths ({res['actors']:,} persons)")
    for c in ("from", "to", "persons"):
        t.add_column(c, justify="right" if c == "persons" else "left")
    for link in res["links"]:
        t.add_row(link["source"], link["target"], f"{link['value']:,}")
    out.print(t)
    side = "next" if "next" in res else "previous"
    if res.get(side):
        out.print(f"{side}: " + ", ".join(f"{x['item']} ({x['count']:,})" for x in res[side][:10]))


@app.command("lifecycle", help="Active persons per period as new, returning and resurrecting, and dormant.")
@handle_errors
def lifecycle_cmd(
    ctx: typer.Context,
    event: Annotated[str | None, typer.Option(help="Event that makes a person active (default any).")] = None,
    interval: IntervalOpt = "week",
    frm: FromOpt = None,
    to: ToOpt = None,
    timezone: TzOpt = "UTC",
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "lifecycle") or _activity_query("lifecycle", event, interval, frm, to, timezone)
    if (res := _run(ctx, q, as_json)) is None:
        return
    t = Table(title=f"lifecycle per {res['interval']}")
    for c in ("period", "new", "returning", "resurrecting", "dormant"):
        t.add_column(c, justify="left" if c == "period" else "right")
    for i, d in enumerate(res["dates"]):
        t.add_row(d[:16].replace("T00:00", ""), *[f"{res[s][i]:,}" for s in ("new", "returning", "resurrecting",
                                                                              "dormant")])
    out.print(t)


@app.command("stickiness", help="Persons by the number of periods (days, weeks, ...) in which they were active.")
@handle_errors
def stickiness_cmd(
    ctx: typer.Context,
    event: Annotated[str | None, typer.Option(help="Event that makes a person active (default any).")] = None,
    interval: IntervalOpt = "day",
    frm: FromOpt = None,
    to: ToOpt = None,
    timezone: TzOpt = "UTC",
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "stickiness") or _activity_query("stickiness", event, interval, frm, to, timezone)
    if (res := _run(ctx, q, as_json)) is None:
        return
    t = Table(title=f"stickiness: {res['actors']:,} persons over {res['periods']} {res['interval']}s")
    for c in (f"active {res['interval']}s", "persons", "share", "this many or more"):
        t.add_column(c, justify="right")
    for k, (n, p, c) in enumerate(zip(res["data"], res["percent"], res["cumulative"], strict=True)):
        if n or k == 0:
            t.add_row(str(k + 1), f"{n:,}", f"{100 * p:.1f}%", f"{c:,}")
    out.print(t)


@app.command("event-tasks", help="Task success, abandonment, time on task, clicks and errors from events.")
@handle_errors
def event_tasks_cmd(
    ctx: typer.Context,
    start: Annotated[str | None, typer.Option(help="Event starting an attempt.")] = None,
    success: Annotated[str | None, typer.Option(help="Event completing it.")] = None,
    error: Annotated[str | None, typer.Option(help="Error event.")] = None,
    abandon: Annotated[str | None, typer.Option(help="Explicit abandon event.")] = None,
    timeout: Annotated[str | None, typer.Option(help="Abandoned after this long, e.g. 30m.")] = None,
    breakdown: Annotated[str | None, typer.Option(help="Property of the start event to split by.")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "event_tasks")
    if q is None:
        if not start or not success:
            raise CxlensInputError("give --start EVENT and --success EVENT (or a --query)")
        q = {"kind": "event_tasks", "start": {"event": start}, "success": {"event": success},
             "confidence": confidence}
        for k, v in (("error", error), ("abandon", abandon)):
            if v:
                q[k] = {"event": v}
        if timeout:
            q["timeout"] = duration(timeout, "--timeout")
        if breakdown:
            q["breakdown"] = {"property": breakdown}
    if (res := _run(ctx, q, as_json)) is None:
        return
    for r in res["rows"]:
        title = f"task {q['start']['event']} → {q['success']['event']}" + \
            (f" [{r['breakdown_value'] or '(none)'}]" if "breakdown_value" in r else "")
        t = Table(title=f"{title}: {r['attempts']:,} attempts, {r['open']:,} still open")
        for c in ("metric", "estimate", "interval", "n", "method"):
            t.add_column(c, justify="left" if c in ("metric", "method") else "right")
        for label, key, fmt in (("success rate", "success_rate", "{:.1%}"),
                                ("abandonment rate", "abandonment_rate", "{:.1%}"),
                                ("error rate", "error_rate", "{:.1%}"),
                                ("errors per attempt", "errors_per_attempt", "{:.2f}"),
                                ("time on task (s)", "time_on_task", "{:.1f}"),
                                ("clicks to completion (mean)", "clicks_mean", "{:.1f}"),
                                ("clicks to completion (median)", "clicks_median", "{:.1f}")):
            m = r.get(key)
            est, ci = _ci(m, fmt)
            t.add_row(label, est, ci, f"{m['n']:,}" if m else "0", m["method"] if m else "")
        out.print(t)


@app.command("latency", help="Percentiles (p50/p75/p95/p99) of a numeric event property by page, with intervals.")
@handle_errors
def latency_cmd(
    ctx: typer.Context,
    prop: Annotated[str | None, typer.Option("--property", help="Numeric property, e.g. load_ms.")] = None,
    event: Annotated[str, typer.Option(help="Event carrying it.")] = "$pageview",
    by: Annotated[list[str], typer.Option("--by", help="Property to group by, e.g. the page.")] = [],  # noqa: B006
    percentile: Annotated[list[float], typer.Option("--percentile", "-p", help="Repeat; default 50 75 95 99.")] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(help="Groups to show (largest first).")] = 20,
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "latency")
    if q is None:
        if not prop:
            raise CxlensInputError("give --property NAME (the numeric property) or a --query")
        q = {"kind": "latency", "event": {"event": event}, "property": prop, "by": by, "limit": limit}
        if percentile:
            q["percentiles"] = percentile
    if (res := _run(ctx, q, as_json)) is None:
        return
    pcts = [k for k in (res["rows"][0] if res["rows"] else {}) if re.fullmatch(r"p[\d.]+", k)]
    t = Table(title=f"{res['property']} percentiles (95% order-statistic intervals)")
    for c in [*q.get("by", []), "n", "mean", *pcts]:
        t.add_column(c, justify="left" if c in q.get("by", []) else "right")
    for r in res["rows"]:
        cells = [str(r[b]) for b in q.get("by", [])] + [f"{r['n']:,}", f"{r['mean']:,.1f}"]
        for p in pcts:
            est, ci = _ci(r[p], "{:,.0f}")
            cells.append(f"{est} ({ci})")
        t.add_row(*cells)
    out.print(t)


@app.command("conversion", help="Conversion rate of a boolean column (e.g. sessions.converted) by group.")
@handle_errors
def conversion_cmd(
    ctx: typer.Context,
    table: Annotated[str, typer.Option(help="Table.")] = "sessions",
    column: Annotated[str, typer.Option(help="Boolean column or property.")] = "converted",
    by: Annotated[list[str], typer.Option("--by", help="Column or property to group by.")] = [],  # noqa: B006
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    query: QueryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    q = _load_query(query, "conversion")
    if q is None:
        q = {"kind": "conversion", "table": table, "column": column, "by": by, "confidence": confidence}
    if (res := _run(ctx, q, as_json)) is None:
        return
    t = Table(title=f"{res['table']}.{res['column']} conversion ({int(q.get('confidence', 0.95) * 100)}% "
                    "adjusted-Wald intervals)")
    for c in [*res["by"], "n", "converted", "rate", "interval"]:
        t.add_column(c, justify="left" if c in res["by"] else "right")
    for r in res["rows"]:
        est, ci = _ci(r["rate"], "{:.2%}")
        t.add_row(*[str(r[b]) for b in res["by"]], f"{r['n']:,}", f"{r['successes']:,}", est, ci)
    out.print(t)
