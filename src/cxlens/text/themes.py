"""Unsupervised themes in open text: NMF on TF-IDF, with labels, quotes, sentiment, trend and group shares.

:func:`discover_themes` factorises the TF-IDF matrix ``X ≈ W H`` (scikit-learn ``NMF``, deterministic
``nndsvda`` start): each of the ``k`` components is a theme, labelled by its top terms (largest entries of
``H``); a text belongs to the theme with its largest weight in ``W`` (or to none when its row is zero: no
known term). Quotes are the member texts with the largest weight. :func:`theme_shares_by_group` compares
theme shares across groups (e.g. NPS detractors vs promoters) with the N-1 two-proportion test of
:mod:`cxlens.stats` and Holm-adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError

__all__ = ["TOKEN_PATTERN", "ThemeModel", "discover_themes", "pick_quotes", "stop_words_english",
           "theme_shares_by_group", "theme_summary", "theme_trend"]

_PERIODS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_KEEP = frozenset({"no", "not", "nor", "never", "nothing", "none", "cannot", "without", "less", "more", "very",
                   "too", "few", "enough", "again", "only"})


#: scikit-learn's default word pattern, minus redaction placeholders ("XXXX", "XX/XX/XXXX" in CFPB narratives),
#: which would otherwise become the largest "theme" of redacted complaints
TOKEN_PATTERN = r"(?u)\b(?![xX]{2,}\b)\w\w+\b"


def stop_words_english() -> list[str]:
    """scikit-learn's English stop words without negations and degree words ("not", "no", "never", "more"),
    so that "did not answer" does not become the theme "did answer"."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS - _KEEP)


@dataclass
class ThemeModel:
    """Fitted themes.

    Attributes
    ----------
    labels : list of str
        Readable label per theme (its top three terms, lone negation/degree words left out).
    top_terms : list of list of str
        Top terms per theme, strongest first.
    assignment : ndarray of int
        Theme index of every input text (-1: no theme).
    weights : ndarray
        ``W``, the text-by-theme weights (rows of unassigned texts are zero).
    method : str
        ``"nmf"``.
    """

    labels: list[str]
    top_terms: list[list[str]]
    assignment: np.ndarray
    weights: np.ndarray
    method: str = "nmf"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_themes(self) -> int:
        return len(self.labels)


