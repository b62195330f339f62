"""`cxlens eval text` figures on the shared labelled sets, against published / reproduced figures.

Sources (../shared/docs/golden-figures.md): VADER tweets r = 0.881 published (Hutto & Gilbert, ICWSM 2014),
0.872 reproduced with vaderSentiment 3.3.2, Amazon snippets 0.590; UCI bag-of-words + logistic regression
0.7960 / 0.7960 / 0.7487 (Real Python, Janakiev; reproduced with scikit-learn 1.9.1), imdb 0.764 with
QUOTE_NONE; NHS FFT topics micro F1 0.71 (pxtextmining current_best_model); Maalej 4-class accuracy 0.69,
mean F1 0.35 (app_review_analysis, SVM TF-IDF).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cxlens.text import evaluate

pytestmark = [pytest.mark.shared, pytest.mark.slow]
_cache: dict[tuple[str, bool], dict[str, Any]] = {}


def _eval(shared_data, embeddings: bool) -> dict[str, Any]:
    key = (str(shared_data), embeddings)
    if key not in _cache:
        _cache[key] = evaluate(shared_data, embeddings=embeddings, only=["uci", "fft", "maalej"])
    return _cache[key]


@pytest.fixture
def emb_available() -> bool:
    pytest.importorskip("sentence_transformers")
    return True


def test_vader_reproduces_the_package_figures(shared_data) -> None:
    v = evaluate(shared_data, only=["vader"], embeddings=False)["vader"]
    assert v["tweets"]["n"] == 4200 and v["amazon_snippets"]["n"] == 3708
    assert v["tweets"]["pearson_r"] >= 0.87
    assert round(v["tweets"]["pearson_r"], 3) == 0.872
    assert round(v["amazon_snippets"]["pearson_r"], 3) == 0.590


def test_vader_pearson_cross_check(shared_data) -> None:
    """Independent computation of the same r with numpy on the raw file (split on the first two tabs)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lines = (shared_data / "sentiment/vader_ground_truth/tweets_GroundTruth.txt").read_text().splitlines()
    parts = [ln.split("\t", 2) for ln in lines if ln.strip()]
    sia = SentimentIntensityAnalyzer()
    ours = np.array([sia.polarity_scores(p[2])["compound"] for p in parts])
    r = np.corrcoef(ours, np.array([float(p[1]) for p in parts]))[0, 1]
    v = evaluate(shared_data, only=["vader"], embeddings=False)["vader"]
    assert v["tweets"]["pearson_r"] == pytest.approx(r)


def test_uci_baseline_reproduces_published_accuracy(shared_data) -> None:
    u = evaluate(shared_data, only=["uci"], embeddings=False)["uci"]["sources"]
    assert u["imdb"]["default_quoting"]["n"] == 748
    assert round(u["yelp"]["default_quoting"]["bow_logreg"], 4) == 0.7960
    assert round(u["amazon"]["default_quoting"]["bow_logreg"], 4) == 0.7960
    assert round(u["imdb"]["default_quoting"]["bow_logreg"], 4) == 0.7487
    assert round(u["imdb"]["quote_none"]["bow_logreg"], 3) == 0.764
    assert u["imdb"]["quote_none"]["n"] == 1000


def test_embedding_model_beats_bag_of_words_on_every_source(shared_data, emb_available) -> None:
    u = _eval(shared_data, True)["uci"]["sources"]
    for src, r in u.items():
        for reading, b in r.items():
            assert b["embedding_logreg"] > b["bow_logreg"], (src, reading)


def test_fft_topics_against_published_and_a_trivial_baseline(shared_data, emb_available) -> None:
    """golden-figures.md: pxtextmining's TF-IDF + SVC micro F1 0.71 (context: larger data, every row). On the
    comparable protocol (every non-blank row incl. the "Did not answer" placeholders, random row split) cxlens
    is above it; on the honest one (real comments only, split by text) it must beat, by far, predicting the
    most common topic for every comment, computed here from the raw file with pandas."""
    import pandas as pd

    ft = _eval(shared_data, True)["fft_topics"]
    assert ft["features"] == "tfidf+embedding"
    assert ft["n_placeholders"] == 1189 and ft["n_train"] + ft["n_test"] == 7400 - 1189
    old = ft["rows_with_placeholders"]
    assert old["n_train"] + old["n_test"] == 7400 and old["micro_f1"] > 0.71
    raw = pd.read_csv(shared_data / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv", dtype=str,
                      keep_default_na=False)
    text = raw["FFT answer"].str.strip()
    comments = raw[(text != "") & (text.str.lower() != "did not answer")]
    fixed = {"Comment ID", "Trust", "Respondent ID", "Date", "Service type 1", "Service type 2",
             "FFT categorical answer", "FFT question", "FFT answer", "Person identifiable info?",
             "Comment sentiment"}
    y = comments[[c for c in raw.columns if c not in fixed]].apply(pd.to_numeric, errors="coerce").fillna(0) > 0
    top = y.sum().idxmax()  # "Positive experience & gratitude"
    tp = y[top].sum()
    baseline = 2 * tp / (len(y) + y.to_numpy().sum())  # micro F1 of predicting only `top` for every comment
    assert 0.2 < baseline < 0.3
    assert ft["micro_f1"] > baseline + 0.3
    assert ft["micro_f1"] < old["micro_f1"]  # placeholders and repeated comments inflate the row-split figure
    assert 0 < ft["macro_f1"] <= 1 and 0 < ft["exact_match"] <= 1


def test_fft_sentiment_beats_majority_class(shared_data, emb_available) -> None:
    import pandas as pd

    fs = _eval(shared_data, True)["fft_sentiment"]
    raw = pd.read_csv(shared_data / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv", dtype=str,
                      keep_default_na=False)
    lab = pd.to_numeric(raw.loc[raw["FFT answer"].str.strip() != "", "Comment sentiment"], errors="coerce").dropna()
    majority = lab.value_counts(normalize=True).iloc[0]  # independent: share of the most common label
    assert fs["n_train"] + fs["n_test"] == len(lab)
    for m in fs["models"].values():
        assert m["accuracy"] > majority
        assert 0 < m["macro_f1"] <= 1


def test_maalej_beats_published_baseline(shared_data, emb_available) -> None:
    m = _eval(shared_data, True)["maalej"]
    assert m["n"] == 3734
    best = m["models"]["embedding_logreg"]
    assert best["accuracy"] > 0.69
    assert best["macro_f1"] > 0.35


def test_bitext_intents_on_its_test_split(shared_data) -> None:
    b = evaluate(shared_data, only=["bitext"], embeddings=False)["bitext"]
    assert (b["n_train"], b["n_test"], b["n_intents"]) == (6480, 810, 27)  # golden-figures.md counts
    # regression target from our own run (0.995): Bitext is linguist-written and nearly separable
    assert b["models"]["tfidf_logreg"]["intent_accuracy"] >= 0.98


def test_missing_folder_skips_each_block_with_a_reason(tmp_path) -> None:
    r = evaluate(tmp_path, embeddings=False)
    for key in ("uci", "fft_topics", "fft_sentiment", "maalej", "bitext"):
        assert r[key]["status"] == "skipped" and "not found" in r[key]["reason"]
    assert r["vader"]["tweets"]["status"] == "skipped"
