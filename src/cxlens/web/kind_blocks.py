"""Dashboard blocks for the behaviour, voice and customer query kinds (trends, paths, lifecycle, stickiness,
tickets, reviews, churn, CLV, RFM, customer retention). Each takes the engine's result as it is."""

from __future__ import annotations

from typing import Any

from cxlens.web.blocks import empty_block, table_block

__all__ = ["churn_block", "clv_block", "customer_retention_block", "lifecycle_block", "paths_block",
           "reviews_block", "rfm_block", "sentiment_block", "stickiness_block", "themes_block",
           "tickets_trend_block", "trends_block"]

Block = dict[str, Any]


def _chart(title: str, chart: dict[str, Any], query: dict[str, Any], note: str = "") -> Block:
    return {"type": "chart", "title": title, "chart": chart, "query": query, "note": note}


def trends_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Lines per series over the periods."""
    if not r.get("series"):
        return empty_block(title, "no events in the range", q)
    return _chart(title, {"kind": "lines", "x": [d[:10] for d in r["dates"]],
                          "series": [{"name": _series_name(s), "data": s["data"]}
                                     for s in r["series"][:8]]}, q)


def lifecycle_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Stacked bars: new, returning, resurrecting above zero, dormant below."""
    names = ("new", "returning", "resurrecting", "dormant")
    return _chart(title, {"kind": "lines", "stacked": True, "bars": True, "x": [d[:10] for d in r["dates"]],
                          "series": [{"name": n, "data": r[n]} for n in names if n in r]}, q,
                  "dormant = active in the previous period, not in this one (shown below zero)")


def stickiness_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Actors active in exactly k periods."""
    data = list(r.get("data", []))
    while data and data[-1] == 0 and len(data) > 1:
        data.pop()
    return _chart(title, {"kind": "bar", "horizontal": False, "x": [str(i + 1) for i in range(len(data))],
                          "series": [{"name": "actors", "data": data}]}, q,
                  f"{r.get('actors', 0)} actors; x = number of {r.get('interval', 'period')}s with the event")


def paths_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """A Sankey diagram of the step-numbered nodes and links."""
    if not r.get("links"):
        return empty_block(title, "no paths with two or more steps", q)
    used = {x for link in r["links"] for x in (link["source"], link["target"])}
    nodes = [{"name": n["name"], "label": n.get("item", n["name"]), "count": n.get("count")}
             for n in r["nodes"] if n["name"] in used]
    return _chart(title, {"kind": "sankey", "nodes": nodes, "links": r["links"]}, q,
                  f"{r.get('actors', 0)} actors; node = step_item")


def reviews_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Mean stars per period with the interval band; significant changes flagged."""
    rows = [x for x in r.get("rows", []) if x.get("period") is not None]
    if not rows:
        return empty_block(title, "no reviews in the range", q)
    rows.sort(key=lambda x: str(x["period"]))
    flagged = [{"series": "stars", "period": str(x["period"]), "change": x.get("change"),
                "p_value_adjusted": x.get("p_value_adjusted")} for x in rows if x.get("significant")]
    s = {"name": "mean stars", "data": [x.get("mean") for x in rows], "low": [x.get("mean_ci_low") for x in rows],
         "high": [x.get("mean_ci_high") for x in rows], "n": [x.get("n") for x in rows],
         "significant": [bool(x.get("significant")) for x in rows]}
    return {**_chart(title, {"kind": "band", "x": [str(x["period"])[:10] for x in rows], "series": [s],
                             "y_label": "stars"}, q), "flagged": flagged}


def tickets_trend_block(title: str, r: dict[str, Any], q: dict[str, Any], top: int = 5) -> Block:
    """Ticket volume per period for the largest groups; spikes flagged."""
    trend = r.get("trend") or []
    if not trend:
        return empty_block(title, "no tickets in the range", q)
    by = (r.get("by") or [None])[0]
    periods = sorted({str(t["period"]) for t in trend})
    totals: dict[str, int] = {}
    for t in trend:
        totals[str(t.get(by))] = totals.get(str(t.get(by)), 0) + (t.get("count") or 0)
    keep = sorted(totals, key=lambda k: -totals[k])[:top]
    series = []
    for k in keep:
        pts = {str(t["period"]): t for t in trend if str(t.get(by)) == k}
        series.append({"name": k[:40], "data": [pts[p]["count"] if p in pts else 0 for p in periods],
                       "marks": [bool(pts[p].get("spike")) if p in pts else False for p in periods]})
    return _chart(title, {"kind": "lines", "x": [p[:10] for p in periods], "series": series}, q,
                  f"top {len(keep)} by volume; ◆ = spike against the previous period (corrected)")


