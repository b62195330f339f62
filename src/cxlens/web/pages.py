"""The dashboard pages: Overview, Surveys, Behaviour, Voice, Customers, Usability.

Each page is built only from query results (``ctx.query``); kinds that are not installed yet show a
placeholder naming the kind, and appear as soon as the kind registers itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from cxlens.web.blocks import (
    bar_block,
    count_tile,
    empty_block,
    generic_block,
    heatmap_block,
    interval_block,
    score_trend_block,
    table_block,
    tile,
)
from cxlens.web.kind_blocks import (
    churn_block,
    clv_block,
    customer_retention_block,
    lifecycle_block,
    paths_block,
    reviews_block,
    rfm_block,
    sentiment_block,
    stickiness_block,
    themes_block,
    tickets_trend_block,
    trends_block,
)
from cxlens.web.registry import PageContext, register_page

__all__ = ["SCORE_LABELS"]

SCORE_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Rating"}
_PERIOD = "month"


def _score(ctx: PageContext, kind: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    q = ctx.scoped({"kind": kind, "period": _PERIOD, **extra})
    return q, ctx.query(q, scoped=False)


def _main_rating(ctx: PageContext) -> str | None:
    """The rating question with the most answers: the one the scorecard and trend show. A mean over several
    rating questions (FFT on a reversed 1-5 scale beside the ten SUS items, say) means nothing."""
    r = ctx.query(ctx.scoped({"kind": "rating", "by": ["question"]}), scoped=False)
    rows = [x for x in (r or {}).get("rows", []) if x.get("n")]
    return max(rows, key=lambda x: x["n"])["question"] if rows else None


def _score_extra(ctx: PageContext, kind: str) -> tuple[str, dict[str, Any]]:
    """Label and extra query fields of a score kind on a page (rating: its main question only)."""
    if kind != "rating":
        return SCORE_LABELS[kind], {}
    question = _main_rating(ctx)
    return (f"Rating ({question})", {"question": question}) if question else ("Rating", {})


def _later(title: str, kind: str) -> dict[str, Any]:
    return empty_block(title, f"needs the `{kind}` query kind, which is not installed in this version")


def _session_conversion(ctx: PageContext) -> dict[str, Any]:
    """Share of sessions that converted, with its interval, per value of the page's split when one is set."""
    by = [ctx.by] if ctx.by else []
    qs = ctx.scoped({"kind": "conversion", "table": "sessions", "column": "converted", "by": by})
    r = ctx.query(qs, scoped=False)
    rows = [x for x in (r or {}).get("rows", []) if x.get("n")]
    title = "Session conversion rate (95% interval)" + (f" by {ctx.by}" if by else "")
    if not rows:
        return empty_block(title, "no sessions match these filters", qs)
    rows = sorted(rows, key=lambda x: -x["n"])[:12]
    pct = [{**{b: x.get(b) for b in by}, **{k: None if x["rate"][k] is None else 100 * x["rate"][k]
                                            for k in ("estimate", "ci_low", "ci_high")}} for x in rows]
    note = (f"{sum(x['n'] for x in rows):,} sessions; {rows[0]['rate']['method']} interval; % of sessions with a "
            "conversion")
    return interval_block(title, pct, by, "converted %", all_label="all sessions", note=note, query=qs)


