"""Retrain the heads bundled with cxlens from the labelled sets bundled with cxlens (reproducible).

``python bench/train_text_models.py`` (or ``cxlens eval text --retrain``) calls :func:`train_all`, which
writes ``src/cxlens/text/heads/<name>.{npz,json}``. Every step is deterministic (lbfgs logistic regression,
fixed settings, no random state involved), so a retrain on the same library versions reproduces the weights.

Training data (all bundled; sources and licences in ``cxlens/datasets/text/ATTRIBUTION.md``):

- sentiment (negative / neutral / positive): the 3,000 UCI labelled sentences (Kotzias et al. 2015); the
  4,200 VADER ground-truth tweets (mean rating <= -1 negative, >= 1 positive, within +-0.5 neutral, the rest
  left out); NHS FFT comments with a human sentiment label (1-2 positive, 3 neutral/mixed, 4-5 negative).
- reviews: the 3,734 Maalej et al. labelled app reviews (title and text).
- intents: the 6,480 Bitext training utterances (27 intents, 11 categories).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens.text import _data as D
from cxlens.text.classify import review_text
from cxlens.text.features import embed, embeddings_available
from cxlens.text.heads import LinearHead, fit_head, head_path

__all__ = ["HEAD_VERSION", "sentiment_training_set", "train_all"]

HEAD_VERSION = "1"
"""Bumped whenever training data or settings change; stored in every head and every stored score."""


def sentiment_training_set() -> pd.DataFrame:
    """``text``, ``label`` (negative / neutral / positive), ``source`` from the bundled labelled sets."""
    uci = pd.concat([D.read_uci(None, s, quoting=csv.QUOTE_NONE).assign(source=f"uci_{s}") for s in D.UCI_SOURCES])
    uci = pd.DataFrame({"text": uci["sentence"], "label": np.where(uci["label"] == 1, "positive", "negative"),
                        "source": uci["source"]})
    tw = D.read_vader_truth(D.bundled_path("tweets_GroundTruth.txt"))
    m = tw["mean_sentiment"].to_numpy()
    lab = np.select([m <= -1, m >= 1, np.abs(m) <= 0.5], ["negative", "positive", "neutral"], "")
    tw = pd.DataFrame({"text": tw["text"], "label": lab, "source": "vader_tweets"})
    fft, _ = D.read_fft(None)
    s = fft["sentiment"].to_numpy()
    lab = np.select([s <= 2, s == 3, s >= 4], ["positive", "neutral", "negative"], "")
    ff = pd.DataFrame({"text": fft["text"], "label": np.where(np.isnan(s), "", lab), "source": "nhs_fft"})
    out = pd.concat([uci, tw, ff], ignore_index=True)
    return out[out["label"] != ""].reset_index(drop=True)


def train_all(out_dir: str | Path | None = None, *, embeddings: bool | None = None,
              log: Callable[[str], None] = print) -> list[Path]:
    """Train every head and write it to ``out_dir`` (default: the package's heads folder).

    ``embeddings=None`` trains the embedding heads when the ``[text]`` extra is installed."""
    out = head_path("") if out_dir is None else Path(out_dir)
    use_emb = embeddings_available() if embeddings is None else embeddings
    written: list[Path] = []

    def save(h: LinearHead) -> None:
        written.append(h.save(out))
        log(f"{h.name}: {len(h.classes)} classes, {h.coef.shape[1]:,} features, trained on {h.info['n_train']:,}")

    sent = sentiment_training_set()
    info = {"data": "UCI sentences + VADER tweets + NHS FFT (bundled)",
            "counts": {k: int(v) for k, v in sent["label"].value_counts().sort_index().items()}}
    texts, labels = sent["text"].tolist(), sent["label"].tolist()
    save(fit_head("sentiment_tfidf", f"sentiment_tfidf-{HEAD_VERSION}", "tfidf", texts, labels, info=dict(info)))
    rev = D.read_maalej_csv(None)
    rtexts = review_text(rev["comment"].tolist(), rev["title"].tolist())
    rinfo = {"data": "Maalej et al. 2016 app reviews (bundled)"}
    save(fit_head("reviews_tfidf", f"reviews_tfidf-{HEAD_VERSION}", "tfidf", rtexts, rev["label"].tolist(),
                  info=dict(rinfo)))
    bt = D.read_bitext(None, "train")
    cats = dict(zip(bt["intent"], bt["category"], strict=True))
    binfo = {"data": "Bitext customer-service training split (bundled)", "categories": cats}
    save(fit_head("intents_tfidf", f"intents_tfidf-{HEAD_VERSION}", "tfidf", bt["utterance"].tolist(),
                  bt["intent"].tolist(), C=10.0, info=dict(binfo)))
    if use_emb:
        log("embedding the training sets (all-MiniLM-L6-v2) ...")
        save(fit_head("sentiment_embedding", f"sentiment_embedding-{HEAD_VERSION}", "embedding", texts, labels,
                      embeddings=embed(texts), info=dict(info)))
        save(fit_head("reviews_embedding", f"reviews_embedding-{HEAD_VERSION}", "embedding", rtexts,
                      rev["label"].tolist(), embeddings=embed(rtexts), info=dict(rinfo)))
        utt = bt["utterance"].tolist()
        save(fit_head("intents_embedding", f"intents_embedding-{HEAD_VERSION}", "embedding", utt,
                      bt["intent"].tolist(), C=10.0, embeddings=embed(utt), info=dict(binfo)))
    else:
        log("sentence-transformers not installed: embedding heads not trained")
    return written
