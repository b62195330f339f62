"""Recurring problem clusters: near-duplicate complaints grouped together.

Texts are cleaned column-wise (pyarrow: redaction marks such as CFPB's ``XXXX``, amounts and digits
removed), turned into TF-IDF vectors (scikit-learn; word 1-2-grams or character 3-5-grams), and linked when
their cosine similarity reaches a threshold. Clusters are then either the connected components of that
similarity graph (scipy; scales to large sets because the similarity is computed in sparse row blocks and
pruned at the threshold) or, for up to :data:`MAX_AGGLOMERATIVE` texts, average-linkage agglomerative
clusters cut at ``1 - threshold`` cosine distance (scikit-learn). Each cluster reports its size, first and
last seen, top terms, the most common product / category, and the texts closest to its centre.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from cxlens.errors import QueryError

__all__ = ["MAX_AGGLOMERATIVE", "clean_texts", "recurring_clusters"]

#: Agglomerative clustering needs the full distance matrix; above this many texts use components.
MAX_AGGLOMERATIVE = 4000
_BLOCK = 1024
_NEIGHBORS = 30


def clean_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lower-case text without redaction marks (``XX``, ``XXXX``, ``XX/XX/XXXX``), braces, amounts, digits."""
    s = pc.utf8_lower(pc.fill_null(texts, ""))
    s = pc.replace_substring_regex(s, r"\bx{2,}\b", " ")
    s = pc.replace_substring_regex(s, r"[{}$]|\d+([.,]\d+)*", " ")
    s = pc.replace_substring_regex(s, r"\s+", " ")
    return s.combine_chunks() if isinstance(s, pa.ChunkedArray) else s


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _vectorise(texts: list[str], analyzer: str) -> tuple[sparse.csr_matrix, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if analyzer == "char":
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                              max_features=200_000, dtype=np.float32)
    else:
        vec = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, stop_words="english",
                              sublinear_tf=True, max_features=200_000, dtype=np.float32)
    try:
        X = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary: too few or too short texts
        return sparse.csr_matrix((len(texts), 0), dtype=np.float32), np.array([], dtype=object)
    return X.tocsr(), vec.get_feature_names_out()


def _similarity_graph(X: sparse.csr_matrix, threshold: float, max_neighbors: int = _NEIGHBORS) -> sparse.csr_matrix:
    """Pairs with cosine similarity >= threshold (rows of X are L2-normalised), in sparse row blocks.

    Each text keeps at most its ``max_neighbors`` most similar partners: the connected components of that
    graph are the same near-duplicate groups (a dense group stays connected through its nearest
    neighbours), while memory stays linear in the number of texts instead of quadratic in a big cluster.
    """
    n = X.shape[0]
    XT = X.T.tocsc()
    rows, cols = [], []
    for start in range(0, n, _BLOCK):
        s = (X[start:start + _BLOCK] @ XT).tocsr()
        s.data[s.data < threshold] = 0
        s.eliminate_zeros()
        r = np.repeat(np.arange(s.shape[0]), np.diff(s.indptr))
        order = np.lexsort((-s.data, r))  # by row, most similar first
        rank = np.arange(order.size) - s.indptr[r[order]]
        keep = order[rank < max_neighbors + 1]  # + 1: a text is its own nearest neighbour
        rows.append(r[keep] + start)
        cols.append(s.indices[keep])
    r_all = np.concatenate(rows) if rows else np.array([], int)
    c_all = np.concatenate(cols) if cols else np.array([], int)
    return sparse.csr_matrix((np.ones(r_all.size, dtype=np.int8), (r_all, c_all)), shape=(n, n))


