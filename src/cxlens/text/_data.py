"""Readers for the labelled text sets: the copies bundled in ``cxlens/datasets/`` and the shared folder.

Every reader returns plain numpy arrays / pandas frames and knows the parsing gotchas of its file
(stray quotes in the UCI imdb file, trailing commas in the Maalej JSON, bare carriage returns in the
Maalej CSV, blank FFT comments). Sources and licences: ``cxlens/datasets/text/ATTRIBUTION.md``.
"""

from __future__ import annotations

import csv
import json
import re
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FFT_FIXED_COLUMNS",
    "REVIEW_CLASSES",
    "UCI_SOURCES",
    "bundled_path",
    "read_bitext",
    "read_fft",
    "read_maalej_csv",
    "read_maalej_json",
    "read_uci",
    "read_vader_truth",
    "shared_paths",
]

UCI_SOURCES = ("yelp", "amazon", "imdb")
_UCI_FILES = {"yelp": "yelp_labelled.txt", "amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt"}
REVIEW_CLASSES = ("bug_report", "feature_request", "praise", "user_experience")
_MAALEJ_LABELS = {"Bug": "bug_report", "Feature": "feature_request", "Rating": "praise",
                  "UserExperience": "user_experience"}
FFT_FIXED_COLUMNS = frozenset({"Comment ID", "Trust", "Respondent ID", "Date", "Service type 1", "Service type 2",
                               "FFT categorical answer", "FFT question", "FFT answer", "Person identifiable info?",
                               "Comment sentiment"})


def bundled_path(name: str, folder: str = "text") -> Path:
    """Filesystem path of a file bundled under ``cxlens/datasets/<folder>/``."""
    with as_file(files("cxlens.datasets") / folder / name) as p:
        return Path(p)


def shared_paths(shared_dir: str | Path) -> dict[str, Path]:
    """Where each labelled set lives in a ``shared/data`` folder (the files may be absent)."""
    d = Path(shared_dir)
    return {
        "vader_tweets": d / "sentiment/vader_ground_truth/tweets_GroundTruth.txt",
        "vader_amazon": d / "sentiment/vader_ground_truth/amazonReviewSnippets_GroundTruth.txt",
        "uci": d / "sentiment/uci_sentiment_labelled_sentences",
        "fft": d / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv",
        "maalej": d / "app_reviews/maalej_app_review_classification",
        "bitext": d / "support_tickets/bitext_intent_detection",
        "textsummary": d / "surveys/nps_verbatims_textsummary/text_data_verbatim.csv",
    }


def read_uci(folder: str | Path | None, source: str, *, quoting: int = csv.QUOTE_MINIMAL) -> pd.DataFrame:
    """One UCI sentiment-labelled-sentences file as ``sentence``, ``label`` (1 positive, 0 negative).

    ``quoting=csv.QUOTE_MINIMAL`` is pandas' default and reads only 748 of the 1,000 imdb lines (stray
    double quotes swallow lines); ``csv.QUOTE_NONE`` reads all of them. ``folder=None`` reads the copy
    bundled with cxlens.
    """
    path = bundled_path(_UCI_FILES[source]) if folder is None else Path(folder) / _UCI_FILES[source]
    return pd.read_csv(path, names=["sentence", "label"], sep="\t", quoting=quoting)


def read_vader_truth(path: str | Path) -> pd.DataFrame:
    """VADER ground truth ``id<TAB>mean_sentiment<TAB>text`` (no header; split on the first two tabs)."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    s = pd.Series([ln for ln in lines if ln.strip()], dtype="string").str.split("\t", n=2, expand=True)
    return pd.DataFrame({"id": s[0], "mean_sentiment": pd.to_numeric(s[1]), "text": s[2].fillna("")})


def read_maalej_json(folder: str | Path) -> pd.DataFrame:
    """The four Maalej JSON files (trailing comma before ``]`` stripped) as ``title``, ``comment``,
    ``rating``, ``label`` (one of :data:`REVIEW_CLASSES`)."""
    frames = []
    for name, label in _MAALEJ_LABELS.items():
        raw = (Path(folder) / f"{name}.json").read_text(encoding="utf-8")
        rows = json.loads(re.sub(r",\s*\]\s*$", "]", raw))
        df = pd.DataFrame(rows)[["title", "comment", "rating"]]
        df["label"] = label
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["title"] = out["title"].fillna("").astype(str)
    out["comment"] = out["comment"].fillna("").astype(str)
    return out


def read_maalej_csv(path: str | Path | None = None) -> pd.DataFrame:
    """The tidy Maalej CSV (bare carriage returns replaced first), same columns as :func:`read_maalej_json`.

    ``path=None`` reads the copy bundled with the demo data."""
    import io

    p = bundled_path("maalej_reviews_converted.csv", "demo") if path is None else Path(path)
    # read bytes: text mode would turn the bare carriage returns into line breaks before we can replace them
    text = p.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", " ")
    df = pd.read_csv(io.StringIO(text), dtype={"title": "string", "comment": "string"}, keep_default_na=False)
    df["label"] = df["label"].map(_MAALEJ_LABELS)
    return df[["title", "comment", "rating", "label"]].astype({"title": str, "comment": str})


def read_bitext(folder: str | Path | None, split: str = "train") -> pd.DataFrame:
    """A Bitext split (``train``, ``validation``, ``test``) as ``utterance``, ``intent``, ``category``.

    ``folder=None`` reads the bundled copy (train and test only)."""
    name = {"train": "Training", "validation": "Validation", "test": "Testing"}[split]
    fname = f"Bitext_Sample_Customer_Service_{name}_Dataset.csv"
    path = bundled_path(fname) if folder is None else Path(folder) / fname
    return pd.read_csv(path, usecols=["utterance", "intent", "category"], dtype=str, keep_default_na=False)


def read_fft(path: str | Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """NHS FFT v6 comments with a non-blank answer: ``text``, ``sentiment`` (human 1-5, NaN if blank),
    ``date`` (raw), ``trust``, ``placeholder`` (the answer is the tool's "Did not answer"), plus a boolean
    matrix of the 50 topic columns (returned as frame columns);
    and the topic names. ``path=None`` reads the copy bundled with the demo data."""
    p = bundled_path("nhs_fft_v6framework_230831.csv", "demo") if path is None else Path(path)
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    topics = [c for c in raw.columns if c not in FFT_FIXED_COLUMNS]
    text = raw["FFT answer"].str.strip()
    keep = (text != "").to_numpy()
    raw = raw.loc[keep].reset_index(drop=True)
    out = pd.DataFrame({
        "text": raw["FFT answer"].str.strip(),
        "sentiment": pd.to_numeric(raw["Comment sentiment"], errors="coerce"),
        "date": raw["Date"], "trust": raw["Trust"],
        # the survey tool's "Did not answer" placeholder, not a comment (see the nhs_fft import preset)
        "placeholder": raw["FFT answer"].str.strip().str.lower() == "did not answer",
    })
    hot = np.column_stack([pd.to_numeric(raw[c], errors="coerce").fillna(0).to_numpy() > 0 for c in topics])
    out = pd.concat([out, pd.DataFrame(hot, columns=topics)], axis=1)
    return out, topics
