"""Sentiment of short texts: VADER (lexicon), TF-IDF + logistic regression, MiniLM embeddings + logistic regression.

Every method returns a score in [-1, 1] and a label (negative / neutral / positive):

- ``vader``: the VADER compound score (vaderSentiment 3.3.2, Hutto & Gilbert 2014), labelled with the authors'
  thresholds (>= 0.05 positive, <= -0.05 negative).
- ``tfidf`` and ``embedding``: a three-class logistic-regression head trained on the labelled sets bundled with
  cxlens (UCI sentences, VADER tweets, NHS FFT comments; see ``bench/train_text_models.py``); score =
  P(positive) - P(negative), label = the most probable class. ``embedding`` needs the ``[text]`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from cxlens.errors import CxlensInputError

__all__ = ["METHODS", "SENTIMENT_LABELS", "method_version", "sentiment", "sentiment_arrays", "vader_compound"]

METHODS = ("vader", "tfidf", "embedding")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
VADER_THRESHOLD = 0.05  # Hutto & Gilbert's published cut on the compound score
_HEADS = {"tfidf": "sentiment_tfidf", "embedding": "sentiment_embedding"}
_vader: Any = None


def _analyzer() -> Any:
    global _vader
    if _vader is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _vader = SentimentIntensityAnalyzer()
    return _vader


def vader_compound(texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
    """VADER compound scores. VADER's rule engine works on one string at a time and has no batch API, so
    this calls it per text (the only per-text loop in cxlens.text; ~10k texts/s)."""
    sia = _analyzer()
    out = np.empty(len(texts), dtype=np.float64)
    step = 5000
    for start in range(0, len(texts), step):
        chunk = texts[start:start + step]
        out[start:start + len(chunk)] = [sia.polarity_scores("" if t is None else str(t))["compound"]
                                         for t in chunk]
        if progress is not None:
            progress(len(chunk))
    return out


def method_version(method: str) -> str:
    """Version string stored with every score of ``method``."""
    if method == "vader":
        from importlib.metadata import version

        return f"vaderSentiment-{version('vaderSentiment')}"
    from cxlens.text.heads import load_head

    return load_head(_HEADS[method]).version


def _check(method: str) -> None:
    if method not in METHODS:
        raise CxlensInputError(f"unknown sentiment method {method!r}; methods: {', '.join(METHODS)}",
                               field="method", valid=list(METHODS))


def sentiment_arrays(texts: Sequence[str], method: str = "vader", *,
                     progress: Callable[[int], None] | None = None,
                     embeddings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores (float64 in [-1, 1]) and labels (object array) of ``texts``."""
    _check(method)
    texts = list(texts)
    if not texts:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=object)
    if method == "vader":
        score = vader_compound(texts, progress)
        label = np.where(score >= VADER_THRESHOLD, "positive",
                         np.where(score <= -VADER_THRESHOLD, "negative", "neutral")).astype(object)
        return score, label
    from cxlens.text.heads import load_head

    head = load_head(_HEADS[method])
    kw: dict[str, Any] = {"embeddings": embeddings} if embeddings is not None else {"progress": progress}
    p = head.predict_proba(texts, **kw)
    col = {c: i for i, c in enumerate(head.classes)}
    score = np.clip(p[:, col["positive"]] - p[:, col["negative"]], -1.0, 1.0)
    label = np.asarray(head.classes, dtype=object)[p.argmax(axis=1)]
    if method == "tfidf" and progress is not None:
        progress(len(texts))
    return score, label


def sentiment(texts: Sequence[str], method: str = "vader", *,
              progress: Callable[[int], None] | None = None) -> pa.Table:
    """Sentiment of each text.

    Parameters
    ----------
    texts : sequence of str
        The texts (``None`` counts as empty: score 0, neutral for VADER).
    method : {"vader", "tfidf", "embedding"}
        Scoring method (see the module docstring).
    progress : callable, optional
        Called with the number of texts done after each chunk.

    Returns
    -------
    pyarrow.Table
        One row per text, in input order: ``score`` (float in [-1, 1]), ``label`` ("negative" | "neutral" |
        "positive"), ``method`` and ``version``.

    Examples
    --------
    >>> sentiment(["I love it", "terrible support"]).column("label").to_pylist()
    ['positive', 'negative']
    """
    score, label = sentiment_arrays(texts, method, progress=progress)
    n = len(score)
    version = method_version(method)
    return pa.table({
        "score": pa.array(score, pa.float64()),
        "label": pa.array(label.tolist(), pa.string()),
        "method": pa.repeat(pa.scalar(method, pa.string()), n),
        "version": pa.repeat(pa.scalar(version, pa.string()), n),
    })