def recurring_clusters(
    texts: pa.Array | pa.ChunkedArray,
    seen: np.ndarray,
    labels: dict[str, pa.Array | pa.ChunkedArray] | None = None,
    *,
    threshold: float = 0.5,
    min_size: int = 3,
    max_clusters: int = 20,
    examples: int = 3,
    analyzer: Literal["word", "char"] = "word",
    method: Literal["components", "agglomerative"] = "components",
    top_terms: int = 6,
    example_chars: int = 400,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Group near-duplicate texts.

    Parameters
    ----------
    texts : Arrow string array
        The complaints (nulls and blanks are skipped by the caller).
    seen : numpy datetime64 array
        When each text was received (first / last seen of a cluster).
    labels : dict of name -> Arrow array, optional
        Columns whose most common value per cluster is reported (e.g. product, category).
    threshold : float
        Cosine similarity that links two texts (0-1).
    min_size : int
        Smallest cluster reported.
    method : {"components", "agglomerative"}
        Connected components of the similarity graph (single linkage), or average-linkage clusters.

    Returns
    -------
    (clusters, info)
        Clusters, largest first, and a summary (texts clustered, clusters found, method, parameters).
    """
    if not 0 < threshold < 1:
        raise QueryError(f"cluster_threshold must lie between 0 and 1 (got {threshold})")
    raw = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    cleaned_arr = clean_texts(raw)
    dup_code = pc.dictionary_encode(cleaned_arr).indices.to_numpy(zero_copy_only=False)
    cleaned = cleaned_arr.to_pylist()
    n = len(cleaned)
    info: dict[str, Any] = {"texts": n, "method": method, "threshold": threshold, "analyzer": analyzer,
                            "min_size": min_size}
    X, terms = _vectorise(cleaned, analyzer)
    if n < 2 or X.shape[1] == 0:
        return [], {**info, "clusters": 0, "clustered_texts": 0}
    if method == "agglomerative":
        if n > MAX_AGGLOMERATIVE:
            raise QueryError(f"agglomerative clustering is limited to {MAX_AGGLOMERATIVE:,} texts (got {n:,}); "
                             "use cluster_method 'components'")
        from sklearn.cluster import AgglomerativeClustering

        dist = 1.0 - (X @ X.T).toarray()
        np.clip(dist, 0.0, 2.0, out=dist)
        labels_ = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                          distance_threshold=1.0 - threshold).fit_predict(dist)
    else:
        _, labels_ = connected_components(_similarity_graph(X, threshold), directed=False)
    sizes = np.bincount(labels_)
    keep = np.flatnonzero(sizes >= min_size)
    keep = keep[np.argsort(-sizes[keep], kind="stable")]
    info.update({"clusters": int(keep.size), "clustered_texts": int(sizes[keep].sum())})
    keep = keep[:max_clusters]
    seen = np.asarray(seen)
    label_cols = {k: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v).to_numpy(zero_copy_only=False)
                  for k, v in (labels or {}).items()}
    out = []
    for rank, c in enumerate(keep, start=1):  # at most max_clusters clusters, not rows
        idx = np.flatnonzero(labels_ == c)
        centre = np.asarray(X[idx].mean(axis=0)).ravel()
        top = np.argsort(-centre)[:top_terms]
        sim = np.asarray(X[idx] @ centre).ravel()
        ranked = idx[np.argsort(-sim, kind="stable")]
        _, first = np.unique(dup_code[ranked], return_index=True)  # distinct texts, most central first
        ex = ranked[np.sort(first)[:examples]]
        when = seen[idx]
        when = when[~np.isnat(when)] if np.issubdtype(when.dtype, np.datetime64) else when
        row: dict[str, Any] = {
            "cluster": rank, "count": int(idx.size),
            "first_seen": str(when.min())[:10] if when.size else None,
            "last_seen": str(when.max())[:10] if when.size else None,
            "top_terms": [str(terms[t]) for t in top if centre[t] > 0],
            "distinct_texts": int(np.unique(dup_code[idx]).size),
            "examples": [_clip(raw[int(i)].as_py(), example_chars) for i in ex],
            "example_index": [int(i) for i in ex],
        }
        for name, col in label_cols.items():
            vals, counts = np.unique(col[idx].astype(str), return_counts=True)
            row[f"top_{name}"] = str(vals[np.argmax(counts)]) if vals.size else None
        out.append(row)
    return out, info
