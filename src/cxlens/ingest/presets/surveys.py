"""Survey presets: NPS verbatims, NHS Friends and Family Test comments, SUS questionnaires."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError
from cxlens.ingest.conform import ROW, SOURCE_COLUMN
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


# -- NHS Friends and Family Test (pxtextmining v6 framework) ------------------------------------------

_FFT_FIXED = {"Comment ID", "Trust", "Respondent ID", "Date", "Service type 1", "Service type 2",
              "FFT categorical answer", "FFT question", "FFT answer", "Person identifiable info?",
              "Comment sentiment", ROW}


def fft_dates(raw: pa.Table) -> pa.Array:
    """Resolve the FFT ``Date`` column, which mixes dd/mm/yyyy and mm/dd/yyyy rows.

    Rule (found on the data, see the test): a date whose first field exceeds 12 is d/m, one whose second
    field exceeds 12 is m/d. The rest are ambiguous (both fields <= 12, padded or not). Comment numbers
    (``NEAS S&C 2352 - Q2``) run in time order within a trust and service, so each ambiguous date takes the
    reading closer to the nearest unambiguous dates before and after it in that order (a tie keeps d/m, the
    majority format). Vectorised with pandas (sort, forward/backward fill), no loop over rows.
    """
    import pandas as pd

    df = pd.DataFrame({
        "date": raw.column("Date").to_pandas(),
        "group": (raw.column("Trust").to_pandas().astype(str) + "|"
                  + raw.column("Service type 1").to_pandas().astype(str)),
        "num": pd.to_numeric(raw.column("Comment ID").to_pandas().str.extract(r"(\d+)")[0], errors="coerce"),
    })
    parts = df["date"].str.strip().str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
    a = pd.to_numeric(parts[0], errors="coerce")
    b = pd.to_numeric(parts[1], errors="coerce")
    y = pd.to_numeric(parts[2], errors="coerce")
    dm = pd.to_datetime(dict(year=y, month=b, day=a), errors="coerce")
    md = pd.to_datetime(dict(year=y, month=a, day=b), errors="coerce")
    sure = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    sure[a > 12] = dm[a > 12]
    sure[b > 12] = md[b > 12]
    df["sure"] = sure
    order = df.sort_values(["group", "num"], kind="stable")
    before = order.groupby("group")["sure"].ffill()
    after = order.groupby("group")["sure"].bfill()
    before, after = before.reindex(df.index), after.reindex(df.index)

    def distance(c: pd.Series) -> pd.Series:
        d1 = (c - before).abs().fillna(pd.Timedelta(0))
        d2 = (c - after).abs().fillna(pd.Timedelta(0))
        return d1 + d2

    pick_md = distance(md) < distance(dm)
    resolved = sure.where(sure.notna(), md.where(pick_md, dm))
    return pa.array(resolved.dt.strftime("%Y-%m-%d").where(resolved.notna(), None), pa.string())


def _nhs_fft(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """NHS Friends and Family Test comments labelled with the v6 framework (CDU-data-science-team/
    pxtextmining, MIT, NHS England).

    Long format, one row per answer: one ``rating`` answer per respondent (question ``fft``, 1 = very good
    ... 5 = very poor; codes 6 and 7 are not scores: score empty, status ``skipped``, code kept as
    ``fft_code``), then one ``text`` answer per non-blank comment (question = the FFT prompt, e.g.
    ``fft_why``), carrying the topic labels (``topics``), the human ``sentiment_label`` (1 = very positive
    ... 5 = very negative), trust and service types. ``response_id`` = Respondent ID. The rating is the same
    on every comment row of a respondent, so the first row gives it.
    """
    require_columns(raw, ["Respondent ID", "Date", "FFT categorical answer", "FFT question", "FFT answer"],
                    path)
    n = raw.num_rows
    topics = [c for c in raw.column_names if c not in _FFT_FIXED]
    # topic one-hots -> a JSON list of topic names, built column-wise
    parts = [pc.if_else(pc.equal(pc.utf8_trim_whitespace(pc.fill_null(raw.column(c), "")), "1"),
                        pa.scalar(json.dumps(c)[1:-1]), pa.scalar(None, pa.string())) for c in topics]
    joined = pc.binary_join_element_wise(*parts, pa.scalar('","'), null_handling="skip") if parts else None
    topic_json = pc.binary_join_element_wise('["', joined, '"]', "") if joined is not None else None
    topic_json = pc.if_else(pc.equal(joined, ""), "[]", topic_json) if joined is not None else None
    when = fft_dates(raw)
    code = pc.utf8_trim_whitespace(pc.fill_null(pc.cast(raw.column("FFT categorical answer"), pa.string()), ""))
    is_score = pc.is_in(code, pa.array(["1", "2", "3", "4", "5"]))
    common = {
        "survey": constant("nhs_fft", n), "response_id": raw.column("Respondent ID"), "timestamp": when,
        "trust": raw.column("Trust"), "service_type_1": raw.column("Service type 1"),
        "service_type_2": raw.column("Service type 2"), ROW: raw.column(ROW),
    }
    first = pc.invert(pc.is_in(pa.array(np.arange(n)), pa.array(
        _first_index(raw.column("Respondent ID")))))
    ratings = pa.table({
        **common, "question": constant("fft", n), "question_type": constant("rating", n),
        "score": pc.if_else(is_score, code, pa.scalar(None, pa.string())),
        "scale_min": constant(1, n), "scale_max": constant(5, n),
        "status": pc.if_else(is_score, "answered", "skipped"),
        "fft_code": code,
    }).filter(pc.invert(first))
    prompt = pc.utf8_trim_whitespace(pc.replace_substring_regex(raw.column("FFT question"), r"\s+", " "))
    qid = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_trim(prompt, "?"), r"[^0-9A-Za-z]+", "_"))
    text = raw.column("FFT answer")
    has_text = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(text, ""))), 0)
    comments = pa.table({
        **common, "question": pc.binary_join_element_wise("fft_", qid, ""), "question_type": constant("text", n),
        "text": text, "prompt": prompt, "comment_id": raw.column("Comment ID"),
        "sentiment_label": raw.column("Comment sentiment"),
        "topics": topic_json if topic_json is not None else constant("[]", n),
        "person_identifiable": raw.column("Person identifiable info?"),
    }).filter(has_text)
    return {"responses": pa.concat_tables([ratings, comments], promote_options="default")}


def _first_index(ids: pa.ChunkedArray) -> np.ndarray:
    """Row positions of the first occurrence of each id (vectorised)."""
    _, idx = np.unique(np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object).astype(str),
                       return_index=True)
    return np.sort(idx)


register(Preset(
    name="nhs_fft",
    kind="responses",
    description="NHS Friends and Family Test comments with v6 topic labels (pxtextmining, MIT)",
    detect=lambda h, p: {"Respondent ID", "FFT categorical answer", "FFT answer"} <= set(h),
    transform=_nhs_fft,
    timestamp_formats=("%Y-%m-%d",),
))


# -- SUS questionnaires in wide format ------------------------------------------------------------------

SUS_LABELS = {
    "strongly disagree": "1", "disagree": "2", "somewhat disagree": "2",
    "neither agree nor disagree": "3", "neutral": "3", "neither": "3",
    "somewhat agree": "4", "agree": "4", "strongly agree": "5",
}


def _sus_item_columns(header: list[str]) -> list[str]:
    items = [c for c in header if c.strip() and c.strip().lower() not in (
        "participant id", "participant", "id", "respondent", "respondent id", "response_id", "distinct_id",
        "timestamp", "date", "variant", "group", "_row")]
    return items


def _sus_wide(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """SUS answers in wide format: one row per respondent, an id column and the 10 items in questionnaire
    order, as numbers 1-5 or labels ("Strongly disagree" ... "Strongly agree", "Somewhat agree", "Neither
    agree nor disagree"). Stored as 10 ``rating`` answers (``sus_01`` .. ``sus_10``, scale 1-5) per
    respondent. An unknown label stops the import with its row and column. Example source: the VR queue
    study (Ibragimov et al., Data in Brief 2026; Apache-2.0), whose headers are Brooke's item wording.
    """
    items = _sus_item_columns(raw.column_names)
    if len(items) != 10:
        raise ImportValidationError(
            f"a SUS file needs 10 item columns, found {len(items)}", file=str(path),
            expected="an id column and the 10 SUS items in questionnaire order")
    idcol = next((c for c in raw.column_names if c not in items and c != ROW), None)
    n = raw.num_rows
    rid = raw.column(idcol) if idcol else pc.cast(raw.column(ROW), pa.string())
    labels = pa.array(list(SUS_LABELS))
    values = pa.array(list(SUS_LABELS.values()))
    tables = []
    for k, col in enumerate(items, start=1):
        text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(raw.column(col), pa.string())))
        idx = pc.index_in(text, labels)
        score = pc.if_else(pc.is_valid(idx), pc.take(values, pc.fill_null(idx, 0)), text)
        tables.append(pa.table({
            "survey": constant("sus", n), "question": constant(f"sus_{k:02d}", n),
            "question_type": constant("rating", n), "scale_min": constant(1, n), "scale_max": constant(5, n),
            "response_id": pc.cast(rid, pa.string()), "score": score, "item_text": constant(col.strip(), n),
            ROW: raw.column(ROW), SOURCE_COLUMN: constant(col.strip(), n),
        }))
    return {"responses": pa.concat_tables(tables)}


def _looks_like_sus(h: list[str], p: Path) -> bool:
    items = _sus_item_columns(h)
    text = " ".join(items).lower()
    return len(items) == 10 and ("use this system" in text or all(
        c.strip().lower().replace("_", "").replace(" ", "") in {f"sus{i}" for i in range(1, 11)} | {
            f"q{i}" for i in range(1, 11)} for c in items))


register(Preset(
    name="sus_wide",
    kind="responses",
    description="SUS questionnaire, one row per respondent with the 10 items (numbers 1-5 or labels)",
    detect=_looks_like_sus,
    transform=_sus_wide,
))