@register_page("overview", "Overview", 10)
def overview(ctx: PageContext) -> dict[str, Any]:
    """Scorecard of CX and UX metrics with intervals and trends."""
    tiles = []
    trends = []
    for kind in SCORE_LABELS:
        label, extra = _score_extra(ctx, kind)
        q, r = _score(ctx, kind, **extra)
        hint = None if kind == "rating" else f"no {label} answers here yet: ask with the survey widget"
        tiles.append(tile(label, r, query=q, link="/surveys#widget", digits=0 if kind == "nps" else 2, hint=hint))
        if r and r.get("rows"):
            trends.append(score_trend_block(f"{label} by {_PERIOD}", r, by=[], query=q))
    q = ctx.scoped({"kind": "sus"})
    tiles.append(tile("SUS", ctx.query(q, scoped=False), query=q, link="/usability"))
    qt = ctx.scoped({"kind": "tasks", "by": []})
    rt = ctx.query(qt, scoped=False)
    if rt and rt.get("rows"):
        row = rt["rows"][0]
        comp = row.get("completion") or {}
        tiles.append({"label": "Task completion", "value": comp.get("estimate"),
                      "text": f"{comp.get('estimate', 0) * 100:.0f}%" if comp.get("estimate") is not None else "–",
                      "query": qt, "link": "/usability"})
    volume = []
    for table, label, link in (("events", "Events", "/behaviour"), ("responses", "Survey answers", "/surveys"),
                               ("tickets", "Tickets", "/voice"), ("reviews", "Reviews", "/voice"),
                               ("sessions", "Sessions", "/behaviour"),
                               ("transactions", "Purchases", "/customers")):
        volume.append(count_tile(label, ctx.query({"kind": "count", "table": table}), link=link))
    blocks: list[dict[str, Any]] = [{"type": "tiles", "title": "Experience scores (latest month, 95% interval)",
                                     "tiles": tiles},
                                    {"type": "tiles", "title": "Signals collected", "tiles": volume}]
    blocks.extend(trends[:2])
    q = {"kind": "count", "table": "events", "by": ["event"], "limit": 10}
    blocks.append(bar_block("Top events", ctx.query(q), "event", query=q))
    return {"blocks": blocks}


@register_page("surveys", "Surveys", 20)
def surveys(ctx: PageContext) -> dict[str, Any]:
    """NPS, CSAT, CES and rating trends with interval bands, segments and flagged changes."""
    blocks: list[dict[str, Any]] = []
    by = [ctx.by] if ctx.by else []
    for kind in SCORE_LABELS:
        label, extra = _score_extra(ctx, kind)
        q, r = _score(ctx, kind, by=by, compare="previous_period", **extra)
        if r and r.get("rows"):
            blocks.append(score_trend_block(
                f"{label} by {_PERIOD}" + (f" and {ctx.by}" if by else ""), r, by=by, query=q,
                note="Shaded: 95% interval. ◆ marks a change from the previous period that is significant "
                     "after Holm correction across all periods of the chart."))
        else:
            blocks.append(empty_block(f"{label} by {_PERIOD}", f"no {label} answers match these filters", q))
    seg = ctx.by or "survey"
    for kind, label in SCORE_LABELS.items():
        # ratings per question too: each rating question has its own scale and direction
        split = [seg, "question"] if kind == "rating" and seg != "question" else [seg]
        q = ctx.scoped({"kind": kind, "by": split})
        r = ctx.query(q, scoped=False)
        if r and r.get("rows"):
            rows = sorted(r["rows"], key=lambda x: -(x.get("n") or 0))[:20]
            blocks.append(table_block(f"{label} by {' and '.join(split)}", [*split, "n", label, "low", "high"],
                                      [[*(x.get(c) for c in split), x.get("n"), x.get("estimate"), x.get("ci_low"),
                                        x.get("ci_high")] for x in rows], query=q))
    q = {"kind": "count", "table": "responses", "by": ["survey", "question_type", "status"]}
    r = ctx.query(q)
    if r:
        blocks.append(table_block("Answers by survey, type and status (denominators)",
                                  ["survey", "question_type", "status", "count"],
                                  [[x["survey"], x["question_type"], x["status"], x["count"]] for x in r["rows"]],
                                  query=q))
    return {"blocks": blocks, "snippet": True}


def _kind(ctx: PageContext, title: str, q: dict[str, Any], make: Callable[..., dict[str, Any]],
          *, scoped: bool = True) -> dict[str, Any]:
    """Run ``q`` and build its block; a placeholder naming the kind or the engine's message otherwise."""
    kind = q["kind"]
    if not ctx.has(kind):
        return _later(title, kind)
    q = ctx.scoped(q) if scoped else q
    r = ctx.query(q, scoped=False)
    if r is None:
        return empty_block(title, ctx.errors[-1]["message"], q)
    return make(title, r, q)


def _event_range(ctx: PageContext, days: int = 28) -> dict[str, Any]:
    """The page's date range, or else the last ``days`` days of the events (data from 2022 shows up, and a
    large workspace is not scanned end to end for every block)."""
    if ctx.date_from or ctx.date_to:
        return {}
    span = ctx.span("events")
    if not span:
        return {}
    last = date.fromisoformat(span[1][:10])
    first = max(date.fromisoformat(span[0][:10]), last - timedelta(days=days - 1))
    return {"date_range": {"date_from": first.isoformat(), "date_to": last.isoformat()}}