def discover_themes(texts: Sequence[str | None], n_themes: int = 8, *, method: str = "nmf", n_terms: int = 8,
                    max_features: int = 20_000, stop_words: list[str] | None = None,
                    random_state: int = 0, embeddings: np.ndarray | None = None) -> ThemeModel:
    """Find ``n_themes`` themes in ``texts`` without labels.

    ``method="nmf"``: NMF on TF-IDF. ``method="embedding"``: k-means on MiniLM sentence embeddings (``[text]``
    extra), each cluster labelled by its most distinctive TF-IDF terms (cluster mean minus corpus mean), text
    weight = cosine similarity to the cluster centre.

    Parameters
    ----------
    texts : sequence of str
        Open-text answers, tickets or reviews (``None`` and blanks get no theme).
    n_themes : int
        Number of themes (NMF components or clusters); capped at the number of distinct terms.
    method : {"nmf", "embedding"}
        How themes are found.
    n_terms : int
        Top terms kept per theme.
    max_features : int
        Vocabulary cap (most frequent terms and word pairs).
    stop_words : list of str, optional
        Words ignored (default: :func:`stop_words_english`).

    Returns
    -------
    ThemeModel
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    if n_themes < 1:
        raise CxlensInputError(f"n_themes must be at least 1 (got {n_themes})", field="n_themes")
    if method not in ("nmf", "embedding"):
        raise CxlensInputError(f"unknown theme method {method!r}; use 'nmf' or 'embedding'", field="method")
    docs = pd.Series(list(texts), dtype="string").fillna("")
    n = len(docs)
    nonblank = int((docs.str.strip() != "").sum())
    if nonblank < 2:
        raise CxlensInputError(f"need at least 2 non-blank texts to find themes (got {nonblank})", field="texts")
    stop = stop_words_english() if stop_words is None else stop_words
    vec = TfidfVectorizer(stop_words=stop, ngram_range=(1, 2), min_df=2 if nonblank >= 50 else 1,
                          max_df=0.5 if nonblank >= 50 else 1.0, max_features=max_features, sublinear_tf=True,
                          strip_accents="unicode", token_pattern=TOKEN_PATTERN)
    try:
        X = vec.fit_transform(docs.to_numpy(dtype=object))
    except ValueError as e:  # empty vocabulary: only stop words / punctuation
        raise CxlensInputError(f"no terms to build themes from ({e})", field="texts") from None
    terms = np.asarray(vec.get_feature_names_out(), dtype=object)
    k = int(min(n_themes, X.shape[1], nonblank))
    if method == "embedding":
        return _embedding_themes(docs, X, terms, k, n_terms, random_state, embeddings)
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    W = nmf.fit_transform(X)
    H = nmf.components_
    top = np.argsort(-H, axis=1)[:, :n_terms]
    top_terms = [terms[row].tolist() for row in top]
    # labels skip lone negation/degree words ("not", "very"), which are kept as features but name nothing
    labels = [" / ".join(([w for w in t if w not in _KEEP] or t)[:3]) for t in top_terms]
    assign = np.where(W.max(axis=1) > 0, W.argmax(axis=1), -1)
    return ThemeModel(labels, top_terms, assign, W, info={"n_texts": n, "n_terms": int(X.shape[1]),
                                                         "reconstruction_err": float(nmf.reconstruction_err_)})


def _embedding_themes(docs: pd.Series, X: Any, terms: np.ndarray, k: int, n_terms: int, random_state: int,
                      embeddings: np.ndarray | None) -> ThemeModel:
    from sklearn.cluster import KMeans

    from cxlens.text.features import embed

    blank = (docs.str.strip() == "").to_numpy()
    E = embed(docs.tolist()) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
    keep = np.flatnonzero(~blank)
    km = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(E[keep])
    assign = np.full(len(docs), -1)
    assign[keep] = km.labels_
    centres = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    W = np.zeros((len(docs), k))
    W[keep] = np.clip(E[keep] @ centres.T, 0, None)
    onehot = (assign[keep][:, None] == np.arange(k)[None, :]).astype(np.float64)
    sizes = np.maximum(onehot.sum(axis=0), 1)
    mean_in = (onehot.T @ X[keep]) / sizes[:, None]  # clusters x terms, one sparse product
    lift = np.asarray(mean_in - X[keep].mean(axis=0))
    top = np.argsort(-lift, axis=1)[:, :n_terms]
    top_terms = [terms[row].tolist() for row in top]
    labels = [" / ".join(([w for w in t if w not in _KEEP] or t)[:3]) for t in top_terms]
    return ThemeModel(labels, top_terms, assign, W, method="embedding",
                      info={"n_texts": len(docs), "n_terms": int(X.shape[1]), "inertia": float(km.inertia_)})


def pick_quotes(docs: np.ndarray, members: np.ndarray, strength: np.ndarray | None, n: int,
                min_words: int = 5) -> list[str]:
    """Up to ``n`` distinct representative texts of a theme: the strongest members (largest ``strength``)
    among those with at least ``min_words`` words, then shorter ones if there are not enough."""
    if n <= 0 or len(members) == 0:
        return []
    m = members if strength is None else members[np.argsort(-strength, kind="stable")]
    words = pd.Series(docs[m], dtype="string").str.count(r"\S+").to_numpy()
    ordered = np.concatenate([m[words >= min_words], m[words < min_words]])
    return pd.unique(docs[ordered[: n * 10]])[:n].tolist()


def theme_summary(model: ThemeModel, texts: Sequence[str | None], *, scores: np.ndarray | None = None,
                  n_quotes: int = 3, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One record per theme: ``theme`` (index), ``label``, ``top_terms``, ``size``, ``share`` (of all texts),
    ``quotes`` (the most typical member texts), ``mean_sentiment`` (when ``scores`` are given)."""
    docs = np.asarray(pd.Series(list(texts), dtype="string").fillna("").to_numpy(dtype=object))
    a = model.assignment
    n = len(a)
    sizes = np.bincount(a[a >= 0], minlength=model.n_themes)
    out = []
    for k in range(model.n_themes):  # one pass per theme (k is small), vectorised inside
        members = np.flatnonzero(a == k)
        quotes = pick_quotes(docs, members, model.weights[members, k], n_quotes)
        rec: dict[str, Any] = {"theme": k, "label": names[k] if names else model.labels[k],
                               "top_terms": model.top_terms[k], "size": int(sizes[k]),
                               "share": float(sizes[k] / n) if n else 0.0, "quotes": quotes}
        if scores is not None:
            rec["mean_sentiment"] = float(np.nanmean(scores[members])) if len(members) else None
        out.append(rec)
    return out


