"""Turn engine results into dashboard blocks (scorecard tiles, chart specs, tables). No statistics here:
every number shown comes from a query result as the engine returned it."""

from __future__ import annotations

from typing import Any

__all__ = ["bar_block", "count_tile", "empty_block", "generic_block", "heatmap_block", "interval_block",
           "score_trend_block", "table_block", "tile"]


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def tile(label: str, result: dict[str, Any] | None, *, digits: int = 1, unit: str = "",
         query: dict[str, Any] | None = None, link: str | None = None, hint: str | None = None) -> dict[str, Any]:
    """A scorecard tile from a score-like result (rows with estimate, ci_low, ci_high, n, period); ``hint``
    is shown, linked to ``link``, when there is nothing to score."""
    rows = [r for r in (result or {}).get("rows", []) if r.get("estimate") is not None]
    if not rows:
        return {"label": label, "value": None, "text": "no data", "query": query, "link": link, "hint": hint}
    rows = sorted(rows, key=lambda r: str(r.get("period", "")))
    last = rows[-1]
    out = {"label": label, "value": last["estimate"], "text": _fmt(last["estimate"], digits) + unit,
           "interval": [last.get("ci_low"), last.get("ci_high")],
           "interval_text": f"{_fmt(last.get('ci_low'), digits)} … {_fmt(last.get('ci_high'), digits)}",
           "n": last.get("n"), "period": last.get("period"), "query": query, "link": link,
           "trend": [[str(r.get("period")), r["estimate"]] for r in rows] if "period" in last else [],
           "warnings": last.get("warnings", [])}
    if last.get("significant"):
        out["change"] = last.get("change")
    return out


def count_tile(label: str, result: dict[str, Any] | None, link: str | None = None) -> dict[str, Any]:
    """A tile showing a row count."""
    total = None if result is None else result.get("total", sum(r.get("count", 0) for r in result["rows"]))
    return {"label": label, "value": total, "text": _fmt(total), "link": link}


def score_trend_block(title: str, result: dict[str, Any] | None, *, by: list[str] | None = None,
                      note: str = "", query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A line chart per group with its interval band; significant period changes are flagged."""
    if not result or not result.get("rows"):
        return empty_block(title, "no answers match these filters", query)
    by = by if by is not None else list(result.get("by", []))
    series: dict[str, dict[str, Any]] = {}
    periods = sorted({str(r.get("period")) for r in result["rows"]})
    for r in result["rows"]:
        name = " / ".join(str(r.get(b)) for b in by) if by else result.get("kind", "score").upper()
        s = series.setdefault(name, {"name": name, "points": {}})
        s["points"][str(r.get("period"))] = r
    out_series = []
    flagged = []
    for s in list(series.values())[:8]:
        pts = s["points"]
        data = [pts[p]["estimate"] if p in pts else None for p in periods]
        low = [pts[p].get("ci_low") if p in pts else None for p in periods]
        high = [pts[p].get("ci_high") if p in pts else None for p in periods]
        n = [pts[p].get("n") if p in pts else None for p in periods]
        sig = [bool(pts[p].get("significant")) if p in pts else False for p in periods]
        for p, flag in zip(periods, sig, strict=True):
            if flag:
                r = pts[p]
                flagged.append({"series": s["name"], "period": p, "change": r.get("change"),
                                "p_value_adjusted": r.get("p_value_adjusted")})
        out_series.append({"name": s["name"], "data": data, "low": low, "high": high, "n": n, "significant": sig})
    return {"type": "chart", "title": title, "note": note, "query": query, "flagged": flagged,
            "chart": {"kind": "band", "x": [p[:10] for p in periods], "series": out_series,
                      "y_label": (result.get("kind") or "").upper(), **_score_bounds(result)}}


def _score_bounds(result: dict[str, Any]) -> dict[str, float]:
    """The range a score can take (NPS -100..100, CSAT a share, CES/ratings their scale): the chart's axis
    stops there even when a small sample's interval would reach past it."""
    kind = result.get("kind")
    if kind == "nps":
        return {"y_min": -100, "y_max": 100}
    if kind == "csat":
        return {"y_min": 0, "y_max": 1}
    scales = [r["scale"] for r in result.get("rows", []) if isinstance(r.get("scale"), list | tuple)]
    if not scales:
        return {}
    return {"y_min": min(s[0] for s in scales), "y_max": max(s[1] for s in scales)}


def bar_block(title: str, result: dict[str, Any] | None, label: str, value: str = "count", *,
              top: int = 15, note: str = "", horizontal: bool = True, sort: bool = True,
              query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A bar chart of ``value`` per ``label`` from a result's rows."""
    rows = (result or {}).get("rows") or []
    if not rows:
        return empty_block(title, "no rows match these filters", query)
    rows = (sorted(rows, key=lambda r: -(r.get(value) or 0)) if sort else rows)[:top]
    names = [str(r.get(label)) if r.get(label) is not None else "(none)" for r in rows]
    return {"type": "chart", "title": title, "note": note, "query": query,
            "chart": {"kind": "bar", "horizontal": horizontal, "x": names,
                      "series": [{"name": value, "data": [r.get(value) for r in rows]}]}}


def interval_block(title: str, rows: list[dict[str, Any]], by: list[str], series: str, *, all_label: str = "all",
                   note: str = "", query: dict[str, Any] | None = None) -> dict[str, Any]:
    """Bars with their interval as error bars, one per group of ``by`` (rows with estimate, ci_low, ci_high)."""
    return {"type": "chart", "title": title, "note": note, "query": query,
            "chart": {"kind": "interval", "x": [" / ".join(str(x.get(b)) for b in by) or all_label for x in rows],
                      "series": [{"name": series, "data": [x["estimate"] for x in rows],
                                  "low": [x["ci_low"] for x in rows], "high": [x["ci_high"] for x in rows]}]}}


def heatmap_block(title: str, x: list[str], y: list[str], values: list[list[float | None]], *,
                  note: str = "", query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A heatmap (e.g. a retention table: cohorts down, periods across)."""
    data = [[j, i, v] for i, row in enumerate(values) for j, v in enumerate(row) if v is not None]
    return {"type": "chart", "title": title, "note": note, "query": query,
            "chart": {"kind": "heatmap", "x": x, "y": y, "data": data}}


def table_block(title: str, columns: list[str], rows: list[list[Any]], *, note: str = "",
                query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plain table."""
    return {"type": "table", "title": title, "columns": columns,
            "rows": [[_fmt(v, 2) for v in r] for r in rows], "note": note, "query": query}


def empty_block(title: str, message: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A placeholder saying why there is nothing to show."""
    return {"type": "empty", "title": title, "message": message, "query": query}


def generic_block(title: str, result: dict[str, Any] | None, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """Best-effort view of a result of a kind this dashboard has no dedicated view for: a bar chart of the
    first numeric column per first text column of ``rows``, else a table."""
    rows = (result or {}).get("rows")
    if not rows or not isinstance(rows, list) or not isinstance(rows[0], dict):
        return empty_block(title, "no rows", query)
    keys = list(rows[0])
    num = next((k for k in keys if isinstance(rows[0][k], (int, float)) and not isinstance(rows[0][k], bool)), None)
    lab = next((k for k in keys if isinstance(rows[0][k], str)), None)
    if num and lab:
        return bar_block(title, result, lab, num, query=query)
    return table_block(title, keys, [[r.get(k) for k in keys] for r in rows[:50]], query=query)
