"""Text scores and taxonomies in the workspace (tables ``text_scores`` and ``text_taxonomies``, migration 2).

Scores are cached by (md5 of the text, method, version): a text scored once is never scored again by the
same method version, whatever table it came from. Writes are columnar (one Arrow batch per call).

The two auxiliary tables are written through ``Store.append_internal``. The md5 cache key is computed with
DuckDB's ``md5`` (hex text); a ClickHouse store would need ``hex(MD5(...))`` to match.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp, select

from cxlens.errors import NotFoundError, StoreError
from cxlens.store.migrations import TEXT_SCORES, TEXT_TAXONOMIES
from cxlens.text.taxonomy import Taxonomy

if TYPE_CHECKING:
    from cxlens.store.base import Store

__all__ = ["cached_scores", "list_taxonomies", "load_taxonomy", "save_taxonomy", "store_scores", "text_hash"]


def text_hash(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """md5 hex digest of every text (the cache key the queries compute in SQL), in one columnar pass."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("_texts", pa.table({"t": pc.fill_null(texts, "")}))
        return con.sql("SELECT md5(t) AS h FROM _texts").to_arrow_table().column("h").combine_chunks()
    finally:
        con.close()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _append_aux(store: Store, name: str, data: pa.Table, delete_where: exp.Expression | None = None) -> None:
    if getattr(store, "read_only", False):
        raise StoreError(f"the workspace is open read-only: cannot store {name}")
    store.append_internal(name, data, delete_where)


def cached_scores(store: Store, hashes: pa.Array, method: str, version: str) -> pa.Table:
    """Stored ``score``/``label`` for the given text hashes (``text_hash``, ``score``, ``label``; one row each)."""
    keys = pa.table({"h": pc.unique(hashes)})
    q = (select(exp.column("text_hash"), exp.func("min", exp.column("score")).as_("score"),
                exp.func("min", exp.column("label")).as_("label"))
         .from_(exp.table_(TEXT_SCORES.name))
         .join(exp.table_("_cxlens_keys"), on=exp.column("text_hash").eq(exp.column("h", "_cxlens_keys")))
         .where(exp.column("method").eq(exp.Literal.string(method)))
         .where(exp.column("version").eq(exp.Literal.string(version)))
         .group_by(exp.column("text_hash")))
    return store.execute_with(q, {"_cxlens_keys": keys})


def store_scores(store: Store, source_table: str, row_keys: pa.Array, hashes: pa.Array, method: str,
                 version: str, score: np.ndarray, label: np.ndarray) -> int:
    """Append scores (one row per scored row) to ``text_scores``; returns rows written."""
    n = len(hashes)
    if n == 0:
        return 0
    data = pa.table({
        "source_table": pa.repeat(pa.scalar(source_table, pa.string()), n),
        "row_key": pa.array(row_keys, pa.string()),
        "text_hash": pa.array(hashes, pa.string()),
        "method": pa.repeat(pa.scalar(method, pa.string()), n),
        "version": pa.repeat(pa.scalar(version, pa.string()), n),
        "score": pa.array(score, pa.float64()),
        "label": pa.array(label.tolist() if isinstance(label, np.ndarray) else label, pa.string()),
        "computed_at": pa.repeat(pa.scalar(_now(), pa.timestamp("us")), n),
    })
    _append_aux(store, TEXT_SCORES.name, data)
    return n


def save_taxonomy(store: Store, taxonomy: Taxonomy) -> int:
    """Store (or replace) ``taxonomy`` in the workspace; returns the number of themes."""
    defs = [json.dumps(t.model_dump(exclude={"name"}), ensure_ascii=False) for t in taxonomy.themes]
    k = len(defs)
    data = pa.table({
        "taxonomy": pa.repeat(pa.scalar(taxonomy.name, pa.string()), k),
        "theme": pa.array(taxonomy.names, pa.string()),
        "position": pa.array(np.arange(k), pa.int64()),
        "definition": pa.array(defs, pa.string()),
        "similarity": pa.repeat(pa.scalar(taxonomy.similarity, pa.float64()), k),
        "updated_at": pa.repeat(pa.scalar(_now(), pa.timestamp("us")), k),
    })
    _append_aux(store, TEXT_TAXONOMIES.name, data,
                delete_where=exp.column("taxonomy").eq(exp.Literal.string(taxonomy.name)))
    return k


def list_taxonomies(store: Store) -> list[dict[str, Any]]:
    """Stored taxonomies: ``name``, ``themes`` (count), ``updated_at``."""
    q = (select(exp.column("taxonomy").as_("name"), exp.Count(this=exp.Star()).as_("themes"),
                exp.func("max", exp.column("updated_at")).as_("updated_at"))
         .from_(exp.table_(TEXT_TAXONOMIES.name)).group_by(exp.column("taxonomy")).order_by(exp.column("taxonomy")))
    return [{**r, "updated_at": r["updated_at"].isoformat() if r["updated_at"] else None}
            for r in store.execute(q).to_pylist()]


def load_taxonomy(store: Store, name: str) -> Taxonomy:
    """A taxonomy stored with :func:`save_taxonomy`."""
    q = (select(exp.column("theme"), exp.column("definition"), exp.column("similarity"))
         .from_(exp.table_(TEXT_TAXONOMIES.name))
         .where(exp.column("taxonomy").eq(exp.Literal.string(name))).order_by(exp.column("position")))
    rows = store.execute(q).to_pylist()
    if not rows:
        known = [t["name"] for t in list_taxonomies(store)]
        raise NotFoundError(f"no taxonomy named {name!r} in this workspace; stored: {', '.join(known) or 'none'} "
                            "(add one with `cxlens taxonomy add FILE`)", name=name)
    themes = [{"name": r["theme"], **json.loads(r["definition"])} for r in rows]
    return Taxonomy.from_dict({"name": name, "similarity": rows[0]["similarity"], "themes": themes})