def theme_trend(assignment: np.ndarray, timestamps: Sequence[Any], period: str = "month") -> pd.DataFrame:
    """Texts per theme and period: a frame ``period``, ``theme``, ``count``, ``share`` (of the period)."""
    if period not in _PERIODS:
        raise CxlensInputError(f"unknown period {period!r}; use one of {', '.join(_PERIODS)}", field="period")
    ts = pd.to_datetime(pd.Series(list(timestamps)), errors="coerce", utc=True).dt.tz_localize(None)
    df = pd.DataFrame({"period": ts.dt.to_period(_PERIODS[period]).dt.start_time, "theme": assignment})
    df = df[df["period"].notna() & (df["theme"] >= 0)]
    counts = df.groupby(["period", "theme"]).size().rename("count").reset_index()
    totals = pd.DataFrame({"period": ts.dt.to_period(_PERIODS[period]).dt.start_time}).groupby("period").size()
    counts["share"] = counts["count"] / counts["period"].map(totals).to_numpy()
    return counts


def theme_shares_by_group(membership: np.ndarray, groups: Sequence[Any], *, compare: tuple[Any, Any] | None = None,
                          names: Sequence[str] | None = None, correction: str = "holm",
                          confidence: float = 0.95) -> dict[str, Any]:
    """Share of each theme within each group, and a test of the difference between two groups.

    Parameters
    ----------
    membership : ndarray
        Either theme indices per text (-1 for none) or a boolean ``(n_texts, n_themes)`` matrix
        (multi-label, e.g. a taxonomy).
    groups : sequence
        Group of each text (e.g. ``"detractor"``, ``"passive"``, ``"promoter"``; ``None`` is left out).
    compare : (a, b), optional
        The two groups to test (default: the first two in sorted order).
    correction : {"holm", "bh", "none"}
        Multiple-comparison correction across the themes.

    Returns
    -------
    dict
        ``groups`` (sizes), ``rows``: per theme the share in each group, the difference ``a - b`` with its
        interval, raw and adjusted p-value and ``significant``.
    """
    from cxlens.stats import ProportionStat, adjust_pvalues, two_proportion_test

    g = pd.Series(list(groups), dtype="string")
    M = np.asarray(membership)
    if M.ndim == 1:
        k = int(M.max()) + 1 if M.size else 0
        M = M[:, None] == np.arange(k)[None, :]
    keep = g.notna().to_numpy()
    M, g = M[keep], g[keep].reset_index(drop=True)
    levels = sorted(g.unique().tolist())
    if compare is None:
        if len(levels) < 2:
            raise CxlensInputError(f"need at least two groups to compare (got {levels})", field="groups")
        compare = (levels[0], levels[1])
    for c in compare:
        if c not in levels:
            raise CxlensInputError(f"group {c!r} not present; groups: {levels}", field="compare")
    codes = pd.Categorical(g, categories=levels).codes
    onehot = codes[:, None] == np.arange(len(levels))[None, :]
    counts = onehot.T.astype(np.int64) @ M.astype(np.int64)  # groups x themes, one matmul
    sizes = onehot.sum(axis=0)
    ia, ib = levels.index(compare[0]), levels.index(compare[1])
    rows, pvals = [], []
    for t in range(M.shape[1]):
        res = two_proportion_test(ProportionStat(int(sizes[ia]), int(counts[ia, t])),
                                  ProportionStat(int(sizes[ib]), int(counts[ib, t])), confidence)
        pvals.append(res.p_value)
        rows.append({"theme": t, "label": names[t] if names else str(t),
                     "shares": {lv: float(counts[j, t] / sizes[j]) if sizes[j] else None
                                for j, lv in enumerate(levels)},
                     "counts": {lv: int(counts[j, t]) for j, lv in enumerate(levels)},
                     "difference": float(res.estimate), "ci_low": float(res.ci_low), "ci_high": float(res.ci_high),
                     "p_value": float(res.p_value)})
    adj = adjust_pvalues(pvals, correction) if correction != "none" and pvals else np.asarray(pvals)
    alpha = 1 - confidence
    for r, p in zip(rows, adj, strict=True):
        r["p_value_adjusted"] = float(p)
        r["significant"] = bool(p < alpha)
    return {"groups": {lv: int(s) for lv, s in zip(levels, sizes, strict=True)}, "compare": list(compare),
            "correction": correction, "rows": rows}
