"""Runner of the ``themes`` query kind (model in :mod:`cxlens.query.text`).

Themes come from NMF on the selected texts or from a stored taxonomy (multi-label). Each theme gets its
label, size, share, quotes, mean sentiment and counts per period; ``compare`` tests theme shares between two
groups ("what do detractors talk about?": NPS detractors vs promoters of the same response) with Holm-adjusted
N-1 two-proportion tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxlens.errors import QueryError
from cxlens.query.registry import register_query
from cxlens.query.text import ThemesQuery, _periods, fetch_texts, score_texts

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__: list[str] = []


def _membership(ws: Workspace, q: ThemesQuery, texts: list[str]) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Boolean text x theme matrix, theme names, and per-theme extras (top terms, NMF weights)."""
    from cxlens.text.themes import discover_themes

    if q.taxonomy:
        from cxlens.text.storage import load_taxonomy

        tax = load_taxonomy(ws.store, q.taxonomy)
        return tax.classify(texts), tax.names, {"method": f"taxonomy:{tax.name}"}
    from cxlens.text.progress import report

    report(f"finding {q.n_themes} themes ({q.method})", 0, 1)
    model = discover_themes(texts, q.n_themes, method=q.method)
    report(f"finding {q.n_themes} themes ({q.method})", 1, 1)
    M = model.assignment[:, None] == np.arange(model.n_themes)[None, :]
    return M, model.labels, {"method": q.method, "top_terms": model.top_terms, "weights": model.weights,
                             "unassigned": int((model.assignment < 0).sum())}


def _compare_groups(q: ThemesQuery, rows: Any, score: np.ndarray | None, label: np.ndarray | None) -> pd.Series:
    if q.compare == "nps":
        nps = pd.Series(rows.column("nps").to_pandas(), dtype="float64")
        return pd.Series(np.select([nps <= 6, nps >= 9, nps.between(7, 8)], ["detractor", "promoter", "passive"],
                                   None), dtype="string").where(nps.notna())
    if q.compare == "sentiment":
        if label is None:
            raise QueryError("compare 'sentiment' needs sentiment_method")
        return pd.Series(label, dtype="string")
    return pd.Series(rows.column(f"g{len(q.by)}").to_pandas()).astype("string")


@register_query("themes", ThemesQuery,
                "Themes in the text of responses, tickets or reviews (NMF or a stored taxonomy): label, size, "
                "share, quotes, sentiment, trend, and shares compared between groups (e.g. NPS detractors).")
def run_themes(ws: Workspace, q: ThemesQuery) -> dict[str, Any]:
    from cxlens.text.themes import pick_quotes, theme_shares_by_group

    extra = [q.compare] if q.compare not in (None, "nps", "sentiment") else []
    rows = fetch_texts(ws, q, extra, with_nps=q.compare == "nps")
    if rows.num_rows < 2:
        raise QueryError(f"found {rows.num_rows} non-blank texts in {q.source} for these filters; themes need "
                         "at least 2")
    texts = rows.column("text").to_pylist()
    M, names, info = _membership(ws, q, texts)
    score = label = None
    if q.sentiment_method:
        score, label = score_texts(ws, rows, q.source, q.sentiment_method, store=q.store)
    keep = np.arange(len(names))
    if q.theme:
        known = {n: i for i, n in enumerate(names)}
        bad = [t for t in q.theme if t not in known]
        if bad:
            raise QueryError(f"unknown theme(s) {bad}; themes: {names}")
        keep = np.asarray([known[t] for t in q.theme])
    n = rows.num_rows
    sizes = M.sum(axis=0)
    weights = info.get("weights")
    docs = np.asarray(texts, dtype=object)
    themes = []
    for j in keep:  # per theme (tens at most); the work inside is vectorised
        members = np.flatnonzero(M[:, j])
        # NMF: strongest members first; taxonomy: most strongly felt first
        strength = weights[members, j] if weights is not None else (
            np.abs(score[members]) if score is not None else None)
        rec: dict[str, Any] = {"theme": names[j], "size": int(sizes[j]), "share": float(sizes[j] / n),
                               "quotes": pick_quotes(docs, members, strength, q.quotes)}
        if "top_terms" in info:
            rec["top_terms"] = info["top_terms"][j]
        if score is not None:
            rec["mean_sentiment"] = float(score[members].mean()) if len(members) else None
            rec["share_negative"] = float((label[members] == "negative").mean()) if len(members) else None
        if q.period:
            per = _periods(rows.column("ts"), q.period).to_numpy()[members]
            counts = pd.Series(per).value_counts().sort_index()
            rec["trend"] = [{"period": p, "count": int(c)} for p, c in counts.items() if isinstance(p, str)]
        themes.append(rec)
    themes.sort(key=lambda r: -r["size"])
    out: dict[str, Any] = {"kind": "themes", "source": q.source, "method": info["method"], "n": n,
                           "themes": themes}
    if "unassigned" in info:
        out["unassigned"] = info["unassigned"]
    if q.sentiment_method:
        out["sentiment_method"] = q.sentiment_method
    if q.compare:
        groups = _compare_groups(q, rows, score, label)
        levels = sorted(groups.dropna().unique().tolist())
        pair = {"nps": ("detractor", "promoter"), "sentiment": ("negative", "positive")}.get(q.compare)
        if pair is None:
            pair = tuple(levels[:2]) if len(levels) >= 2 else None
        if pair is None or any(p not in levels for p in pair):
            raise QueryError(f"compare {q.compare!r}: need two groups with texts, found {levels}")
        res = theme_shares_by_group(M[:, keep], groups.to_numpy(dtype=object), compare=pair,
                                    names=[names[j] for j in keep], correction=q.correction,
                                    confidence=q.confidence)
        res["rows"].sort(key=lambda r: -abs(r["difference"]))  # what sets the groups apart most, first
        out["comparison"] = res
    return out
