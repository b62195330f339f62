"""Review presets: the Maalej et al. labelled app-store reviews (JSON with trailing commas, or tidy CSV)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.presets._util import blank_to_null, has_columns
from cxlens.ingest.presets.base import Preset, constant, register
from cxlens.ingest.readers import ReadOptions

__all__: list[str] = []

_KEEP = {"reviewId": "review_id", "rating": "rating", "title": "title", "comment": "text",
         "dataSource": "source", "appId": "app", "reviewer": "reviewer_name", "label": "label",
         "fee": "fee", "id": "source_row_id", "source_file": "source_file", "sentiScore": "senti_score",
         "_row": "_row"}


def _maalej(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """Maalej, Kurtanović, Nabil & Stanik (RE 2015 / RE journal 2016) app reviews, as redistributed by
    adailtonaraujo/app_review_analysis (CC0; review texts belong to their authors).

    Kept: rating, title, text, source (dataSource), app (appId), review id, label, reviewer, fee and the
    SentiStrength score. Dropped: the redistributor's preprocessing columns (stemmed, lemmatized and
    stop-word-free copies of the text, tense counts), which any analysis can recompute. ``date`` is
    ``dd:mm:yy:HH:MM:SS``; about 600 rows carry a date, some only a time of day (``12:44``), which is kept as
    ``date_raw`` with no timestamp.
    """
    cols = {new: raw.column(old) for old, new in _KEEP.items() if old in raw.column_names}
    t = pa.table(cols)
    if "date" in raw.column_names:
        date = pc.cast(raw.column("date"), pa.string())
        full = pc.match_substring_regex(pc.fill_null(date, ""), r"^\d\d:\d\d:\d\d:\d\d:\d\d:\d\d$")
        t = t.append_column("timestamp", pc.if_else(full, date, pa.scalar(None, pa.string())))
        t = t.append_column("date_raw", date)
    if "source_file" not in t.column_names:
        t = t.append_column("source_file", constant(path.name, t.num_rows))
    t = t.set_column(t.column_names.index("text"), "text", blank_to_null(pc.cast(t.column("text"), pa.string())))
    if "label" in t.column_names:
        t = t.set_column(t.column_names.index("label"), "label", pc.cast(t.column("label"), pa.string()))
    return {"reviews": t}


register(Preset(
    name="maalej",
    kind="reviews",
    description="Maalej et al. labelled app reviews: the JSON files (trailing commas tolerated) or tidy CSV",
    detect=lambda h, p: has_columns(h, "comment", "rating", "label") and ("dataSource" in h or "reviewId" in h),
    transform=_maalej,
    read=ReadOptions(lenient_json=True, bare_cr_as_space=True),
    timestamp_formats=("%d:%m:%y:%H:%M:%S",),
))
