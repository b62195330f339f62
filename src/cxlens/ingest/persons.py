"""Split person records into the ``persons`` table and the ``person_distinct_ids`` identity map.

A person record is ``{"id": ..., "distinct_ids": [...], "properties": {...}, "account_id", "role"}``
(``person_id`` may stand for ``id``). ``distinct_ids`` may be a list, a JSON array string, or absent, in which
case the person id itself is the person's only distinct id.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import ImportValidationError
from cxlens.ingest.conform import ROW, _engine

__all__ = ["split_persons"]


def split_persons(raw: pa.Table, *, file: str | None = None) -> dict[str, pa.Table]:
    """Return ``{"persons": ..., "person_distinct_ids": ...}`` (not yet validated)."""
    t = raw
    if "id" in t.column_names and "person_id" not in t.column_names:
        t = t.rename_columns(["person_id" if n == "id" else n for n in t.column_names])
    if "person_id" not in t.column_names:
        raise ImportValidationError("required column is missing", file=file, column="id",
                                    expected="an 'id' (or 'person_id') for every person")
    pid = t.column("person_id").cast(pa.string())
    t = t.set_column(t.column_names.index("person_id"), "person_id", pid)
    if "distinct_ids" in t.column_names:
        ids = t.column("distinct_ids")
        con = _engine()
        con.register("_cxlens_p", pa.table({"person_id": pid, "ids": ids,
                                            ROW: t.column(ROW) if ROW in t.column_names else pid}))
        try:
            if pa.types.is_list(ids.type) or pa.types.is_large_list(ids.type):
                expr = "CAST(ids AS VARCHAR[])"
            else:
                expr = "CASE WHEN ids IS NULL OR trim(ids) = '' THEN NULL " \
                       "WHEN starts_with(trim(ids), '[') THEN from_json(ids, '[\"VARCHAR\"]') " \
                       "ELSE string_split(ids, ';') END"
            pairs = con.sql(
                f"SELECT DISTINCT trim(CAST(d AS VARCHAR)) AS distinct_id, person_id FROM "
                f"(SELECT person_id, unnest(COALESCE({expr}, [person_id])) AS d FROM _cxlens_p) "
                "WHERE d IS NOT NULL AND trim(CAST(d AS VARCHAR)) <> ''"
            ).to_arrow_table()
        finally:
            con.unregister("_cxlens_p")
        t = t.drop_columns(["distinct_ids"])
    else:
        pairs = pa.table({"distinct_id": pid, "person_id": pid})
    dup = pc.value_counts(pairs.column("distinct_id").combine_chunks())
    counts = dup.field("counts")
    if len(counts) and pc.max(counts).as_py() > 1:
        value = dup.field("values")[pc.index(counts, pc.max(counts)).as_py()].as_py()
        raise ImportValidationError(
            "one distinct id is listed under two persons", file=file, column="distinct_ids",
            value=value, expected="each distinct id under one person (merge the persons first)")
    return {"persons": t, "person_distinct_ids": pairs}
