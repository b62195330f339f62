"""Small trained linear classifiers ("heads") on text features, saved as ``.npz`` + ``.json`` (no pickles).

A head is the weights of a scikit-learn linear model (logistic regression) plus the recipe of its features:
``tfidf`` (a TF-IDF vectoriser whose vocabulary and idf are stored with the head), ``embedding`` (the
MiniLM sentence embedding) or ``combo`` (both, stacked). Prediction is a matrix product and a softmax /
sigmoid in numpy, so loading a head needs neither pickles nor the library version that trained it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from cxlens.errors import NotFoundError
from cxlens.text.features import embed, tfidf_from_state, tfidf_state

__all__ = ["HEADS_DIR", "FeatureKind", "LinearHead", "fit_head", "head_path", "load_head", "make_tfidf"]

FeatureKind = Literal["tfidf", "embedding", "combo"]
HEADS_DIR = "heads"


def head_path(name: str) -> Path:
    """Folder of the heads bundled with cxlens (``cxlens/text/heads``) joined with ``name``."""
    with as_file(files("cxlens.text") / HEADS_DIR / name) as p:
        return Path(p)


def make_tfidf(**overrides: Any) -> Any:
    """The TF-IDF vectoriser every head uses: words and word pairs, sublinear tf, terms in >= 2 texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    params: dict[str, Any] = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "strip_accents": "unicode"}
    params.update(overrides)
    return TfidfVectorizer(**params)


@dataclass
class LinearHead:
    """A trained linear classifier over one kind of text features.

    Attributes
    ----------
    name, version : str
        Identify the head; ``version`` is stored next to every score it produces.
    feature : {"tfidf", "embedding", "combo"}
        Which features it reads.
    classes : list of str
        Output classes, in column order of ``coef``.
    coef, intercept : ndarray
        ``(n_classes or 1, n_features)`` and ``(n_classes or 1,)``.
    multilabel : bool
        One sigmoid per class (multi-label) instead of a softmax.
    threshold : float
        Probability cut for multi-label prediction.
    """

    name: str
    version: str
    feature: FeatureKind
    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    multilabel: bool = False
    threshold: float = 0.5
    tfidf: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    # -- features ---------------------------------------------------------------------------------
    def features(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
                 progress: Callable[[int], None] | None = None) -> Any:
        """The feature matrix of ``texts`` (sparse for tfidf/combo, dense for embeddings)."""
        parts: list[Any] = []
        if self.feature in ("tfidf", "combo"):
            parts.append(self.tfidf.transform(["" if t is None else str(t) for t in texts]))
        if self.feature in ("embedding", "combo"):
            e = embeddings if embeddings is not None else embed(texts, progress=progress)
            parts.append(e if self.feature == "embedding" else sp.csr_matrix(e))
        return parts[0] if len(parts) == 1 else sp.hstack(parts).tocsr()

    def decision(self, X: Any) -> np.ndarray:
        """Linear scores ``X @ coef.T + intercept`` as a dense ``(n, n_classes)`` array."""
        z = X @ self.coef.T
        z = np.asarray(z.todense() if sp.issparse(z) else z, dtype=np.float64) + self.intercept
        if z.shape[1] == 1 and not self.multilabel:  # binary logistic regression: one column
            z = np.hstack([-z / 2, z / 2])
        return z

    def predict_proba(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        """Class probabilities (softmax; independent sigmoids when multi-label)."""
        z = self.decision(self.features(texts, **kw))
        if self.multilabel:
            return 1.0 / (1.0 + np.exp(-z))
        z = z - z.max(axis=1, keepdims=True)
        ez = np.exp(z)
        return ez / ez.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        """Most probable class per text (object array of class names)."""
        p = self.predict_proba(texts, **kw)
        return np.asarray(self.classes, dtype=object)[p.argmax(axis=1)]

    # -- persistence ------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``<name>.npz`` (weights, idf) and ``<name>.json`` (classes, vocabulary, info)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"coef": self.coef.astype(np.float32), "intercept": self.intercept}
        meta: dict[str, Any] = {"name": self.name, "version": self.version, "feature": self.feature,
                                "classes": self.classes, "multilabel": self.multilabel,
                                "threshold": self.threshold, "info": self.info}
        if self.tfidf is not None:
            state, idf = tfidf_state(self.tfidf)
            meta["tfidf"] = state
            arrays["idf"] = idf
        np.savez_compressed(folder / f"{self.name}.npz", **arrays)
        (folder / f"{self.name}.json").write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
                                                  encoding="utf-8")
        return folder / f"{self.name}.json"


_cache: dict[tuple[str, str], LinearHead] = {}


def load_head(name: str, folder: str | Path | None = None) -> LinearHead:
    """Load a head saved by :meth:`LinearHead.save` (default: the heads bundled with cxlens)."""
    base = head_path("") if folder is None else Path(folder)
    key = (str(base), name)
    if key in _cache:
        return _cache[key]
    jpath, npath = base / f"{name}.json", base / f"{name}.npz"
    if not jpath.exists() or not npath.exists():
        raise NotFoundError(f"text model {name!r} not found in {base} (expected {name}.json and {name}.npz); "
                            "run `python bench/train_text_models.py` to build it")
    meta = json.loads(jpath.read_text(encoding="utf-8"))
    with np.load(npath) as z:
        coef = z["coef"].astype(np.float64)
        intercept = z["intercept"].astype(np.float64)
        idf = z["idf"] if "idf" in z.files else None
    tfidf = tfidf_from_state(meta["tfidf"], idf) if "tfidf" in meta else None
    head = LinearHead(meta["name"], meta["version"], meta["feature"], list(meta["classes"]), coef, intercept,
                      bool(meta.get("multilabel", False)), float(meta.get("threshold", 0.5)), tfidf,
                      dict(meta.get("info", {})))
    _cache[key] = head
    return head


def fit_head(name: str, version: str, feature: FeatureKind, texts: Sequence[str], labels: Sequence[str], *,
             embeddings: np.ndarray | None = None, C: float = 1.0, info: dict[str, Any] | None = None,
             class_weight: str | None = None) -> LinearHead:
    """Train a single-label logistic-regression head (scikit-learn, lbfgs, fixed settings: reproducible).

    Parameters
    ----------
    texts, labels : sequences
        Training texts and their class names.
    embeddings : ndarray, optional
        Precomputed embeddings of ``texts`` (for ``embedding``/``combo``).
    C : float
        Inverse regularisation strength.
    """
    from sklearn.linear_model import LogisticRegression

    tfidf = make_tfidf().fit(list(texts)) if feature in ("tfidf", "combo") else None
    head = LinearHead(name, version, feature, [], np.zeros((0, 0)), np.zeros(0), tfidf=tfidf, info=info or {})
    X = head.features(texts, embeddings=embeddings)
    clf = LogisticRegression(C=C, max_iter=3000, class_weight=class_weight).fit(X, np.asarray(labels))
    head.classes = [str(c) for c in clf.classes_]
    head.coef = np.asarray(clf.coef_, dtype=np.float64)
    head.intercept = np.asarray(clf.intercept_, dtype=np.float64)
    head.info.setdefault("n_train", len(texts))
    return head