def churn_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Kaplan-Meier survival curve with its interval band."""
    c = (r.get("survival") or {}).get("curve") or {}
    if not c.get("time"):
        return empty_block(title, "no customers", q)
    s = {"name": "still active", "data": c["survival"], "low": c.get("lower") or c["survival"],
         "high": c.get("upper") or c["survival"], "n": c.get("at_risk") or [None] * len(c["time"]),
         "significant": [False] * len(c["time"])}
    med = r["survival"].get("median")
    return _chart(title, {"kind": "band", "x": [f"{t:g}" for t in c["time"]], "series": [s],
                          "y_label": "share active", "x_label": r.get("unit", "day") + "s"}, q,
                  f"{r.get('customers')} customers, {r.get('churned')} churned (inactive "
                  f"{r.get('inactivity_days')} days); median lifetime {med} {r.get('unit')}s")


def rfm_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Customers per RFM segment."""
    segs = r.get("segments") or []
    if not segs:
        return empty_block(title, "no customers", q)
    return _chart(title, {"kind": "bar", "horizontal": True, "x": [s["segment"] for s in segs],
                          "series": [{"name": "customers", "data": [s["customers"] for s in segs]}]}, q,
                  f"{r.get('n_customers')} customers as of {r.get('as_of')}")


def clv_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """The customers with the highest predicted CLV."""
    rows = r.get("customers") or []
    if not rows:
        return empty_block(title, "no customers", q)
    return table_block(title, ["customer", "purchases", "P(alive)", "expected purchases", "CLV"],
                       [[x["customer"], None if x.get("frequency") is None else int(x["frequency"]), x.get("p_alive"),
                         x.get("expected_purchases"),
                         x.get("clv")] for x in rows], query=q,
                       note=f"{r.get('model')} over {r.get('n_customers')} customers, horizon "
                            f"{r.get('horizon')} {r.get('time_unit')}s")


def customer_retention_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Retention and churn rate per period."""
    ps = [p for p in r.get("periods") or [] if p.get("retention_rate") is not None]
    if not ps:
        return empty_block(title, "not enough periods", q)
    return _chart(title, {"kind": "lines", "x": [p["period"] for p in ps], "percent": True,
                          "series": [{"name": "retained (of last period's customers)",
                                      "data": [p["strict_retention_rate"] for p in ps]},
                                     {"name": "churn rate", "data": [p["churn_rate"] for p in ps]},
                                     {"name": "(E - N) / S", "data": [p["retention_rate"] for p in ps]}]}, q,
                  r.get("definition", ""))


def _series_name(s: dict[str, Any]) -> str:
    name, math = str(s.get("name", "")), s.get("math", "total")
    return name if math == "total" or f"({math})" in name else f"{name} ({math})"


def themes_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Theme sizes with a quote each."""
    themes = r.get("themes") or []
    if not themes:
        return empty_block(title, "no texts", q)
    quotes = "; ".join(f"{t['theme']}: \u201c{(t.get('quotes') or [''])[0][:80]}\u201d" for t in themes[:3])
    return _chart(title, {"kind": "bar", "horizontal": True, "x": [t["theme"] for t in themes],
                          "series": [{"name": "texts", "data": [t["size"] for t in themes]}]}, q,
                  f"{r.get('n')} texts, {r.get('method')}. {quotes}")


def sentiment_block(title: str, r: dict[str, Any], q: dict[str, Any]) -> Block:
    """Mean sentiment per period with its interval band (or a table without periods)."""
    rows = r.get("rows") or []
    if not rows:
        return empty_block(title, "no texts", q)
    if "period" not in rows[0]:
        return table_block(title, ["n", "mean score", "low", "high", "positive %", "negative %", "net"],
                           [[x["n"], x["mean_score"], x["ci_low"], x["ci_high"], 100 * x["share_positive"],
                             100 * x["share_negative"], x["net_sentiment"]] for x in rows], query=q)
    rows = sorted((x for x in rows if x.get("period") is not None), key=lambda x: str(x["period"]))
    s = {"name": "mean sentiment", "data": [x["mean_score"] for x in rows], "low": [x["ci_low"] for x in rows],
         "high": [x["ci_high"] for x in rows], "n": [x["n"] for x in rows], "significant": [False] * len(rows)}
    return _chart(title, {"kind": "band", "x": [str(x["period"])[:10] for x in rows], "series": [s],
                          "y_label": "compound"}, q, f"{r.get('version', r.get('method'))}; -1 negative … +1 positive")
