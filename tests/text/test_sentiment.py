"""cxlens.text.sentiment: VADER, TF-IDF and embedding methods on small inline data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlens.errors import CxlensInputError
from cxlens.text import sentiment
from cxlens.text.sentiment import vader_compound

TEXTS = ["I love this app, it is wonderful!", "Terrible support, I am very angry.", "The parcel arrived on Monday.",
         None, ""]


def test_vader_matches_the_package_and_its_thresholds() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    t = sentiment(TEXTS)
    assert t.column_names == ["score", "label", "method", "version"]
    sia = SentimentIntensityAnalyzer()
    expected = [sia.polarity_scores(x or "")["compound"] for x in TEXTS]  # independent computation
    assert t.column("score").to_pylist() == pytest.approx(expected)
    # Hutto & Gilbert: >= 0.05 positive, <= -0.05 negative, otherwise neutral
    assert t.column("label").to_pylist() == ["positive", "negative", "neutral", "neutral", "neutral"]
    assert set(t.column("method").to_pylist()) == {"vader"}
    assert t.column("version")[0].as_py().startswith("vaderSentiment-")


def test_tfidf_method_separates_clear_cases() -> None:
    t = sentiment(TEXTS[:2], "tfidf")
    s = t.column("score").to_pylist()
    assert s[0] > 0 > s[1]
    assert t.column("label").to_pylist() == ["positive", "negative"]
    assert t.column("version")[0].as_py() == "sentiment_tfidf-1"


def test_unknown_method_names_the_valid_ones() -> None:
    with pytest.raises(CxlensInputError, match="vader, tfidf, embedding"):
        sentiment(["x"], "bert")


def test_empty_input() -> None:
    assert sentiment([]).num_rows == 0
    assert sentiment([], "tfidf").num_rows == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=12), st.sampled_from(["vader", "tfidf"]))
def test_scores_in_range_and_row_order_does_not_matter(texts: list[str], method: str) -> None:
    t = sentiment(texts, method)
    s = np.asarray(t.column("score").to_pylist())
    assert np.all((s >= -1) & (s <= 1))
    assert set(t.column("label").to_pylist()) <= {"negative", "neutral", "positive"}
    perm = np.random.default_rng(0).permutation(len(texts))
    t2 = sentiment([texts[i] for i in perm], method)
    assert np.allclose(np.asarray(t2.column("score").to_pylist()), s[perm])


def test_vader_progress_callback_counts_every_text() -> None:
    seen: list[int] = []
    vader_compound(["good"] * 7, progress=seen.append)
    assert sum(seen) == 7


def test_embedding_method() -> None:
    pytest.importorskip("sentence_transformers")
    t = sentiment(TEXTS[:2], "embedding")
    s = t.column("score").to_pylist()
    assert s[0] > 0 > s[1]
    assert t.column("method")[0].as_py() == "embedding"
