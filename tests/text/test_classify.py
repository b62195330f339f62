"""classify_reviews (Maalej classes) and route_intents (Bitext) with the bundled heads."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cxlens.errors import CxlensInputError
from cxlens.text import REVIEW_CLASSES, classify_reviews, route_intents
from cxlens.text._data import read_bitext
from cxlens.text.classify import review_text


def test_review_classes_on_clear_examples() -> None:
    texts = ["The app crashes every time I open it since the last update, please fix this bug",
             "Please add a dark mode and an option to export to PDF",
             "Great app, love it!",
             "Great app, love it!"]
    out = classify_reviews(texts)
    assert out[0] == "bug_report"
    assert out[1] == "feature_request"
    assert out[2] == "praise"
    assert set(out) <= set(REVIEW_CLASSES)
    assert classify_reviews([]) == []


def test_titles_are_joined_and_checked() -> None:
    assert review_text(["body", "b2"], ["Title", None]) == ["Title. body", "b2"]
    assert review_text(["body"], ["  "]) == ["body"]
    with pytest.raises(CxlensInputError, match="one title per text"):
        classify_reviews(["a", "b"], ["t"])


def test_route_intents_shape_and_category_of_intent() -> None:
    t = route_intents(["I want to cancel my order 123", "how do I get my money back", "change my delivery address"])
    assert t.column_names == ["intent", "category", "confidence"]
    assert t.column("intent").to_pylist()[0] == "cancel_order"
    conf = t.column("confidence").to_pylist()
    assert all(0 < c <= 1 for c in conf)
    # every category is the one the Bitext training file gives the intent
    train = read_bitext(None, "train")
    truth = dict(zip(train["intent"], train["category"], strict=True))
    for i, c in zip(t.column("intent").to_pylist(), t.column("category").to_pylist(), strict=True):
        assert truth[i] == c
    empty = route_intents([])
    assert empty.num_rows == 0 and empty.schema.field("confidence").type == pa.float64()


def test_embedding_review_method() -> None:
    pytest.importorskip("sentence_transformers")
    out = classify_reviews(["It would be great if you could add a dark mode option in the next version",
                            "It crashes on start, bug"], method="embedding")
    assert out == ["feature_request", "bug_report"]
