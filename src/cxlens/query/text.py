"""Query kinds ``sentiment`` and ``themes`` over the text of responses, tickets and reviews.

``{"kind": "sentiment", "source": "reviews", "method": "vader", "by": ["app"], "period": "month"}``
``{"kind": "themes", "source": "responses", "n_themes": 8, "compare": "nps"}``

Texts are fetched with one SQL query (sqlglot, filters and date range as in ``count``); scores are cached
in ``text_scores`` by (text hash, method, version), so a text is scored once per method version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.query.count import DateRange, where
from cxlens.query.registry import QueryModel, register_query
from cxlens.store.sql import Filter, field, time_column

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["SentimentQuery", "ThemesQuery", "fetch_texts", "score_texts"]

Source = Literal["responses", "tickets", "reviews"]
Period = Literal["day", "week", "month", "quarter", "year"]
_KEYS = {"tickets": "ticket_id", "reviews": "review_id"}
_PANDAS_PERIOD = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


class _TextQuery(QueryModel):
    source: Source = "responses"
    survey: str | list[str] | None = Field(None, description="responses only: survey id(s)")
    question: str | list[str] | None = Field(None, description="responses only: question id(s)")
    by: list[str] = Field(default_factory=list)
    period: Period | None = None
    filters: list[Filter] = Field(default_factory=list)
    date_range: DateRange | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1)


class SentimentQuery(_TextQuery):
    """Sentiment per group and period: mean score with a t interval, shares positive / negative."""

    kind: str = "sentiment"
    method: Literal["vader", "tfidf", "embedding"] = "vader"
    store: bool = Field(True, description="cache the scores in text_scores (ignored on read-only workspaces)")
    examples: int = Field(0, ge=0, le=50, description="most negative and most positive texts per group")


class ThemesQuery(_TextQuery):
    """Themes: discovered (NMF) or from a stored taxonomy, with sizes, quotes, sentiment, trend, comparisons."""

    kind: str = "themes"
    n_themes: int = Field(8, ge=1, le=100)
    method: Literal["nmf", "embedding"] = Field("nmf", description="theme discovery: NMF on TF-IDF or k-means "
                                                                   "on sentence embeddings ([text] extra)")
    taxonomy: str | None = Field(None, description="name of a stored taxonomy (default: discover with NMF)")
    sentiment_method: Literal["vader", "tfidf", "embedding"] | None = "vader"
    quotes: int = Field(3, ge=0, le=20)
    theme: list[str] | None = Field(None, description="keep only these themes (labels or taxonomy names)")
    compare: Literal["nps", "sentiment"] | str | None = Field(
        None, description="'nps' (detractors vs promoters, responses), 'sentiment' (negative vs positive), "
                          "or a column/property to compare the first two of its values")
    correction: Literal["holm", "bh", "none"] = "holm"
    store: bool = True


def _in(col: exp.Expression, v: str | list[str]) -> exp.Expression:
    vals = v if isinstance(v, list) else [v]
    return col.isin(*[exp.Literal.string(str(x)) for x in vals])


def fetch_texts(ws: Workspace, q: _TextQuery, extra: list[str] | None = None, *,
                with_nps: bool = False) -> pa.Table:
    """Rows with non-blank text: ``row_key``, ``text``, ``text_hash``, ``ts``, ``g0..`` (``by`` then
    ``extra`` fields) and, with ``with_nps``, the ``nps`` score given in the same response (responses)."""
    src = q.source
    text = exp.column("text", "t")
    if src == "responses":
        key = exp.func("concat", exp.column("response_id", "t"), exp.Literal.string(":"), exp.column("question", "t"))
    else:
        key = exp.column(_KEYS[src], "t")
    tcol = time_column(src)
    fields = [*q.by, *(extra or [])]
    cols: list[exp.Expression] = [
        exp.cast(key, "VARCHAR").as_("row_key"), text.as_("text"), exp.MD5(this=text).as_("text_hash"),
        exp.column(tcol, "t").as_("ts") if tcol else exp.null().as_("ts"),
    ]
    for i, f in enumerate(fields):
        e = field(src, f)
        cols.append(e.transform(lambda n: exp.column(n.name, "t") if isinstance(n, exp.Column) else n).as_(f"g{i}"))
    sel = select(*cols).from_(exp.table_(src).as_("t"))
    conds = [c.transform(lambda n: exp.column(n.name, "t") if isinstance(n, exp.Column) else n)
             for c in where(src, q.filters, q.date_range)]
    conds += [text.is_(exp.null()).not_(), exp.func("trim", text).neq(exp.Literal.string(""))]
    if src == "responses":
        if q.survey is not None:
            conds.append(_in(exp.column("survey", "t"), q.survey))
        if q.question is not None:
            conds.append(_in(exp.column("question", "t"), q.question))
    elif q.survey is not None or q.question is not None:
        raise QueryError(f"'survey' and 'question' apply to source 'responses', not {src!r}")
    if with_nps:
        if src != "responses":
            raise QueryError("compare 'nps' needs source 'responses' (NPS answers share the response_id)")
        nps = (select(exp.column("response_id"), exp.func("max", exp.column("score")).as_("nps"))
               .from_(exp.table_("responses"))
               .where(exp.column("question_type").eq(exp.Literal.string("nps")))
               .where(exp.column("status").eq(exp.Literal.string("answered")))
               .group_by(exp.column("response_id")))
        sel = sel.select(exp.column("nps", "n")).join(
            nps.subquery("n"), on=exp.column("response_id", "t").eq(exp.column("response_id", "n")), join_type="left")
    for c in conds:
        sel = sel.where(c)
    return ws.store.execute(sel)


def score_texts(ws: Workspace, rows: pa.Table, source: str, method: str, *, store: bool = True,
                progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels for ``rows`` (from :func:`fetch_texts`), from the cache where possible; new scores
    are computed once per distinct text and appended to ``text_scores`` when ``store``."""
    from cxlens.text.sentiment import method_version, sentiment_arrays
    from cxlens.text.storage import cached_scores, store_scores

    n = rows.num_rows
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=object)
    version = method_version(method)
    hashes = rows.column("text_hash").combine_chunks()
    score = np.full(n, np.nan)
    label = np.full(n, None, dtype=object)
    cache = cached_scores(ws.store, hashes, method, version)
    if cache.num_rows:
        pos = pc.index_in(hashes, value_set=cache.column("text_hash")).to_numpy(zero_copy_only=False)
        hit = ~pd.isna(pos)
        idx = pos[hit].astype(np.int64)
        score[hit] = cache.column("score").to_numpy(zero_copy_only=False)[idx]
        label[hit] = cache.column("label").to_numpy(zero_copy_only=False)[idx]
    miss = np.flatnonzero(np.isnan(score))
    if len(miss):
        uniq, first, inv = np.unique(hashes.take(pa.array(miss)).to_numpy(zero_copy_only=False),
                                     return_index=True, return_inverse=True)
        texts = rows.column("text").take(pa.array(miss[first])).to_pylist()
        if progress is None:
            from cxlens.text.progress import counter

            progress = counter(f"scoring {len(texts):,} texts ({method})", len(texts))
        s, lab = sentiment_arrays(texts, method, progress=progress)
        score[miss], label[miss] = s[inv], lab[inv]
        if store and not getattr(ws.store, "read_only", False):
            store_scores(ws.store, source, rows.column("row_key").take(pa.array(miss[first])),
                         pa.array(uniq, pa.string()), method, version, s, lab)
    return score, label


