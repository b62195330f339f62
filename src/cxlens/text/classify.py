"""Text classifiers shipped with cxlens: app-review type (Maalej et al.) and support-intent routing (Bitext).

Both are linear heads (:mod:`cxlens.text.heads`) trained by ``bench/train_text_models.py`` on the labelled
sets bundled in ``cxlens/datasets``. ``method="tfidf"`` (the default) needs only scikit-learn;
``method="embedding"`` uses the MiniLM sentence embedding (``[text]`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from cxlens.errors import CxlensInputError
from cxlens.text.heads import load_head

__all__ = ["REVIEW_CLASSES", "classify_reviews", "review_text", "route_intents"]

REVIEW_CLASSES = ("bug_report", "feature_request", "praise", "user_experience")
_REVIEW_HEADS = {"tfidf": "reviews_tfidf", "embedding": "reviews_embedding"}
_INTENT_HEADS = {"tfidf": "intents_tfidf", "embedding": "intents_embedding"}


def review_text(texts: Sequence[str | None], titles: Sequence[str | None] | None = None) -> list[str]:
    """``"<title>. <text>"`` (or the text alone without a title): the input the review heads were trained on."""
    import pyarrow.compute as pc

    body = pc.fill_null(pa.array(list(texts), pa.string()), "")
    if titles is None:
        return body.to_pylist()
    if len(titles) != len(texts):
        raise CxlensInputError(f"titles has {len(titles)} items but texts has {len(texts)}; give one title "
                               "per text (None for none)", field="titles")
    t = pc.utf8_trim_whitespace(pc.fill_null(pa.array(list(titles), pa.string()), ""))
    joined = pc.if_else(pc.equal(t, ""), body, pc.binary_join_element_wise(t, body, ". "))
    return joined.to_pylist()


def _head(method: str, heads: dict[str, str]) -> str:
    if method not in heads:
        raise CxlensInputError(f"unknown method {method!r}; methods: {', '.join(heads)}", field="method",
                               valid=list(heads))
    return heads[method]


def classify_reviews(texts: Sequence[str | None], titles: Sequence[str | None] | None = None, *,
                     method: str = "tfidf", progress: Callable[[int], None] | None = None) -> list[str]:
    """Classify app reviews as ``bug_report``, ``feature_request``, ``praise`` or ``user_experience``.

    Parameters
    ----------
    texts : sequence of str
        Review bodies.
    titles : sequence of str, optional
        Review titles, one per text (``None`` where there is none).
    method : {"tfidf", "embedding"}
        Features of the classifier (both trained on the Maalej et al. 2016 labelled reviews).

    Returns
    -------
    list of str
        One class per review, in input order.
    """
    head = load_head(_head(method, _REVIEW_HEADS))
    docs = review_text(texts, titles)
    if not docs:
        return []
    return head.predict(docs, **({"progress": progress} if method == "embedding" else {})).tolist()


def route_intents(texts: Sequence[str | None], *, method: str = "tfidf",
                  progress: Callable[[int], None] | None = None) -> pa.Table:
    """Route customer messages to one of the 27 Bitext customer-service intents.

    Returns
    -------
    pyarrow.Table
        ``intent`` (e.g. ``cancel_order``), ``category`` (e.g. ``ORDER``), ``confidence`` (the winning class
        probability, 0-1), one row per text in input order.
    """
    head = load_head(_head(method, _INTENT_HEADS))
    docs = ["" if t is None else str(t) for t in texts]
    if not docs:
        return pa.table({"intent": pa.array([], pa.string()), "category": pa.array([], pa.string()),
                         "confidence": pa.array([], pa.float64())})
    p = head.predict_proba(docs, **({"progress": progress} if method == "embedding" else {}))
    best = p.argmax(axis=1)
    classes = np.asarray(head.classes, dtype=object)
    to_cat = head.info.get("categories", {})
    cats = np.asarray([to_cat.get(c) for c in head.classes], dtype=object)  # per class, not per row
    return pa.table({
        "intent": pa.array(classes[best].tolist(), pa.string()),
        "category": pa.array(cats[best].tolist(), pa.string()),
        "confidence": pa.array(p[np.arange(len(docs)), best], pa.float64()),
    })
