"""Session presets: UCI Online Shoppers Purchasing Intention (one row per session)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import has_columns, slug
from cxlens.ingest.presets.base import Preset, constant, register

__all__: list[str] = []


def _num(t: pa.Table, name: str) -> pa.ChunkedArray:
    col = t.column(name)
    if pa.types.is_string(col.type):
        col = pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), pa.scalar(None, pa.string()), col)
    return pc.cast(col, pa.float64())


def _uci(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """UCI ML Repository no. 468 (Sakar et al., Neural Computing and Applications 31, 2019; CC BY 4.0).

    One row per session of a Turkish online retailer, aggregated from Google Analytics. ``pageviews`` = the
    three page counts added up, ``duration_s`` = the three durations added up, ``converted`` = ``Revenue``;
    ``bounced`` = exactly one page viewed. The rest (bounce and exit rates, page values, month, visitor
    type, weekend, coded OS/browser/region/traffic type) stays in properties. There is no session start time
    (only a month name, no year), so ``started_at`` stays empty; session ids are ``uci-<row>``.
    """
    pages = pc.add(pc.add(_num(raw, "Administrative"), _num(raw, "Informational")),
                   _num(raw, "ProductRelated"))
    duration = pc.add(pc.add(_num(raw, "Administrative_Duration"), _num(raw, "Informational_Duration")),
                      _num(raw, "ProductRelated_Duration"))
    n = raw.num_rows
    sid = pc.binary_join_element_wise(constant("uci", n), pc.cast(raw.column(ROW), pa.string()), "-")
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "session_id": sid,
        "pageviews": pc.cast(pages, pa.int64()),
        "duration_s": duration,
        "bounced": pc.equal(pages, 1.0),
        "converted": raw.column("Revenue"),
    }
    for name in raw.column_names:
        if name not in ("Revenue",):
            cols.setdefault(slug(name) if name != ROW else ROW, raw.column(name))
    return {"sessions": pa.table(cols)}


register(Preset(
    name="uci_shoppers",
    kind="sessions",
    description="UCI Online Shoppers Purchasing Intention sessions (page counts, durations, Revenue)",
    detect=lambda h, p: has_columns(h, "ProductRelated", "ProductRelated_Duration", "Revenue"),
    transform=_uci,
))
