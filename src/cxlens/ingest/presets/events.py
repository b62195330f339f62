"""Event presets: the OTTO session log, PostHog event exports and Segment ``track`` JSON lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import has_columns
from cxlens.ingest.presets.base import Preset, register, require_columns

__all__: list[str] = []


def _otto(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """OTTO recommender-systems dataset (otto-de/recsys-dataset, CC BY 4.0; Normann, Baumeister, Wilm,
    doi 10.34740/KAGGLE/DSV/4991874): one line per session with nested ``events`` (aid, ts in unix ms,
    type clicks/carts/orders). A session is one user: ``distinct_id`` = session; ``event`` = type; the
    article id goes to ``properties.aid``. Exploded with Arrow list kernels, no per-event Python loop.
    """
    require_columns(raw, ["session", "events"], path)
    events = raw.column("events").combine_chunks()
    parents = pc.list_parent_indices(events)
    flat = pc.list_flatten(events)
    return {"events": pa.table({
        "distinct_id": pc.cast(pc.take(raw.column("session"), parents), pa.string()),
        "event": flat.field("type"),
        "timestamp": flat.field("ts"),
        "aid": flat.field("aid"),
        ROW: pc.take(raw.column(ROW), parents),
    })}


register(Preset(
    name="otto",
    kind="events",
    description="OTTO session log (JSON lines: session + nested events with aid, ts ms, type)",
    detect=lambda h, p: has_columns(h, "session", "events"),
    transform=_otto,
))


def _posthog(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """PostHog event export (JSON, JSON lines or CSV from the events table or the batch export).

    ``uuid`` becomes ``event_id``; ``properties`` (an object, or a JSON string in CSV) is kept; CSV exports
    that flatten properties into ``properties.$browser``-style columns are folded back into properties.
    PostHog's ``person_id`` and ``elements_chain`` are kept as properties.
    """
    require_columns(raw, ["event", "distinct_id", "timestamp"], path)
    cols: dict[str, pa.ChunkedArray] = {}
    for name in raw.column_names:
        target = {"uuid": "event_id", "person_id": "posthog_person_id", "properties": "properties"}.get(
            name, name)
        if name.startswith("properties.") or name.startswith("properties_"):
            target = name.split(".", 1)[1] if "." in name else name[len("properties_"):]
        cols[target] = raw.column(name)
    return {"events": pa.table(cols)}


register(Preset(
    name="posthog",
    kind="events",
    description="PostHog event export (event, distinct_id, timestamp, properties, uuid; JSON/JSONL/CSV)",
    detect=lambda h, p: has_columns(h, "event", "distinct_id", "timestamp")
    and ("uuid" in h or "properties" in h or any(c.startswith("properties.") for c in h)),
    transform=_posthog,
    streaming=True,
))

_SEGMENT_NAMES = {"page": "$pageview", "screen": "$screen"}


def _segment(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """Segment Spec calls as JSON lines (``type`` track / page / screen / identify / group / alias).

    ``track`` keeps its ``event`` name; ``page`` becomes ``$pageview`` and ``screen`` ``$screen`` (the page
    name goes to ``properties.name``). ``identify``, ``group`` and ``alias`` calls carry no event: they are
    left out of ``events`` (the import report counts source rows, so the difference is visible).
    ``distinct_id`` = ``userId``, else ``anonymousId``; ``event_id`` = ``messageId``.
    """
    require_columns(raw, ["type", "timestamp"], path)
    kind = pc.utf8_lower(raw.column("type"))
    keep = pc.is_in(kind, pa.array(["track", "page", "screen"]))
    t = raw.filter(keep)
    kind = pc.utf8_lower(t.column("type"))
    n = t.num_rows
    event = t.column("event") if "event" in t.column_names else pa.nulls(n, pa.string())
    for src, name in _SEGMENT_NAMES.items():
        event = pc.if_else(pc.equal(kind, src), name, event)
    user = t.column("userId") if "userId" in t.column_names else pa.nulls(n, pa.string())
    anon = t.column("anonymousId") if "anonymousId" in t.column_names else pa.nulls(n, pa.string())
    cols = {"distinct_id": pc.coalesce(pc.cast(user, pa.string()), pc.cast(anon, pa.string())),
            "event": event, "timestamp": t.column("timestamp")}
    rename = {"messageId": "event_id", "properties": "properties", "context": "context", "name": "name",
              ROW: ROW}
    for src, dst in rename.items():
        if src in t.column_names:
            cols[dst] = t.column(src)
    return {"events": pa.table(cols)}


register(Preset(
    name="segment",
    kind="events",
    description="Segment track/page/screen calls as JSON lines (userId or anonymousId, messageId)",
    detect=lambda h, p: has_columns(h, "type", "timestamp") and ("userId" in h or "anonymousId" in h),
    transform=_segment,
))
