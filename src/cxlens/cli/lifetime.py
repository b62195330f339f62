"""CLI commands for customers: ``cxlens clv``, ``cxlens churn``, ``cxlens rfm``, ``cxlens customer-retention``,
``cxlens cohorts``. Each runs the query kind of the same name and prints tables (or ``--json``)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxlens.cli.main import app, err, handle_errors, open_existing, out, print_json

__all__ = ["sparkline"]

_BLOCKS = "▁▂▃▄▅▆▇█"
_STAGES = ("summary", "fit", "predict", "segments")



def sparkline(times: list[float], values: list[float | None], width: int = 40) -> str:
    """A text sparkline of a step curve (value at each of ``width`` evenly spaced times), 0 to 1 scale."""
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray([np.nan if x is None else x for x in values], dtype=np.float64)
    if t.size == 0:
        return ""
    grid = np.linspace(t.min(), t.max(), width)
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)
    levels = np.clip(np.nan_to_num(v[idx], nan=0.0), 0, 1)
    codes = np.rint(levels * (len(_BLOCKS) - 1)).astype(np.int64)
    return "".join(_BLOCKS[c] for c in codes)


def _num(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _segment_table(title: str, seg: dict[str, Any], values: list[str]) -> Table:
    t = Table(title=title)
    t.add_column("segment")
    t.add_column("customers", justify="right")
    for v in values:
        t.add_column(f"mean {v} (CI)", justify="right")
    for row in seg["segments"]:
        cells = [row["segment"], f"{row['customers']:,}"]
        for v in values:
            m = row.get(v)
            cells.append("–" if not m else f"{_num(m['mean'])} ({_num(m['ci_low'])} … {_num(m['ci_high'])})")
        t.add_row(*cells)
    return t


def _print_tests(seg: dict[str, Any], value: str) -> None:
    test = seg["tests"].get(value)
    if test:
        out.print(f"{value}: Kruskal-Wallis H = {test['statistic']:.2f}, p = {test['p_value']:.3g} "
                  f"({test['groups']} segments)")
    pairs = seg["comparisons"].get(value, [])
    sig = sorted((p for p in pairs if p.get("significant")), key=lambda p: p["p_value_adjusted"])
    out.print(f"  {len(sig)} of {len(pairs)} pairs differ in mean {value} (Welch t, Holm-corrected)")
    for p in sig[:5]:
        out.print(f"  {p['a']} − {p['b']}: {_num(p['difference'])} ({_num(p['ci_low'])} … {_num(p['ci_high'])}), "
                  f"Holm p = {p['p_value_adjusted']:.3g}")
    if len(sig) > 5:
        out.print(f"  … {len(sig) - 5} more (see --json)")


@app.command("clv")
@handle_errors
def clv(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help="bgnbd, pareto_nbd, mbgnbd, gamma_gamma or bgbb.")] = "bgnbd",
    calibration_end: Annotated[str | None, typer.Option(help="Last calibration day (default: last "
                                                              "transaction day).")] = None,
    observation_end: Annotated[str | None, typer.Option(help="End of the hold-out check.")] = None,
    unit: Annotated[str, typer.Option(help="day or week.")] = "week",
    horizon: Annotated[float, typer.Option(help="Forecast length in UNIT (BG/BB: opportunities).")] = 39,
    discount_rate: Annotated[float, typer.Option(help="Discount rate per --discount-period.")] = 0.01,
    discount_period: Annotated[str, typer.Option(help="day, week, month, quarter or year.")] = "month",
    margin: Annotated[float, typer.Option(help="Share of spend that is profit.")] = 1.0,
    by: Annotated[str | None, typer.Option(help="Segments: nps, rfm, account, role or person.<property>.")] = None,
    interval: Annotated[str, typer.Option(help="Segment intervals: t or bootstrap.")] = "t",
    customer: Annotated[str | None, typer.Option(help="Column or property naming the customer.")] = None,
    period: Annotated[str, typer.Option(help="BG/BB: opportunity period.")] = "year",
    top: Annotated[int, typer.Option(help="Customers with the highest CLV to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Fit a CLV model on the transactions: parameters, hold-out check, CLV totals and top customers."""
    from cxlens.query.lifetime_clv import clv_result
    from cxlens.query.registry import parse_query

    q = parse_query({"kind": "clv", "model": model, "calibration_end": calibration_end,
                     "observation_end": observation_end, "time_unit": unit, "horizon": horizon,
                     "discount_rate": discount_rate, "discount_period": discount_period, "margin": margin,
                     "by": by, "interval": interval, "customer": customer, "opportunity_period": period,
                     "sort": "clv", "limit": None if as_json else top})
    with open_existing(ctx) as ws, Progress(TextColumn("[bold]clv[/] {task.description}"), BarColumn(),
                                    TimeElapsedColumn(), console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("summary", total=len(_STAGES) if by else len(_STAGES) - 1)

        def tick(stage: str) -> None:
            bar.update(task, description=stage, completed=_STAGES.index(stage))

        res = clv_result(ws, q, progress=tick)  # type: ignore[arg-type]
    if as_json:
        print_json(res)
        return
    t = Table(title=f"{res['model']} parameters ({int(100 * res['confidence_level'])}% intervals), "
                    f"n = {res['n']:,.0f}, log-likelihood {res['log_likelihood']:,.2f}")
    for c in ("parameter", "estimate", "se", "interval"):
        t.add_column(c, justify="right")
    for k, v in res["params"].items():
        lo, hi = res["confidence_intervals"][k]
        t.add_row(k, f"{v:.4f}", _num(res["standard_errors"][k], 4), f"{_num(lo, 4)} … {_num(hi, 4)}")
    out.print(t)
    tot = res["totals"]
    out.print(f"customers {tot['customers']:,.0f}; expected purchases in the next {res['horizon']:g} "
              f"{res['time_unit'] if res['model'] != 'bgbb' else res['opportunity_period']}s: "
              f"{tot['expected_purchases']:,.1f}; expected alive {tot['expected_alive']:,.0f} "
              f"({_pct(tot['mean_p_alive'])}); CLV total {tot['clv']:,.2f}, mean {tot['mean_clv']:,.2f} "
              f"(margin {res['margin']:g}, discount {res['discount_rate']:g} per {res['discount_period']})",
              highlight=False)
    hold = res.get("holdout")
    if hold:
        h = Table(title=f"hold-out check: {res['calibration_end']} .. {res['observation_end']} "
                        f"({hold['duration']:.1f} {res['time_unit']}s)")
        for c in ("calibration purchases", "customers", "actual mean", "predicted mean"):
            h.add_column(c, justify="right")
        for r in hold["by_calibration_frequency"]:
            h.add_row(r["frequency"], f"{r['customers']:,}", f"{r['actual_mean']:.3f}", f"{r['predicted_mean']:.3f}")
        h.add_row("total", "", f"{hold['actual_purchases']:,.0f}", f"{hold['predicted_purchases']:,.1f}")
        out.print(h)
    c = Table(title=f"top {len(res['customers'])} customers by CLV")
    cols = [k for k in ("customer", "frequency", "recency", "T", "periods", "expected_purchases", "p_alive",
                        "expected_spend", "clv", "segment") if res["customers"] and k in res["customers"][0]]
    for k in cols:
        c.add_column(k, justify="left" if k in ("customer", "segment") else "right")
    for r in res["customers"]:
        c.add_row(*[str(r[k]) if isinstance(r[k], str) else _num(r[k]) for k in cols])
    out.print(c)
    if res.get("segments"):
        out.print(_segment_table(f"CLV and churn by {res['by']}", res["segments"],
                                 ["clv", "p_alive"] + (["active_in_holdout"] if hold else [])))
        _print_tests(res["segments"], "clv")
    for w in res["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")


@app.command("churn")
@handle_errors
def churn(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="activity (inactivity rule) or subscriptions (start/end).")] =
    "activity",
    table: Annotated[str | None, typer.Option(help="activity: transactions or events; subscriptions: the "
                                                   "table with start and end (default persons).")] = None,
    start: Annotated[str | None, typer.Option(help="subscriptions: start column or property.")] = None,
    end: Annotated[str | None, typer.Option(help="subscriptions: end column or property.")] = None,
    inactivity_days: Annotated[float, typer.Option(help="activity: longer inactivity counts as churn.")] = 90,
    min_days: Annotated[int, typer.Option(help="activity: only customers active on at least this many days "
                                               "(2 = repeat customers).")] = 1,
    unit: Annotated[str, typer.Option(help="day, week or month.")] = "day",
    at: Annotated[list[float], typer.Option("--at", help="Time (in UNIT) for the survival table, "
                                                         "repeatable.")] = [],  # noqa: B006
    by: Annotated[str | None, typer.Option(help="nps, account, role, person.<property> or a column.")] = None,
    observation_end: Annotated[str | None, typer.Option(help="End of observation.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Customer survival (Kaplan-Meier): median lifetime, survival at chosen times, log-rank by segment."""
    q: dict[str, Any] = {"kind": "churn", "source": source, "table": table, "start": start, "end": end,
                         "inactivity_days": inactivity_days, "min_active_days": min_days, "unit": unit,
                         "at": at or None, "by": by, "observation_end": observation_end}
    with open_existing(ctx) as ws, err.status("fitting Kaplan-Meier curves …", spinner="dots") if not as_json \
            else _Null():
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    curves = {"all": res["survival"], **(res["groups"] or {})}
    t = Table(title=f"survival, {int(100 * res['survival']['confidence_level'])}% CI ({res['unit']}s)")
    t.add_column("time", justify="right")
    for name in curves:
        t.add_column(name, justify="right")
    times = [row["time"] for row in res["survival"]["survival_at"]]
    for i, tm in enumerate(times):
        cells = [f"{tm:g}"]
        for km in curves.values():
            r = km["survival_at"][i]
            cells.append(f"{_pct(r['survival'])} ({_pct(r['lower'])} … {_pct(r['upper'])})")
        t.add_row(*cells)
    med = ["median"]
    for km in curves.values():
        lo, hi = km["median_ci"]
        med.append(f"{_num(km['median'])} ({_num(lo)} … {_num(hi)})")
    t.add_row(*med)
    out.print(t)
    out.print(f"{res['customers']:,} customers, {res['churned']:,} churned, {res['censored']:,} censored "
              f"(observed to {res['observation_end'] or 'the last date'})", highlight=False)
    for name, km in curves.items():
        out.print(f"{name:>12} {sparkline(km['curve']['time'], km['curve']['survival'])}  "
                  f"n = {km['n']:,}", highlight=False)
    if res.get("logrank"):
        lr = res["logrank"]
        out.print(f"{lr['test']}: chi² = {lr['test_statistic']:.2f}, df = {lr['degrees_of_freedom']}, "
                  f"p = {lr['p_value']:.3g}")
    for w in res.get("warnings", []):
        out.print(f"[yellow]warning:[/] {w}")


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


@app.command("rfm")
@handle_errors
def rfm(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="Reference day (default: last transaction day).")] = None,
    monetary: Annotated[str, typer.Option(help="total or mean spend.")] = "total",
    with_clv: Annotated[bool, typer.Option("--clv", help="Also fit BG/NBD + Gamma-Gamma and compare CLV "
                                                         "and churn by segment.")] = False,
    horizon: Annotated[float, typer.Option(help="CLV horizon in weeks.")] = 39,
    model: Annotated[str, typer.Option(help="--clv purchase model: bgnbd, mbgnbd or pareto_nbd.")] = "bgnbd",
    interval: Annotated[str, typer.Option(help="--clv segment intervals: t or bootstrap.")] = "t",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """RFM scores and segments (champions, loyal, at risk, ...); with --clv, CLV and churn per segment."""
    q = {"kind": "rfm", "as_of": as_of, "monetary": monetary, "with_clv": with_clv, "horizon": horizon,
         "clv_model": model, "interval": interval, "limit": None if as_json else 0}
    with open_existing(ctx) as ws, err.status("scoring …", spinner="dots") if not as_json else _Null():
        res = ws.query(q)
    if as_json:
        print_json(res)
        return
    t = Table(title=f"RFM segments as of {res['as_of']} ({res['n_customers']:,} customers)")
    for c in ("segment", "customers", "share", "days since last", "purchase days", f"{monetary} spend"):
        t.add_column(c, justify="left" if c == "segment" else "right")
    for s in res["segments"]:
        t.add_row(s["segment"], f"{s['customers']:,}", _pct(s["share"]), _num(s["recency_days"], 0),
                  _num(s["frequency"]), _num(s["monetary"]))
    out.print(t)
    if res.get("by_segment"):
        vals = ["clv", "p_alive"] + (["active_after_as_of"] if "active_after_as_of" in
                                     res["by_segment"]["segments"][0] else [])
        out.print(_segment_table(f"CLV and churn by RFM segment ({res['clv_model']})", res["by_segment"], vals))
        _print_tests(res["by_segment"], "clv")


@app.command("customer-retention")
@handle_errors
def customer_retention(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="day, week, month, quarter or year.")] = "month",
    window: Annotated[int, typer.Option(help="Periods a purchase keeps a customer active.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Customer retention rate (E - N) / S, churn rate and revenue retention per period."""
    with open_existing(ctx) as ws:
        res = ws.query({"kind": "customer_retention", "period": period, "active_window": window})
    if as_json:
        print_json(res)
        return
    t = Table(title=f"customer retention per {period} (active window {window})")
    for c in ("period", "S start", "E end", "N new", "retention", "churn", "strict", "net rev. ret.",
              "gross rev. ret."):
        t.add_column(c, justify="right")
    for r in res["periods"]:
        t.add_row(r["period"], f"{r['start_customers']:,}", f"{r['end_customers']:,}", f"{r['new_customers']:,}",
                  _pct(r["retention_rate"]), _pct(r["churn_rate"]), _pct(r["strict_retention_rate"]),
                  _pct(r["net_revenue_retention"]), _pct(r["gross_revenue_retention"]))
    out.print(t)
    rp = res["repeat_purchase"]
    out.print(f"repeat-purchase rate {_pct(rp['repeat_purchase_rate'])} ({rp['repeat_customers']:,} of "
              f"{rp['customers']:,}); pooled retention {_pct(res['pooled_retention_rate'])}")


@app.command("cohorts")
@handle_errors
def cohorts(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="day, week, month, quarter or year.")] = "month",
    value: Annotated[str, typer.Option(help="customers, orders, revenue, customer_retention, "
                                            "orders_per_customer, revenue_per_customer, "
                                            "revenue_retention.")] = "customer_retention",
    columns: Annotated[int, typer.Option(help="Period offsets to show.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """First-purchase cohorts by period offset (a cohort x offset matrix of VALUE)."""
    with open_existing(ctx) as ws:
        res = ws.query({"kind": "cohorts", "period": period, "value": value})
    if as_json:
        print_json(res)
        return
    m = res["matrix"]
    ratio = value in ("customer_retention", "revenue_retention")
    t = Table(title=f"{value} by first-purchase {period} cohort")
    t.add_column("cohort")
    t.add_column("size", justify="right")
    for c in m["columns"][:columns]:
        t.add_column(str(c), justify="right")
    for coh, row in zip(res["cohorts"], m["values"], strict=True):
        cells = [_pct(v) if ratio else _num(v) for v in row[:columns]]
        t.add_row(coh["cohort"], f"{coh['size']:,}", *cells)
    out.print(t)
