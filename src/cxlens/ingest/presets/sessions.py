"""Session presets: UCI Online Shoppers Purchasing Intention (one row per session)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import blank_to_null, has_columns, numeric, slug
from cxlens.ingest.presets.base import Preset, constant, register, require_columns

__all__: list[str] = []

_PAGES = ("Administrative", "Informational", "ProductRelated")
# source column -> property name (numbers unless listed in _TEXT / _FLAGS)
_PROPS = {
    "Administrative": "administrative_pages", "Administrative_Duration": "administrative_duration_s",
    "Informational": "informational_pages", "Informational_Duration": "informational_duration_s",
    "ProductRelated": "product_related_pages", "ProductRelated_Duration": "product_related_duration_s",
    "BounceRates": "bounce_rate", "ExitRates": "exit_rate", "PageValues": "page_value",
    "SpecialDay": "special_day", "Month": "month", "OperatingSystems": "operating_system",
    "Browser": "browser", "Region": "region", "TrafficType": "traffic_type", "VisitorType": "visitor_type",
    "Weekend": "weekend",
}
_TEXT = ("Month", "VisitorType")
_FLAGS = ("Weekend",)
_CODES = ("OperatingSystems", "Browser", "Region", "TrafficType")


def _flag(col: pa.ChunkedArray) -> pa.ChunkedArray:
    low = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(col, pa.string())))
    return pc.if_else(pc.is_in(low, pa.array(["true", "1", "yes"])), True,
                      pc.if_else(pc.is_in(low, pa.array(["false", "0", "no"])), False, pa.scalar(None, pa.bool_())))


def _uci(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """UCI Machine Learning Repository no. 468, Online Shoppers Purchasing Intention (Sakar, Polat,
    Katircioglu & Kastro, Neural Computing and Applications 31, 2019; CC BY 4.0), as in
    menaceonzenith/online-shoppers-intentions: one row per session of a Turkish online retailer, aggregated
    from Google Analytics.

    * ``session_id`` = ``uci-<row>`` (the source has none); no visitor id or start time (only a month name,
      no year), so ``distinct_id`` and ``started_at`` stay empty.
    * ``pageviews`` = Administrative + Informational + ProductRelated pages; ``duration_s`` = the three
      durations added up, where GA's -1 ("not measured", 33 sessions) counts as 0.
    * ``converted`` = Revenue.
    * ``bounced``: a one-page session with no measured time (GA times a session from its first to its last
      hit, so a single-hit session lasts 0 s) and no purchase: 546 sessions. Sessions with more pages, or
      one page but time on site or a purchase (another hit happened), did not bounce. Empty when the page
      counts are missing (14 rows) or zero (5 rows). ``BounceRates`` is not used for it: it is GA's average
      bounce rate of the pages the session visited, not a fact about the session (52 one-page sessions
      have 0 there); it is kept as ``bounce_rate``.
    * Properties, with readable names and as numbers / booleans: the page counts and durations per page
      type (``administrative_pages``, ``product_related_duration_s``, ...), ``bounce_rate``, ``exit_rate``,
      ``page_value``, ``special_day``, ``month`` (three letters: the source's "June" becomes "Jun" like
      every other month), ``operating_system``, ``browser``, ``region``, ``traffic_type`` (integer codes),
      ``visitor_type``, ``weekend``.
    """
    require_columns(raw, [*_PAGES, "ProductRelated_Duration", "Revenue"], path)
    n = raw.num_rows
    rows, file = raw.column(ROW), str(path)
    pages = [numeric(raw.column(c), rows=rows, column=c, file=file) for c in _PAGES]
    pageviews = pc.add(pc.add(pages[0], pages[1]), pages[2])
    durations = [pc.max_element_wise(numeric(raw.column(f"{c}_Duration"), rows=rows, column=f"{c}_Duration",
                                             file=file), 0.0)
                 if f"{c}_Duration" in raw.column_names else pa.nulls(n, pa.float64()) for c in _PAGES]
    duration = pc.add(pc.add(pc.fill_null(durations[0], 0.0), pc.fill_null(durations[1], 0.0)),
                      pc.fill_null(durations[2], 0.0))
    duration = pc.if_else(pc.is_null(pageviews), pa.scalar(None, pa.float64()), duration)
    converted = _flag(raw.column("Revenue"))
    single_hit = pc.and_(pc.equal(pageviews, 1.0), pc.equal(duration, 0.0))
    bounced = pc.and_not(single_hit, pc.fill_null(converted, False))
    bounced = pc.if_else(pc.fill_null(pc.greater(pageviews, 0.0), False), bounced, pa.scalar(None, pa.bool_()))
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "session_id": pc.binary_join_element_wise(constant("uci", n), pc.cast(raw.column(ROW), pa.string()), "-"),
        "pageviews": pc.cast(pageviews, pa.int64()),
        "duration_s": duration,
        "bounced": bounced,
        # the source's own text goes to the validator (a value that is not TRUE/FALSE is reported)
        "converted": raw.column("Revenue"),
    }
    for name in raw.column_names:
        if name in ("Revenue", ROW):
            continue
        col = raw.column(name)
        if name in _TEXT:
            value = blank_to_null(pc.utf8_trim_whitespace(col))
            cols[_PROPS[name]] = pc.utf8_slice_codeunits(value, 0, 3) if name == "Month" else value
        elif name in _FLAGS:
            cols[_PROPS[name]] = _flag(col)
        elif name in _PROPS:
            cols[_PROPS[name]] = numeric(col, pa.int64() if name in _CODES or name in _PAGES else pa.float64())
        else:
            cols[slug(name)] = blank_to_null(col)
    cols[ROW] = raw.column(ROW)
    return {"sessions": pa.table(cols)}


register(Preset(
    name="uci_shoppers",
    kind="sessions",
    description="UCI Online Shoppers Purchasing Intention sessions (page counts, durations, Revenue; CC BY 4.0)",
    detect=lambda h, p: has_columns(h, "ProductRelated", "ProductRelated_Duration", "Revenue"),
    transform=_uci,
))
