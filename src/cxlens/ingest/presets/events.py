"""Event presets: the OTTO session log, PostHog event exports and Segment ``track`` JSON lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError
from cxlens.ingest.conform import ROW
from cxlens.ingest.presets._util import blank_to_null, has_columns, merge_json
from cxlens.ingest.presets.base import Preset, register, require_columns, with_skipped

__all__: list[str] = []


# -- OTTO ------------------------------------------------------------------------------------------------

def _otto(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """OTTO recommender-systems dataset (otto-de/recsys-dataset, data CC BY 4.0; Normann, Baumeister, Wilm,
    doi 10.34740/KAGGLE/DSV/4991874): one JSON line per session with nested ``events`` (``aid``, ``ts`` in
    unix ms, ``type`` clicks/carts/orders). A session is one user: ``distinct_id`` = session, ``event`` =
    type, ``timestamp`` from ts, the article id in ``properties.aid``. Exploded with Arrow list kernels
    (``list_flatten`` / ``list_parent_indices``), no per-event Python loop; errors name the session's line.
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
    description="OTTO session log (otto-de/recsys-dataset, CC BY 4.0): JSON lines, session + nested events",
    detect=lambda h, p: has_columns(h, "session", "events"),
    transform=_otto,
))


# -- PostHog ---------------------------------------------------------------------------------------------

_POSTHOG_RENAME = {"uuid": "event_id", "person_id": "posthog_person_id"}
_PROPS_PREFIX = "properties."
_POSTHOG_NESTED = ("person_properties", "group_properties")  # JSON text in batch exports -> objects


def _posthog_header(h: list[str]) -> set[str]:
    """Column names with the ``*.`` prefix of a HogQL ``SELECT *`` CSV export removed."""
    return {c.strip().lstrip("\ufeff").removeprefix("*.") for c in h}


