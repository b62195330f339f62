"""Transaction presets: the CDNOW purchase logs (Fader, Hardie & Lee 2005), as shipped in ``lifetimes``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import numeric
from cxlens.ingest.presets.base import Preset, register, require_columns
from cxlens.ingest.readers import ReadOptions

__all__: list[str] = []

_CITE = ("CDNOW purchases 1997-01 to 1998-06 from Bruce Hardie's datasets page, as shipped in the MIT-licensed "
         "lifetimes package (CamDavidsonPilon/lifetimes); research and teaching use, cite Fader, Hardie & Lee "
         "(2005)")
_SAMPLE_COLUMNS = ("customer_id", "sample_id", "date", "number_of_cds", "dollar_value")


def _cdnow(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """CDNOW purchase log, one row per customer and day: ``distinct_id`` = customer id as written (the
    master file's zero-padded ``00001`` stays text), ``timestamp`` from ``YYYYMMDD``, ``amount`` = dollar
    value, ``quantity`` = number of CDs. The 1/10 sample's own id (1-2357) goes to ``properties.sample_id``;
    ``distinct_id`` is the master id, so both files name a customer the same way.
    """
    require_columns(raw, ["customer_id", "date", "number_of_cds", "dollar_value"], path)
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "distinct_id": raw.column("customer_id"), "timestamp": raw.column("date"),
        "amount": raw.column("dollar_value"), "quantity": raw.column("number_of_cds"), ROW: raw.column(ROW)}
    if "sample_id" in raw.column_names:
        cols["sample_id"] = numeric(raw.column("sample_id"), pa.int64(), rows=raw.column(ROW), column="sample_id",
                                    file=str(path))
    return {"transactions": pa.table(cols)}


def _is_cdnow_master(h: list[str], p: Path) -> bool:
    return [c.lower() for c in h[:4]] == ["customer_id", "date", "number_of_cds", "dollar_value"]


def _is_cdnow_sample(h: list[str], p: Path) -> bool:
    # no header: the first line is data, five numeric fields with a YYYYMMDD date of the 1990s in the third
    return len(h) == 5 and all(x.replace(".", "", 1).isdigit() for x in h) and len(h[2]) == 8 \
        and h[2].startswith("199")


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
    read=ReadOptions(format="txt", header=False, column_names=_SAMPLE_COLUMNS),
    timestamp_formats=("%Y%m%d",),
))
