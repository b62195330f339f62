"""Survey presets: NPS verbatims, NHS Friends and Family Test comments, SUS questionnaires (wide)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError
from cxlens.ingest.conform import ROW, SOURCE_COLUMN
from cxlens.ingest.presets._util import blank_to_null, has_columns, numeric, squash_spaces
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

_FFT_FIXED = frozenset({"Comment ID", "Trust", "Respondent ID", "Date", "Service type 1", "Service type 2",
                        "FFT categorical answer", "FFT question", "FFT answer", "Person identifiable info?",
                        "Comment sentiment", ROW})
_FFT_SCORES = pa.array(["1", "2", "3", "4", "5"])
_FFT_PLACEHOLDER = "did not answer"
_FFT_NOT_SCORES = pa.array(["6", "7", ""])  # 6 and 7: not a rating (don't know / not answered); blank


def fft_dates(raw: pa.Table) -> pa.Array:
    """Resolve the FFT ``Date`` column, which mixes dd/mm/yyyy and mm/dd/yyyy, to ISO dates (text).

    What the file shows: the format varies by row, not by trust or respondent. Month-first rows exist only
    in NEAS "See and Convey": one block of 503 rows (data rows 3,796-4,298; all 257 dates written without
    zero padding, such as ``3/15/2022``, are there) and 3 rows near the end (7,887-7,889). The same
    respondent's date is written ``03/10/2021`` on their Q1 row and ``10/03/2021`` on their Q2 row. Every
    other trust/service writes day-first. The rule, which needs no row positions:

    1. first field > 12: day-first; second field > 12: month-first; equal fields read the same both ways;
    2. one respondent is one submission: an ambiguous row takes the reading that matches a certain date
       on another row of the same respondent;
    3. in a trust/service group with no certain month-first row, ambiguous rows are day-first (UK);
    4. otherwise (NEAS See and Convey) an ambiguous row takes the reading closer to the nearest certain
       dates before and after it in comment-number order (comment numbers run in time order within a
       trust and service; a tie keeps day-first).

    On the shared file this reproduces the block exactly (all 215 ambiguous rows read month-first lie in
    it, none of its ambiguous rows reads day-first), leaves every respondent with one date, and keeps all
    dates within 2021-04-01 .. 2022-09-30. A non-blank date that matches neither
    form is passed through unchanged, so the validator reports it with its row. Vectorised with pandas
    (group-wise first/ffill/bfill), no loop over rows.
    """
    import pandas as pd

    def text(name: str) -> pd.Series:
        return pd.Series(pc.cast(raw.column(name), pa.string()).to_pandas(), dtype="string")

    date = text("Date").str.strip()
    cid = text("Comment ID").fillna("")
    group = text("Trust").fillna("") + "|" + pd.Series(
        squash_spaces(pc.cast(raw.column("Service type 1"), pa.string())).to_pandas(), dtype="string").fillna("")
    resp = text("Respondent ID") if "Respondent ID" in raw.column_names else \
        cid.str.replace(r"\s*-\s*Q\d+\s*$", "", regex=True)
    # the respondent number is the one before " - Q<n>" ("NEAS 111 548 - Q3" -> 548, not the service's 111)
    num = pd.to_numeric(cid.str.extract(r"(\d+)(?:\s*-\s*Q\d+)?\s*$")[0], errors="coerce")

    parts = date.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
    a, b, y = (pd.to_numeric(parts[i], errors="coerce").astype("float64") for i in range(3))
    dm = pd.to_datetime(pd.DataFrame({"year": y, "month": b, "day": a}), errors="coerce")
    md = pd.to_datetime(pd.DataFrame({"year": y, "month": a, "day": b}), errors="coerce")
    sure = dm.where(md.isna() | (dm == md), md.where(dm.isna()))  # step 1
    pick = sure.copy()

    def ambiguous() -> pd.Series:
        return pick.isna() & dm.notna() & md.notna()

    known = sure.groupby(resp).transform("first")  # step 2
    pick = pick.mask(ambiguous() & (dm == known), dm).mask(ambiguous() & (md == known), md)
    month_first_seen = (md.notna() & dm.isna()).groupby(group).transform("any")  # step 3
    pick = pick.mask(ambiguous() & ~month_first_seen, dm)
    amb = ambiguous()  # step 4
    if amb.any():
        frame = pd.DataFrame({"anchor": pick.where(~amb), "group": group, "num": num})
        order = frame.sort_values(["group", "num"], kind="stable")
        before = order.groupby("group")["anchor"].ffill().reindex(frame.index)
        after = order.groupby("group")["anchor"].bfill().reindex(frame.index)

        def distance(c: pd.Series) -> pd.Series:
            zero = pd.Timedelta(0)
            return (c - before).abs().fillna(zero) + (c - after).abs().fillna(zero)

        pick = pick.mask(amb, md.where(distance(md) < distance(dm), dm))
    out = pick.dt.strftime("%Y-%m-%d").astype("string")
    out = out.where(pick.notna(), date.where(date != ""))  # unreadable: the raw text, for the validator
    return pa.array(out.astype(object).where(out.notna(), None).tolist(), pa.string())


def _topic_lists(raw: pa.Table, topics: list[str]) -> pa.Array:
    """The one-hot topic columns as one list of topic names per row (numpy nonzero, no row loop)."""
    n = raw.num_rows
    if not topics:
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
    hot = np.column_stack([
        np.asarray(pc.equal(pc.utf8_trim_whitespace(pc.fill_null(pc.cast(raw.column(c), pa.string()), "")), "1")
                   .to_numpy(zero_copy_only=False), dtype=bool) for c in topics])
    rows, cols = np.nonzero(hot)  # row-major: grouped by row, topics in column order
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.asarray(topics, dtype=object)[cols], pa.string()))


def _nhs_fft(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """NHS Friends and Family Test comments labelled with the v6 framework (CDU-data-science-team/
    pxtextmining ``datasets/v6framework_230831.csv``, MIT, (c) NHS England; trusts NEAS and NHFT).

    Long format, one row per answer:

    * one ``rating`` answer per respondent: question ``fft``, scale 1-5 with 1 = very good ... 5 = very
      poor. Codes 6 and 7 are not scores (don't know / not answered): score empty, status ``skipped``.
      The code is kept as ``properties.fft_code``. The rating is the same on every comment row of a
      respondent (checked on the shared file: 0 of 4,466 respondents differ), so their first row gives it.
    * one ``text`` answer per non-blank comment: question = slug of the prompt (``fft_why``,
      ``how_could_we_improve``, ``what_was_good``, ...), properties ``prompt``, ``comment_id``, ``topics``
      (list of the v6 topic names flagged 1), ``sentiment_label`` (human label, 1 = very positive ... 5 =
      very negative, empty when unlabelled). Whitespace-only answers are blank; the word "None" is an answer.
      The placeholder "Did not answer" is a ``skipped`` text answer with no text (the placeholder is kept as
      ``properties.placeholder_text``), so it never reaches sentiment or themes.

    Every answer carries ``response_id`` = Respondent ID, the date (see :func:`fft_dates` for the d/m vs
    m/d rule), ``touchpoint`` = service type 1, and properties ``trust``, ``service_type_1``,
    ``service_type_2``. An answer code other than 1-7 or blank stops the import with its row.
    """
    require_columns(raw, ["Comment ID", "Trust", "Respondent ID", "Date", "Service type 1",
                          "FFT categorical answer", "FFT question", "FFT answer"], path)
    n = raw.num_rows
    resp = pc.coalesce(blank_to_null(pc.cast(raw.column("Respondent ID"), pa.string())),
                       pc.cast(raw.column("Comment ID"), pa.string()))
    service1 = blank_to_null(squash_spaces(pc.cast(raw.column("Service type 1"), pa.string())))
    service2 = blank_to_null(squash_spaces(pc.cast(raw.column("Service type 2"), pa.string()))) \
        if "Service type 2" in raw.column_names else pa.nulls(n, pa.string())
    common = {
        "survey": constant("nhs_fft", n), "response_id": resp, "timestamp": fft_dates(raw),
        "touchpoint": service1, "trust": squash_spaces(pc.cast(raw.column("Trust"), pa.string())),
        "service_type_1": service1, "service_type_2": service2, ROW: raw.column(ROW),
    }
    code = pc.utf8_trim_whitespace(pc.fill_null(pc.cast(raw.column("FFT categorical answer"), pa.string()), ""))
    not_score = pc.is_in(code, _FFT_NOT_SCORES)
    ratings = pa.table({
        **common, "question": constant("fft", n), "question_type": constant("rating", n),
        # 1-5 are scores; anything but 6, 7 or blank goes to the validator, which rejects it with its row
        "score": pc.if_else(not_score, pa.scalar(None, pa.string()), code),
        "scale_min": constant(1, n), "scale_max": constant(5, n),
        "status": pc.if_else(not_score, "skipped", "answered"),
        "fft_code": numeric(code, pa.int64()),
    }).take(pc.index_in(pc.unique(resp), value_set=resp.combine_chunks()))

    prompt = squash_spaces(pc.cast(raw.column("FFT question"), pa.string()))
    qid = pc.utf8_trim(pc.utf8_lower(pc.replace_substring_regex(prompt, r"[^0-9A-Za-z]+", "_")), "_")
    text = pc.cast(raw.column("FFT answer"), pa.string())
    trimmed = pc.utf8_trim_whitespace(pc.fill_null(text, ""))
    has_text = pc.greater(pc.utf8_length(trimmed), 0)
    # "Did not answer" (1,189 rows of the shared file, every one labelled "Labelling not possible" with no
    # sentiment) is the survey tool's placeholder, not a comment: a skipped answer, kept out of text analysis
    placeholder = pc.equal(pc.utf8_lower(trimmed), _FFT_PLACEHOLDER)
    comments = {
        **common, "question": qid, "question_type": constant("text", n),
        "text": pc.if_else(placeholder, pa.scalar(None, pa.string()), text),
        "status": pc.if_else(placeholder, "skipped", "answered"),
        "placeholder_text": pc.if_else(placeholder, text, pa.scalar(None, pa.string())), "prompt": prompt,
        "comment_id": raw.column("Comment ID"),
        "topics": _topic_lists(raw, [c for c in raw.column_names if c not in _FFT_FIXED]),
    }
    if "Comment sentiment" in raw.column_names:
        comments["sentiment_label"] = numeric(pc.cast(raw.column("Comment sentiment"), pa.string()), pa.int64(),
                                              rows=raw.column(ROW), column="Comment sentiment", file=str(path))
    if "Person identifiable info?" in raw.column_names:
        pii = blank_to_null(pc.cast(raw.column("Person identifiable info?"), pa.string()))
        if pii.null_count < n:  # always blank in the shared file: not worth a key on every answer
            comments["person_identifiable"] = pii
    texts = pa.table(comments).filter(has_text)
    return {"responses": pa.concat_tables([ratings, texts], promote_options="default")}


register(Preset(
    name="nhs_fft",
    kind="responses",
    description="NHS Friends and Family Test comments with v6 topic labels (CDU-data-science-team/"
                "pxtextmining, MIT): one rating per respondent, one text answer per comment",
    detect=lambda h, p: has_columns(h, "Respondent ID", "FFT categorical answer", "FFT answer"),
    transform=_nhs_fft,
    timestamp_formats=("%Y-%m-%d",),
))


# -- SUS questionnaires in wide format ------------------------------------------------------------------

SUS_LABELS = {
    "strongly disagree": "1", "disagree": "2", "somewhat disagree": "2",
    "neither agree nor disagree": "3", "neither agree or disagree": "3", "neutral": "3", "neither": "3",
    "somewhat agree": "4", "agree": "4", "strongly agree": "5",
}
"""Answer labels of the 5-point SUS agreement scale (compared lower-cased, spaces squashed)."""

_SUS_ID_NAMES = frozenset({"participant id", "participant", "participant_id", "id", "respondent",
                           "respondent id", "respondent_id", "response_id", "user", "user_id", "distinct_id",
                           "timestamp", "date", "variant", "group", "_row"})
_SUS_ITEM_NAMES = frozenset(f"{p}{i}" for p in ("sus", "q", "item") for i in (*map(str, range(1, 11)),
                                                                            *(f"{k:02d}" for k in range(1, 10))))


def _sus_item_columns(header: list[str]) -> list[str]:
    return [c for c in header if c.strip() and c.strip().lower() not in _SUS_ID_NAMES]


def _sus_wide(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """SUS answers in wide format: one row per respondent, an id column and the 10 items in questionnaire
    order, as numbers 1-5 or labels ("Strongly disagree" ... "Strongly agree", "Somewhat agree", "Neither
    agree nor disagree"). Stored as 10 ``rating`` answers (``sus_01`` .. ``sus_10``, scale 1-5) per
    respondent, ``response_id`` = the id column, the item wording in ``properties.item_text``. Scoring
    (odd items r - 1, even items 5 - r, sum x 2.5) is left to the ``sus`` query. A label that is not on the
    scale stops the import naming its row, the file's column and the value. Example source: the VR queue
    study (Terascale-All-sensing-Research-Studio/vr-queue-waiting-sound-dataset ``sus.csv``, Apache-2.0;
    Ibragimov et al., Data in Brief 2026), whose headers are Brooke's item wording.
    """
    items = _sus_item_columns(raw.column_names)
    if len(items) != 10:
        raise ImportValidationError(
            f"a SUS file needs 10 item columns, found {len(items)}", file=str(path),
            expected="an id column and the 10 SUS items in questionnaire order")
    idcol = next((c for c in raw.column_names if c not in items and c != ROW), None)
    n = raw.num_rows
    rid = pc.cast(raw.column(idcol) if idcol else raw.column(ROW), pa.string())
    labels = pa.array(list(SUS_LABELS))
    values = pa.array(list(SUS_LABELS.values()))
    tables = []
    for k, col in enumerate(items, start=1):  # ten columns, each mapped as a whole
        given = pc.utf8_trim_whitespace(pc.cast(raw.column(col), pa.string()))
        idx = pc.index_in(pc.utf8_lower(squash_spaces(given)), labels)
        # known labels -> 1..5; numbers and unknown text pass through, so the validator names row and column
        score = pc.if_else(pc.is_valid(idx), pc.take(values, pc.fill_null(idx, 0)), given)
        tables.append(pa.table({
            "survey": constant("sus", n), "question": constant(f"sus_{k:02d}", n),
            "question_type": constant("rating", n), "scale_min": constant(1, n), "scale_max": constant(5, n),
            "response_id": rid, "score": score, "item_text": constant(col.strip(), n),
            ROW: raw.column(ROW), SOURCE_COLUMN: constant(col.strip(), n),
        }))
    return {"responses": pa.concat_tables(tables)}


def _looks_like_sus(h: list[str], p: Path) -> bool:
    items = _sus_item_columns(h)
    if len(items) != 10:
        return False
    wording = " ".join(items).lower()
    names = {c.strip().lower().replace("_", "").replace(" ", "").replace("-", "") for c in items}
    return "use this system" in wording or names <= _SUS_ITEM_NAMES


register(Preset(
    name="sus_wide",
    kind="responses",
    description="SUS questionnaire, one row per respondent with the 10 items (numbers 1-5 or labels), "
                "e.g. the VR queue study (Apache-2.0)",
    detect=_looks_like_sus,
    transform=_sus_wide,
))
