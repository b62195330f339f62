"""Support-ticket presets: CFPB consumer complaints and the Bitext customer-service intent set."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import blank_to_null, has_columns, numeric, slug
from cxlens.ingest.presets.base import Preset, constant, register, require_columns

__all__: list[str] = []

# the two CFPB header styles ("Date received" and "Date_received") give the same slugs
_CFPB = {
    "complaint_id": "ticket_id",
    "date_received": "opened_at",
    "product": "product",
    "sub_product": "sub_product",
    "issue": "category",
    "sub_issue": "sub_category",
    "consumer_complaint_narrative": "text",
    "submitted_via": "channel",
    "company_response_to_consumer": "response",
    "timely_response": "timely",
}


def _iso_date(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """dd-mm-yyyy or ISO date text -> ISO date text; anything else is kept as it was."""
    s = blank_to_null(pc.utf8_trim_whitespace(arr))
    dmy = pc.replace_substring_regex(s, r"^(\d{2})-(\d{2})-(\d{4})$", r"\3-\2-\1")
    mdy = pc.replace_substring_regex(dmy, r"^(\d{2})/(\d{2})/(\d{4})$", r"\3-\1-\2")
    return mdy


def _cfpb(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """CFPB Consumer Complaint Database exports (consumerfinance.gov; US Government work, public domain /
    CC0). Both header styles of the public exports are read: ``Date received`` (e.g. the 2016-2020 sample
    of elvus/testing_scikitlearn, ISO dates) and ``Date_received`` (the 2023-04 sample of
    Sravanbunny2002/..., dd-mm-yyyy dates).

    ``ticket_id`` = Complaint ID, ``opened_at`` = Date received, ``product``, ``sub_product``, ``category``
    = Issue, ``sub_category`` = Sub-issue, ``text`` = the consumer's narrative (blank when not published),
    ``channel`` = Submitted via, ``response`` = Company response to consumer, ``timely`` = Timely
    response?, ``status`` = ``open`` while the response is "In progress", else ``closed``. Everything else
    stays in properties under snake_case names (``company``, ``state``, ``zip_code``, ``tags``,
    ``company_public_response``, ``consumer_consent_provided``, ``consumer_disputed``,
    ``date_sent_to_company`` as an ISO date); blank cells are left out.
    """
    t = raw.rename_columns([n if n == ROW else slug(n) for n in raw.column_names])
    require_columns(t, ["complaint_id", "date_received", "product", "issue"], path)
    cols: dict[str, pa.ChunkedArray] = {}
    for name in t.column_names:
        col = t.column(name)
        target = _CFPB.get(name, name)
        if name == "date_sent_to_company":
            col = _iso_date(col)
        elif target not in ("opened_at", "ticket_id", ROW) and pa.types.is_string(col.type):
            col = blank_to_null(col)
        cols[target] = col
    n = t.num_rows
    response = cols.get("response", pa.nulls(n, pa.string()))
    cols["status"] = pc.if_else(pc.equal(pc.utf8_lower(pc.utf8_trim_whitespace(response)), "in progress"),
                                "open", pc.if_else(pc.is_null(response), pa.scalar(None, pa.string()), "closed"))
    return {"tickets": pa.table(cols)}


register(Preset(
    name="cfpb",
    kind="tickets",
    description="CFPB consumer complaints export (public domain; both header styles, ISO or dd-mm-yyyy dates)",
    detect=lambda h, p: {slug(c) for c in h} >= {"date_received", "product", "issue", "complaint_id"},
    transform=_cfpb,
    timestamp_formats=("%d-%m-%Y", "%Y-%m-%d", "%m/%d/%Y"),
))

_SPLITS = (("train", "train"), ("valid", "validation"), ("dev", "validation"), ("test", "test"))


def _split_of(path: Path) -> str | None:
    """train / validation / test from words in the file name (``..._Training_Dataset.csv`` -> train)."""
    words = re.split(r"[^a-z]+", path.stem.lower())
    return next((split for key, split in _SPLITS if any(w.startswith(key) for w in words)), None)


def _bitext(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """Bitext customer-service intent detection sample (bitext/customer-support-intent-detection-training-
    dataset, CDLA-Sharing-1.0, (c) Bitext Innovations 2022).

    Linguist-written utterances, not logged tickets: a labelled reference for intent routing, not for
    volumes. ``text`` = utterance, ``category`` (11 groups such as ORDER), ``sub_category`` = intent (27,
    such as cancel_order). Properties: ``entity_type``, ``entity_value`` (with ``start_offset`` /
    ``end_offset`` in the text), ``tags`` (Bitext's letter codes for the linguistic variation, e.g. ``BIL``)
    and ``split`` (train / validation / test, from the file name). No ticket id, time or channel exists.
    """
    require_columns(raw, ["utterance", "intent", "category"], path)
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "text": raw.column("utterance"), "category": raw.column("category"), "sub_category": raw.column("intent"),
    }
    for name in raw.column_names:
        if name in ("utterance", "category", "intent") or name == ROW:
            continue
        col = raw.column(name)
        cols[slug(name)] = numeric(col, pa.int64(), rows=raw.column(ROW), column=name, file=str(path)) \
            if name in ("start_offset", "end_offset") else blank_to_null(col)
    cols["split"] = constant(_split_of(path), raw.num_rows, pa.string())
    cols[ROW] = raw.column(ROW)
    return {"tickets": pa.table(cols)}


register(Preset(
    name="bitext",
    kind="tickets",
    description="Bitext customer-service intents (utterance, intent, category, entities, tags; CDLA-Sharing-1.0)",
    detect=lambda h, p: has_columns(h, "utterance", "intent", "category"),
    transform=_bitext,
    streaming=True,
))
