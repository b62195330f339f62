"""Review presets: the Maalej et al. labelled app-store reviews (JSON with trailing commas, or tidy CSV)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import blank_to_null, has_columns, numeric
from cxlens.ingest.presets.base import Preset, constant, register, require_columns
from cxlens.ingest.readers import ReadOptions

__all__: list[str] = []

# source field -> stored name; every other field of the source is dropped (see the docstring)
_KEEP = {"reviewId": "review_id", "rating": "rating", "title": "title", "comment": "text",
         "dataSource": "source", "appId": "app", "label": "label", "reviewer": "reviewer", "fee": "fee",
         "id": "source_row_id", "source_file": "source_file", "sentiScore": "senti_score",
         "sentiScore_pos": "senti_score_pos", "sentiScore_neg": "senti_score_neg"}
_NUMBERS = ("source_row_id", "senti_score", "senti_score_pos", "senti_score_neg")
_FULL_DATE = r"^\d\d:\d\d:\d\d:\d\d:\d\d:\d\d$"  # dd:mm:yy:HH:MM:SS


def _store(source: pa.ChunkedArray) -> pa.ChunkedArray:
    """AppStore_Random -> app_store, PlayStore_Random / playStore_random -> google_play, else null."""
    low = pc.utf8_lower(pc.fill_null(source, ""))
    return pc.if_else(pc.starts_with(low, "appstore"), "app_store",
                      pc.if_else(pc.starts_with(low, "playstore"), "google_play", pa.scalar(None, pa.string())))


def _maalej(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """App reviews labelled Bug / Feature / Rating (praise) / UserExperience by Maalej, Kurtanović, Nabil &
    Stanik (RE 2015; Requirements Engineering journal 2016), as redistributed in
    adailtonaraujo/app_review_analysis ``Classification/Dataset/*.json`` (CC0; review texts belong to their
    authors). Reads the four JSON files (each ends with a trailing comma, tolerated) or a tidy CSV of them
    (``maalej_reviews_converted.csv``, whose bare carriage returns inside comments are read as spaces).
    Both give the same rows: surrounding whitespace of title and text is trimmed (56 comments end in a
    stray carriage return).

    Canonical: ``review_id`` = reviewId (not unique: a review filed under two labels appears twice),
    ``rating`` (1-5), ``title``, ``text`` = comment, ``source`` = dataSource (RE2014_app_and_play_store_apps,
    AppStore_Random, PlayStore_Random), ``app`` = appId (an App Store id, or a Play Store rank_name;
    present for about half), ``timestamp`` from ``date`` where it is a full ``dd:mm:yy:HH:MM:SS`` (459
    reviews). Properties: ``label``, ``store`` (app_store / google_play from dataSource; empty for the
    mixed RE2014 set), ``reviewer``, ``fee`` (free / paid), ``source_file``, ``source_row_id`` (the file's
    ``id``), the redistributor's SentiStrength scores ``senti_score`` / ``_pos`` / ``_neg`` (JSON only), and
    ``date_raw`` for the 175 dates that are only a time of day (``12:44``), which give no timestamp.

    Dropped, because any analysis can recompute them from the text: the redistributor's preprocessing
    copies of the comment (``stemmed``, ``lemmatized_comment``, ``stopwords_removal``,
    ``stopwords_removal_nltk``, ``stopwords_removal_lemmatization``), the tense and length counts
    (``past``, ``present_simple``, ``present_con``, ``future``, ``length_words``) and ``Exclude`` (always
    a NUL character).
    """
    require_columns(raw, ["comment", "rating"], path)
    n = raw.num_rows
    cols: dict[str, pa.ChunkedArray | pa.Array] = {}
    for old, new in _KEEP.items():
        if old not in raw.column_names:
            continue
        col = raw.column(old)
        if new in _NUMBERS:
            col = numeric(pc.cast(col, pa.string()), pa.int64(), rows=raw.column(ROW), column=old, file=str(path))
        elif new in ("text", "title"):  # 56 JSON comments end in a stray "\r" (a space in the CSV)
            col = blank_to_null(pc.utf8_trim_whitespace(pc.cast(col, pa.string())))
        elif new != "rating":
            col = blank_to_null(pc.cast(col, pa.string()))
        cols[new] = col
    if "source_file" not in cols:
        cols["source_file"] = constant(path.name, n)
    if "source" in cols:
        cols["store"] = _store(cols["source"])
    if "date" in raw.column_names:
        date = blank_to_null(pc.utf8_trim_whitespace(pc.cast(raw.column("date"), pa.string())))
        full = pc.fill_null(pc.match_substring_regex(date, _FULL_DATE), False)
        cols["timestamp"] = pc.if_else(full, date, pa.scalar(None, pa.string()))
        cols["date_raw"] = pc.if_else(full, pa.scalar(None, pa.string()), date)
    cols[ROW] = raw.column(ROW)
    return {"reviews": pa.table(cols)}


register(Preset(
    name="maalej",
    kind="reviews",
    description="Maalej et al. labelled app reviews (adailtonaraujo/app_review_analysis, CC0): the JSON files "
                "(trailing commas tolerated) or their tidy CSV",
    detect=lambda h, p: has_columns(h, "comment", "rating", "label") and ("dataSource" in h or "reviewId" in h),
    transform=_maalej,
    read=ReadOptions(lenient_json=True, bare_cr_as_space=True),
    timestamp_formats=("%d:%m:%y:%H:%M:%S",),
))
