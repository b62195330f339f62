"""Linear heads: saved without pickles, reloaded predictions equal scikit-learn's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cxlens.errors import NotFoundError
from cxlens.text.heads import fit_head, load_head, make_tfidf

TRAIN = ["great product love it", "awful broken crash", "love the design", "crash after update, broken",
         "nice and great", "awful support never again", "love love love", "broken again awful"] * 2
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"] * 2


@pytest.mark.parametrize("labels", [LABELS, [*LABELS[:-3], "mid", "mid", "mid"]])
def test_roundtrip_equals_sklearn(tmp_path, labels) -> None:
    head = fit_head("t", "t-1", "tfidf", TRAIN, labels, info={"n_train": len(TRAIN)})
    head.save(tmp_path)
    meta = json.loads((tmp_path / "t.json").read_text())
    assert meta["feature"] == "tfidf" and meta["version"] == "t-1"
    loaded = load_head("t", tmp_path)
    # independent: scikit-learn's own pipeline with the same settings
    vec = make_tfidf().fit(TRAIN)
    clf = LogisticRegression(max_iter=3000).fit(vec.transform(TRAIN), labels)
    new = ["love it", "broken crash", "unrelated words"]
    expected = clf.predict_proba(vec.transform(new))
    assert loaded.classes == list(clf.classes_)
    np.testing.assert_allclose(loaded.predict_proba(new), expected, atol=1e-5)
    assert loaded.predict(new).tolist() == clf.predict(vec.transform(new)).tolist()


def test_missing_head_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="train_text_models"):
        load_head("nope", tmp_path)


def test_bundled_heads_are_not_pickles() -> None:
    from cxlens.text.heads import head_path

    for f in head_path("").glob("*.npz"):
        with np.load(f, allow_pickle=False) as z:  # raises if anything in it is a pickled object
            assert "coef" in z.files


@pytest.mark.slow
def test_retraining_reproduces_the_bundled_tfidf_heads(tmp_path) -> None:
    """bench/train_text_models.py is deterministic: retraining from the bundled data gives the shipped weights."""
    from cxlens.text.heads import head_path
    from cxlens.text.train import train_all

    train_all(tmp_path, embeddings=False, log=lambda m: None)
    for name in ("sentiment_tfidf", "reviews_tfidf", "intents_tfidf"):
        new, old = load_head(name, tmp_path), load_head(name, head_path(""))
        assert new.classes == old.classes and new.version == old.version
        assert new.tfidf.vocabulary_ == old.tfidf.vocabulary_
        np.testing.assert_allclose(new.coef, old.coef, atol=1e-5)  # stored as float32
        np.testing.assert_allclose(new.intercept, old.intercept, atol=1e-9)