@register_page("behaviour", "Behaviour", 30)
def behaviour(ctx: PageContext) -> dict[str, Any]:
    """Funnels, retention, trends, paths, lifecycle and stickiness over product events."""
    blocks: list[dict[str, Any]] = []
    q = {"kind": "count", "table": "events", "by": ["event"], "limit": 20}
    events = ctx.query(q)
    names = [r["event"] for r in (events or {}).get("rows", []) if r.get("event")]
    rng = _event_range(ctx)
    if len(names) >= 2:
        steps = [{"event": e} for e in names[:4]]
        fr = {"date_range": {"from": rng["date_range"]["date_from"], "to": rng["date_range"]["date_to"]}} if rng else {}
        qf = ctx.scoped({"kind": "funnel", "steps": steps, "conversion_window": {"value": 14, "unit": "day"}, **fr})
        f = ctx.query(qf, scoped=False)
        if f and f.get("steps"):
            blocks.append({"type": "chart", "title": "Funnel: " + " → ".join(names[:4]), "query": qf,
                           "note": "actors reaching each step within 14 days, in order",
                           "chart": {"kind": "funnel", "x": [s["name"] for s in f["steps"]],
                                     "series": [{"name": "actors", "data": [s["count"] for s in f["steps"]]}]}})
    if names:
        rq = ctx.scoped({"kind": "retention", "target": {"event": names[0]}, "period": "week",
                         "total_intervals": 8, **_event_range(ctx, 56)})
        r = ctx.query(rq, scoped=False)
        if r and r.get("rows"):
            x = [f"week {i}" for i in range(len(r["rows"][0]))]
            vals = [[(v / row[0] * 100 if row and row[0] else None) for v in row] for row in r["rows"]]
            blocks.append(heatmap_block(f"Weekly retention of '{names[0]}' (% of cohort)", x,
                                        [d[:10] for d in r["row_dates"]], vals, query=rq))
        blocks.append(_kind(ctx, "Trends: events per day", {
            "kind": "trends", "interval": "day", **rng,
            "series": [{"event": n} for n in names[:3]] + [{"event": names[0], "math": "unique"}]}, trends_block))
        blocks.append(_kind(ctx, f"Paths from '{names[0]}'", {"kind": "paths", "start_point": names[0],
                                                               "step_limit": 4, **_paths_range(rng)}, paths_block))
        blocks.append(_kind(ctx, f"Lifecycle of '{names[0]}' actors per week", {
            "kind": "lifecycle", "event": {"event": names[0]}, "interval": "week", **rng}, lifecycle_block))
        blocks.append(_kind(ctx, f"Stickiness: days with '{names[0]}'", {
            "kind": "stickiness", "event": {"event": names[0]}, "interval": "day", **rng}, stickiness_block))
    else:
        blocks.append(empty_block("Events", "no events yet; send some to POST /api/events", q))
    blocks.append(bar_block("Events by name", events, "event", query=q))
    blocks.append(_session_conversion(ctx))
    if rng:
        d = rng["date_range"]
        blocks.insert(0, {"type": "note", "title": "Range", "message": f"Trends, paths, lifecycle, stickiness "
                          f"and the funnel cover the last 28 days of data ({d['date_from']} to {d['date_to']}); "
                          "retention the last 8 weeks. Set from/to to change it."})
    return {"blocks": blocks}


def _paths_range(rng: dict[str, Any]) -> dict[str, Any]:
    if not rng:
        return {}
    d = rng["date_range"]
    return {"date_range": {"from": d["date_from"], "to": d["date_to"] + "T23:59:59"}}


