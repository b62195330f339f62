"""Transaction presets: the CDNOW purchase logs (Fader, Hardie & Lee 2005), as shipped in ``lifetimes``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets.base import Preset, register
from cxlens.ingest.readers import ReadOptions

__all__: list[str] = []

_CITE = ("CDNOW customers' purchases 1997-01 to 1998-06 (Bruce Hardie's datasets page; shipped in the "
         "MIT-licensed lifetimes package). Cite Fader, Hardie & Lee (2005).")


def _cdnow(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    cols = {"distinct_id": raw.column("customer_id"), "timestamp": raw.column("date"),
            "amount": raw.column("dollar_value"), "quantity": raw.column("number_of_cds"), ROW: raw.column(ROW)}
    if "sample_id" in raw.column_names:
        cols["sample_id"] = raw.column("sample_id")
    return {"transactions": pa.table(cols)}


def _is_cdnow_master(h: list[str], p: Path) -> bool:
    return h[:4] == ["customer_id", "date", "number_of_cds", "dollar_value"]


def _is_cdnow_sample(h: list[str], p: Path) -> bool:
    # no header: the first line is data, five numeric fields with a YYYYMMDD date in the third
    return len(h) == 5 and all(x.replace(".", "").isdigit() for x in h) and len(h[2]) == 8 \
        and h[2].startswith("19")


register(Preset(
    name="cdnow_master",
    kind="transactions",
    description="CDNOW_master.txt: whitespace-separated customer_id date number_of_cds dollar_value. " + _CITE,
    detect=_is_cdnow_master,
    transform=_cdnow,
    read=ReadOptions(format="txt"),
    timestamp_formats=("%Y%m%d",),
))

register(Preset(
    name="cdnow_sample",
    kind="transactions",
    description="CDNOW_sample.txt (no header): master id, sample id, YYYYMMDD, cds, dollars. " + _CITE,
    detect=_is_cdnow_sample,
    transform=_cdnow,
    read=ReadOptions(format="txt", header=False,
                     column_names=("customer_id", "sample_id", "date", "number_of_cds", "dollar_value")),
    timestamp_formats=("%Y%m%d",),
))
