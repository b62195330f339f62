"""Support-ticket presets: CFPB consumer complaints and the Bitext customer-service intent set."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.presets._util import blank_to_null, has_columns, pick, slug
from cxlens.ingest.presets.base import Preset, constant, register

__all__: list[str] = []

# the two CFPB header styles ("Date received" and "Date_received") map to one set of fields
_CFPB = {
    "date_received": "opened_at",
    "product": "product",
    "sub_product": "sub_product",
    "issue": "category",
    "sub_issue": "sub_category",
    "consumer_complaint_narrative": "text",
    "submitted_via": "channel",
    "company_response_to_consumer": "response",
    "timely_response": "timely",
    "complaint_id": "ticket_id",
    "company": "company",
}


def _cfpb(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """CFPB Consumer Complaint Database export (US Government work, CC0).

    Both header styles of the public exports are read: ``Date received`` (2016-2020 sample, ISO dates)
    and ``Date_received`` (2023 sample, dd-mm-yyyy dates). ``status`` is ``open`` while the company
    response is "In progress", else ``closed``; every other column stays in properties.
    """
    renamed = raw.rename_columns([n if n == "_row" else slug(n) for n in raw.column_names])
    t = pick(renamed, _CFPB)
    response = t.column("response")
    status = pc.if_else(pc.equal(pc.utf8_lower(response), "in progress"), "open", "closed")
    t = t.append_column("status", status)
    t = t.set_column(t.column_names.index("text"), "text", blank_to_null(t.column("text")))
    return {"tickets": t}


register(Preset(
    name="cfpb",
    kind="tickets",
    description="CFPB consumer complaints export (both header styles; ISO or dd-mm-yyyy dates)",
    detect=lambda h, p: {slug(c) for c in h} >= {"date_received", "product", "issue", "complaint_id"},
    transform=_cfpb,
    timestamp_formats=("%d-%m-%Y", "%Y-%m-%d", "%m/%d/%Y"),
))


def _bitext(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """Bitext customer-service intent dataset (CDLA-Sharing-1.0, (c) Bitext Innovations 2022).

    Linguist-written utterances, not logged tickets: ``text`` = utterance, ``category``, ``sub_category``
    = intent; the split (train/validation/test) comes from the file name.
    """
    t = pick(raw, {"utterance": "text", "category": "category", "intent": "sub_category"})
    name = path.stem.lower()
    split = "train" if "train" in name else "validation" if "valid" in name else "test" if "test" in name \
        else None
    t = t.append_column("split", constant(split, t.num_rows, pa.string()))
    return {"tickets": t.append_column("channel", constant("text", t.num_rows))}


register(Preset(
    name="bitext",
    kind="tickets",
    description="Bitext customer-service intent set (utterance, intent, category, entities, tags)",
    detect=lambda h, p: has_columns(h, "utterance", "intent", "category"),
    transform=_bitext,
    streaming=True,
))