@register_page("voice", "Voice", 40)
def voice(ctx: PageContext) -> dict[str, Any]:
    """Themes, sentiment, tickets and reviews."""
    blocks: list[dict[str, Any]] = []
    blocks.append(_kind(ctx, "Themes in survey comments", {"kind": "themes", "source": "responses",
                                                            "n_themes": 8}, themes_block))
    blocks.append(_kind(ctx, "Sentiment of survey comments", {"kind": "sentiment", "source": "responses"},
                        sentiment_block))
    blocks.append(_kind(ctx, "Review sentiment per quarter (95% interval)", {
        "kind": "sentiment", "source": "reviews", "period": "quarter"}, sentiment_block))
    blocks.append(_kind(ctx, "Themes in support tickets", {"kind": "themes", "source": "tickets", "n_themes": 6},
                        themes_block))
    blocks.append(_kind(ctx, "Tickets per month by product", {
        "kind": "tickets", "by": ["product"], "period": "month", "include": ["volume", "trend"]},
        tickets_trend_block))
    for title, table, col in (("Tickets by product", "tickets", "product"),
                              ("Tickets by channel", "tickets", "channel")):
        q = {"kind": "count", "table": table, "by": [col], "limit": 15}
        blocks.append(bar_block(title, ctx.query(q), col, query=q))
    blocks.append(_kind(ctx, "Review stars per quarter (mean, 95% interval)", {
        "kind": "reviews", "period": "quarter", "compare": "previous_period"}, reviews_block))
    q = {"kind": "count", "table": "reviews", "by": ["rating"]}
    r = ctx.query(q)
    if r:
        r = {**r, "rows": sorted(r["rows"], key=lambda x: -(x.get("rating") or 0))}
    blocks.append(bar_block("Reviews by star rating", r, "rating", query=q, horizontal=False, sort=False))
    q = {"kind": "count", "table": "reviews", "by": ["label"], "limit": 15}
    blocks.append(bar_block("Reviews by label", ctx.query(q), "label", query=q))
    return {"blocks": blocks}


@register_page("customers", "Customers", 50)
def customers(ctx: PageContext) -> dict[str, Any]:
    """Churn, customer lifetime value, RFM segments and customer retention."""
    tiles = [count_tile(label, ctx.query({"kind": "count", "table": t}))
             for t, label in (("persons", "Persons"), ("accounts", "Accounts"), ("transactions", "Purchases"))]
    blocks: list[dict[str, Any]] = [{"type": "tiles", "title": "Customers", "tiles": tiles}]
    # repeat customers only: a one-time buyer's lifetime is 0 days, which would put half the curve at t = 0
    blocks.append(_kind(ctx, "Churn: share of repeat customers still active (Kaplan-Meier, 90 days without a "
                             "purchase = churned)", {"kind": "churn", "min_active_days": 2}, churn_block))
    blocks.append(_kind(ctx, "Customer retention per month", {"kind": "customer_retention", "period": "month"},
                        customer_retention_block))
    blocks.append(_kind(ctx, "RFM segments", {"kind": "rfm"}, rfm_block))
    blocks.append(_kind(ctx, "Highest predicted customer lifetime value", {"kind": "clv", "sort": "clv",
                                                                           "limit": 10}, clv_block))
    return {"blocks": blocks}


@register_page("usability", "Usability", 60)
def usability(ctx: PageContext) -> dict[str, Any]:
    """SUS and usability-test task metrics."""
    blocks: list[dict[str, Any]] = []
    by = [ctx.by] if ctx.by else []
    q = ctx.scoped({"kind": "sus", "by": by})
    r = ctx.query(q, scoped=False)
    if r and r.get("rows"):
        rows = r["rows"]
        blocks.append({"type": "tiles", "title": "System Usability Scale", "tiles": [tile("SUS", r, query=q)]})
        blocks.append(interval_block("SUS with 95% interval" + (f" by {ctx.by}" if by else ""), rows, by, "SUS",
                                     query=q))
        blocks.append(table_block("SUS detail", [*by, "n", "SUS", "low", "high", "grade", "percentile",
                                                 "usability", "learnability"],
                                  [[*(x.get(b) for b in by), x["n"], x["estimate"], x["ci_low"], x["ci_high"],
                                    x.get("grade"), x.get("percentile"), (x.get("usability") or {}).get("mean"),
                                    (x.get("learnability") or {}).get("mean")] for x in rows], query=q))
    else:
        blocks.append(empty_block("System Usability Scale", "no SUS answers", q))
    q = ctx.scoped({"kind": "tasks"})
    r = ctx.query(q, scoped=False)
    if r and r.get("rows"):
        blocks.append(generic_block("Tasks", r, q))
    else:
        blocks.append(empty_block("Tasks", "no usability-test task rows; import a task table "
                                  "(`cxlens import tasks FILE`)", q))
    return {"blocks": blocks}
