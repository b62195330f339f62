"""Survey presets: NPS verbatims (score + comment per row)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets.base import Preset, constant, register, require_columns

__all__: list[str] = []


def _nps_verbatims(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """One NPS answer per row (score may be blank = skipped), plus one text answer per non-blank comment.

    Source: R package fahadshery/textsummary, ``text_data`` (GPL); see the README's data attribution.
    """
    need = ["CUSTOMER_RESPONSE_DATE", "SURVEY_SUB_TYPE", "NPS_SCORE", "text"]
    require_columns(raw, need, path)
    n = raw.num_rows
    rid = pc.binary_join_element_wise(constant(path.stem, n), pc.cast(raw.column(ROW), pa.string()), ":")
    common = {
        "survey": constant("nps_verbatims", n),
        "response_id": rid,
        "timestamp": raw.column("CUSTOMER_RESPONSE_DATE"),
        "touchpoint": raw.column("SURVEY_SUB_TYPE"),
        "stage": raw.column("SURVEY_SUB_TYPE"),
        "qtr": raw.column("Qtr") if "Qtr" in raw.column_names else constant(None, n, pa.string()),
        ROW: raw.column(ROW),
    }
    scores = pa.table({**common, "question": constant("nps", n), "question_type": constant("nps", n),
                       "score": raw.column("NPS_SCORE"),
                       "nps_rating": raw.column("NPS_RATING") if "NPS_RATING" in raw.column_names
                       else constant(None, n, pa.string())})
    text = raw.column("text")
    has_text = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(text, ""))), 0)
    texts = pa.table({**common, "question": constant("nps_reason", n), "question_type": constant("text", n),
                      "text": text}).filter(has_text)
    return {"responses": pa.concat_tables([scores, texts], promote_options="default")}


register(Preset(
    name="nps_verbatims",
    kind="responses",
    description="NPS score + verbatim per row (CUSTOMER_RESPONSE_DATE dd/mm/yyyy HH:MM, SURVEY_SUB_TYPE "
                "stage, NPS_SCORE, text), e.g. fahadshery/textsummary",
    detect=lambda h, p: {"CUSTOMER_RESPONSE_DATE", "NPS_SCORE", "text"} <= set(h),
    transform=_nps_verbatims,
    timestamp_formats=("%d/%m/%Y %H:%M", "%d/%m/%Y"),
))