def _periods(ts: pa.ChunkedArray, period: str) -> pd.Series:
    s = pd.to_datetime(pd.Series(ts.to_pandas()), errors="coerce")
    return s.dt.to_period(_PANDAS_PERIOD[period]).dt.start_time.dt.strftime("%Y-%m-%d")


def _groups(rows: pa.Table, q: _TextQuery) -> pd.DataFrame:
    g = pd.DataFrame({b: rows.column(f"g{i}").to_pandas() for i, b in enumerate(q.by)})
    if q.period:
        g["period"] = _periods(rows.column("ts"), q.period).to_numpy()
    return g


@register_query("sentiment", SentimentQuery, "Sentiment of responses, tickets or reviews per group and period "
                                             "(VADER, TF-IDF or embedding model), scores cached with the text.")
def run_sentiment(ws: Workspace, q: SentimentQuery) -> dict[str, Any]:
    from cxlens.stats import ProportionStat, mean_ci, proportion_ci
    from cxlens.text.sentiment import method_version

    rows = fetch_texts(ws, q)
    keys = [*q.by, *(["period"] if q.period else [])]
    result: dict[str, Any] = {"kind": "sentiment", "source": q.source, "method": q.method,
                              "version": method_version(q.method), "by": keys, "n": rows.num_rows, "rows": []}
    if rows.num_rows == 0:
        return result
    score, label = score_texts(ws, rows, q.source, q.method, store=q.store)
    df = _groups(rows, q)
    df["score"], df["label"] = score, label
    df["text"] = rows.column("text").to_numpy(zero_copy_only=False)
    df["pos"], df["neg"] = df["label"] == "positive", df["label"] == "negative"
    grouped = df.groupby(keys, dropna=False, sort=True) if keys else [((), df)]
    out_rows = []
    for key, g in grouped:  # one iteration per group (not per text); the maths is vectorised per group
        kv = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        n = len(g)
        m = mean_ci(g["score"].to_numpy(), q.confidence, bounds=(-1, 1)) if n >= 2 else None
        pos, neg = int(g["pos"].sum()), int(g["neg"].sum())
        rec: dict[str, Any] = {**{k: (None if pd.isna(v) else v) for k, v in kv.items()}, "n": n,
                               "mean_score": float(g["score"].mean()),
                               "ci_low": m.ci_low if m else None, "ci_high": m.ci_high if m else None,
                               "positive": pos, "neutral": n - pos - neg, "negative": neg,
                               "share_positive": pos / n, "share_negative": neg / n,
                               "net_sentiment": 100 * (pos - neg) / n}
        for name, x in (("positive", pos), ("negative", neg)):
            r = proportion_ci(ProportionStat(n, x), q.confidence)
            rec[f"share_{name}_ci"] = [r.ci_low, r.ci_high]
        if q.examples:
            o = g.sort_values("score", kind="stable")
            rec["most_negative"] = o["text"].head(q.examples).tolist()
            rec["most_positive"] = o["text"].tail(q.examples).iloc[::-1].tolist()
        out_rows.append(rec)
    result["rows"] = out_rows
    return result


# the themes runner lives in query/text_themes.py (split by concept); imported here so both register together
from cxlens.query import text_themes  # noqa: E402,F401