def _posthog(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """PostHog event exports (posthog.com; the format is PostHog's, the data the user's own).

    Reads the shapes PostHog documents: batch / file-download exports as JSON lines or Parquet (``uuid``,
    ``event``, ``distinct_id``, ``timestamp``, ``properties`` as a JSON string, ``person_id``,
    ``person_properties``, ``elements_chain``, ``created_at``, ...), the events API's JSON (``results`` array,
    ``id`` instead of ``uuid``), and CSV exports, whose renderer flattens nested objects into
    ``properties.$browser``-style columns and, for an events query with ``*``, prefixes the event's fields
    with ``*.`` (``*.uuid``, ``*.properties.$browser``; plain columns such as ``event`` or ``timestamp`` that
    repeat a ``*.`` field are dropped).

    ``uuid`` (or ``id``) -> ``event_id``; ``properties`` is kept, and flattened ``properties.<key>`` columns
    are folded back into it under ``<key>`` (blank cells left out), also when a key shares a name with a
    canonical column (posthog-js sends ``properties.distinct_id``). PostHog's ``person_id`` is kept as
    ``properties.posthog_person_id``; ``person_properties`` (JSON text in batch exports) becomes a nested
    object; other columns (``elements_chain``, ``created_at``, ``team_id``, ...) are kept as properties too.
    Null fields of an object ``properties`` (pyarrow fills keys absent from a line with nulls) are dropped.
    """
    star = {n for n in raw.column_names if n.startswith("*.")}
    shadowed = {n.removeprefix("*.") for n in star}
    cols: dict[str, pa.ChunkedArray] = {}
    for name in raw.column_names:
        if name in shadowed and name not in star:
            continue  # "event" beside "*.event": the * copy wins
        cols[name.removeprefix("*.")] = raw.column(name)
    if "event_id" not in cols and "uuid" not in cols and "id" in cols:
        cols["uuid"] = cols.pop("id")
    require_columns(pa.table(cols), ["event", "distinct_id", "timestamp"], path)
    flat = [n for n in cols if n.startswith(_PROPS_PREFIX)]
    extra = pa.StructArray.from_arrays([blank_to_null(cols.pop(n).combine_chunks()) for n in flat],
                                       names=[n[len(_PROPS_PREFIX):] for n in flat]) if flat else None
    nested = {k: cols.pop(k) for k in _POSTHOG_NESTED if k in cols and pa.types.is_string(cols[k].type)}
    base = cols.get("properties")
    if extra is not None or nested or (base is not None and pa.types.is_struct(base.type)):
        cols["properties"] = pa.chunked_array([merge_json(None if base is None else base.combine_chunks(),
                                                          extra, nested)])
    out = {_POSTHOG_RENAME.get(n, n): c for n, c in cols.items()}
    return {"events": pa.table(out)}


def _is_posthog(h: list[str], p: Path) -> bool:
    names = _posthog_header(h)
    return {"event", "distinct_id", "timestamp"} <= names and (
        "uuid" in names or "properties" in names or any(n.startswith(_PROPS_PREFIX) for n in names))


register(Preset(
    name="posthog",
    kind="events",
    description="PostHog event export (JSON, JSON lines, Parquet or CSV; uuid, event, distinct_id, timestamp, "
                "properties, flattened properties.* columns folded back)",
    detect=_is_posthog,
    transform=_posthog,
    streaming=True,
))


# -- Segment ---------------------------------------------------------------------------------------------

_SEGMENT_EVENTS = {"page": "$pageview", "screen": "$screen"}
_SEGMENT_SKIPPED = ("identify", "group", "alias")
_SEGMENT_TIMES = ("timestamp", "originalTimestamp", "receivedAt", "sentAt")
_SEGMENT_KEEP = {"context": "context", "name": "name", "category": "category", "anonymousId": "anonymous_id",
                 "userId": "user_id", "originalTimestamp": "original_timestamp", "receivedAt": "received_at",
                 "sentAt": "sent_at", "channel": "channel"}


def _segment(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """Segment Spec calls as JSON lines (segment.com/docs/connections/spec; the format is Segment's, the
    data the user's own), e.g. a raw S3 / webhook archive mixing call types.

    ``track`` keeps its ``event`` name; ``page`` becomes ``$pageview`` and ``screen`` ``$screen`` (their
    ``name`` / ``category`` go to properties). ``identify``, ``group`` and ``alias`` calls carry no event
    (they change traits and identities), so they are skipped rather than rejected: a Segment log mixes call
    types by design. The skipped calls are counted by type in the table's schema metadata (see
    :func:`~cxlens.ingest.presets.base.with_skipped`); the import report's source-row count includes them.
    An unknown ``type`` stops the import with its line, as does a ``track`` call without an ``event``.

    ``distinct_id`` = ``userId``, else ``anonymousId`` (both also kept as properties, for identity
    stitching); ``event_id`` = ``messageId``; ``timestamp`` = ``timestamp``, else ``originalTimestamp``,
    ``receivedAt``, ``sentAt``. ``properties`` is kept; ``context`` (page, user agent, campaign, ...) goes to
    ``properties.context``. Delivery plumbing (``integrations``, ``writeKey``, ``version``, ``_metadata``,
    ``type``) is dropped.
    """
    require_columns(raw, ["type"], path)
    times = [c for c in _SEGMENT_TIMES if c in raw.column_names]
    if not times:
        require_columns(raw, ["timestamp"], path)
    kind = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(raw.column("type"), pa.string())))
    known = pc.fill_null(pc.is_in(kind, pa.array(["track", *_SEGMENT_EVENTS, *_SEGMENT_SKIPPED])), False)
    if not pc.all(known).as_py():
        i = pc.index(known, False).as_py()
        raise ImportValidationError("unknown Segment call type", file=str(path), row=raw.column(ROW)[i].as_py(),
                                    column="type", value=raw.column("type")[i].as_py(),
                                    expected="track, page, screen, identify, group or alias")
    counts = {k: pc.sum(pc.equal(kind, k)).as_py() or 0 for k in _SEGMENT_SKIPPED}
    is_event = pc.invert(pc.is_in(kind, pa.array(_SEGMENT_SKIPPED)))
    t, kind = raw.filter(is_event), kind.filter(is_event)
    n = t.num_rows

    def text(name: str) -> pa.ChunkedArray | pa.Array:
        return pc.cast(t.column(name), pa.string()) if name in t.column_names else pa.nulls(n, pa.string())

    event = text("event")  # track: its own name (a track call without one is reported by the validator)
    for src, name in _SEGMENT_EVENTS.items():
        event = pc.if_else(pc.equal(kind, src), name, event)
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "distinct_id": pc.coalesce(blank_to_null(text("userId")), blank_to_null(text("anonymousId"))),
        "event": event,
        "timestamp": pc.coalesce(*[blank_to_null(text(c)) for c in times]) if len(times) > 1
        else t.column(times[0]),
        "event_id": text("messageId"),
    }
    kept = [(src, dst) for src, dst in _SEGMENT_KEEP.items() if src in t.column_names]
    extra = pa.StructArray.from_arrays([t.column(src).combine_chunks() for src, _ in kept],
                                       names=[dst for _, dst in kept]) if kept else None
    base = t.column("properties").combine_chunks() if "properties" in t.column_names else None
    if base is not None or extra is not None:
        cols["properties"] = merge_json(base, extra)
    cols[ROW] = t.column(ROW)
    return {"events": with_skipped(pa.table(cols), counts)}


register(Preset(
    name="segment",
    kind="events",
    description="Segment track/page/screen calls as JSON lines (userId or anonymousId, messageId); "
                "identify/group/alias skipped",
    detect=lambda h, p: has_columns(h, "type") and ("userId" in h or "anonymousId" in h)
    and any(c in h for c in _SEGMENT_TIMES),
    transform=_segment,
))
