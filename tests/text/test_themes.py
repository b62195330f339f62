"""Themes: NMF recovers planted topics; trend counts; group comparison against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from cxlens.errors import CxlensInputError
from cxlens.text.themes import discover_themes, theme_shares_by_group, theme_summary, theme_trend

DELIVERY = ["the delivery was late and the courier lost my parcel", "parcel delivery took two weeks, courier rude",
            "courier never delivered the parcel", "late delivery again, parcel damaged"]
BILLING = ["I was charged twice on my invoice", "wrong invoice amount, billing charged me twice",
           "billing error on the invoice, refund the charge", "invoice shows a double charge"]
STAFF = ["the staff were friendly and helpful", "friendly helpful staff at the desk",
         "staff very friendly, nurse helpful", "helpful and friendly staff"]
DOCS = (DELIVERY + BILLING + STAFF) * 5


def test_nmf_recovers_planted_topics() -> None:
    m = discover_themes(DOCS, 3)
    assert m.n_themes == 3
    a = m.assignment.reshape(5, 12)
    groups = [set(a[:, 0:4].ravel()), set(a[:, 4:8].ravel()), set(a[:, 8:12].ravel())]
    assert all(len(g) == 1 for g in groups)  # each planted topic is one theme
    assert len(set.union(*groups)) == 3      # and the three are distinct
    labels = {m.labels[next(iter(g))] for g in groups}
    assert any("parcel" in lab or "delivery" in lab or "courier" in lab for lab in labels)
    assert any("invoice" in lab or "charged" in lab or "billing" in lab for lab in labels)


def test_redaction_placeholders_are_not_terms() -> None:
    """CFPB narratives redact names and dates as XXXX and XX/XX/XXXX; those must not become a theme."""
    redacted = [f"On XX/XX/XXXX {d} XXXX XXXX" for d in DOCS]
    m = discover_themes(redacted, 3)
    assert not any("xx" in lab.lower() for lab in m.labels), m.labels
    assert any("parcel" in lab or "delivery" in lab or "courier" in lab for lab in m.labels)


def test_summary_sizes_shares_quotes_sentiment() -> None:
    m = discover_themes(DOCS, 3)
    scores = np.linspace(-1, 1, len(DOCS))
    s = theme_summary(m, DOCS, scores=scores, n_quotes=2)
    assert sum(r["size"] for r in s) == len(DOCS)
    assert sum(r["share"] for r in s) == pytest.approx(1.0)
    for r in s:
        members = np.flatnonzero(m.assignment == r["theme"])
        assert r["mean_sentiment"] == pytest.approx(scores[members].mean())
        assert len(r["quotes"]) <= 2 and all(q in DOCS for q in r["quotes"])


def test_blank_texts_get_no_theme_and_errors() -> None:
    m = discover_themes([*DOCS, "", None], 3)
    assert m.assignment[-1] == -1 and m.assignment[-2] == -1
    with pytest.raises(CxlensInputError, match="at least 2"):
        discover_themes(["only one"], 2)
    with pytest.raises(CxlensInputError, match="n_themes"):
        discover_themes(DOCS, 0)


def test_trend_counts_per_period() -> None:
    assign = np.array([0, 0, 1, -1, 1, 0])
    ts = ["2024-01-03", "2024-01-20", "2024-01-21", "2024-02-01", "2024-02-02", None]
    t = theme_trend(assign, ts, "month")
    got = {(str(p.date()), int(k)): int(c) for p, k, c in t[["period", "theme", "count"]].itertuples(index=False)}
    assert got == {("2024-01-01", 0): 2, ("2024-01-01", 1): 1, ("2024-02-01", 1): 1}
    jan = t[t["period"] == pd.Timestamp("2024-01-01")]
    assert jan["share"].sum() == pytest.approx(1.0)
    with pytest.raises(CxlensInputError, match="period"):
        theme_trend(assign, ts, "fortnight")


def test_group_shares_against_independent_n_minus_1_test_and_holm() -> None:
    rng = np.random.default_rng(3)
    n = 400
    groups = rng.choice(["detractor", "promoter"], n)
    M = np.column_stack([rng.random(n) < np.where(groups == "detractor", 0.4, 0.2),
                         rng.random(n) < 0.3, rng.random(n) < 0.1])
    res = theme_shares_by_group(M, groups, compare=("detractor", "promoter"), names=["a", "b", "c"])
    raw = []
    for j, r in enumerate(res["rows"]):
        x1, n1 = M[groups == "detractor", j].sum(), (groups == "detractor").sum()
        x2, n2 = M[groups == "promoter", j].sum(), (groups == "promoter").sum()
        p1, p2, pp, N = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2), n1 + n2
        z = (p1 - p2) / np.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2)) * np.sqrt((N - 1) / N)  # Campbell 2007 N-1
        raw.append(2 * norm.sf(abs(z)))
        assert r["difference"] == pytest.approx(p1 - p2)
        assert r["p_value"] == pytest.approx(raw[-1], rel=1e-6)
        assert r["ci_low"] <= r["difference"] <= r["ci_high"]
    holm = multipletests(raw, method="holm")[1]
    assert [r["p_value_adjusted"] for r in res["rows"]] == pytest.approx(holm)
    assert res["rows"][0]["significant"]
    assert res["groups"] == {g: int((groups == g).sum()) for g in ("detractor", "promoter")}


def test_group_shares_order_invariant_and_index_input() -> None:
    assign = np.array([0, 1, 1, 0, 2, 2, 0, 1])
    g = ["x", "y", "x", "y", "x", "y", "x", None]
    a = theme_shares_by_group(assign, g)
    perm = [7, 3, 1, 0, 6, 2, 5, 4]
    b = theme_shares_by_group(assign[perm], [g[i] for i in perm])
    assert a == b
    assert a["groups"] == {"x": 4, "y": 3}  # None left out
    with pytest.raises(CxlensInputError, match="not present"):
        theme_shares_by_group(assign, g, compare=("x", "z"))


def test_embedding_themes_recover_planted_topics() -> None:
    pytest.importorskip("sentence_transformers")
    m = discover_themes(DOCS, 3, method="embedding")
    assert m.method == "embedding"
    a = m.assignment.reshape(5, 12)
    groups = [set(a[:, 0:4].ravel()), set(a[:, 4:8].ravel()), set(a[:, 8:12].ravel())]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3
    assert np.all(m.weights >= 0)
    with pytest.raises(CxlensInputError, match="unknown theme method"):
        discover_themes(DOCS, 3, method="lda")
