"""Turn what a user hands to ``Workspace.add`` into an Arrow table.

Accepted: a list of dicts, a pandas or polars DataFrame, an Arrow table or record batch. DataFrames and Arrow
stay columnar (zero-copy where the library allows). Lists of dicts are Python objects already; nested
``properties`` dicts are serialised once with orjson before the columnar conversion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa

from cxlens.errors import CxlensInputError

__all__ = ["to_arrow"]


def _json_default(o: Any) -> Any:
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def _dumps(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return orjson.dumps(v, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _from_records(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    for i, r in enumerate(records[:1000]):
        if not isinstance(r, Mapping):
            raise CxlensInputError(f"record {i + 1} is a {type(r).__name__}, expected a dict (JSON object)")
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    columns: dict[str, list[Any]] = {}
    for k in keys:
        values = [r.get(k) for r in records]
        if k in ("properties", "distinct_ids") or any(isinstance(v, (dict, list, tuple)) for v in values):
            if k == "distinct_ids":
                columns[k] = values
                continue
            values = [_dumps(v) for v in values]
        columns[k] = values
    try:
        return pa.table(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed types in one field (e.g. 3 and "3"): keep them as text, the validator casts them
        return pa.table({k: pa.array([None if v is None else str(v) for v in vs], pa.string())
                         for k, vs in columns.items()})


def to_arrow(data: Any) -> pa.Table:
    """Convert ``data`` (records, pandas, polars, Arrow) to an Arrow table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if mod == "polars":
        return data.to_arrow()
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return _from_records(data)
    raise CxlensInputError(
        f"cannot add a {type(data).__name__}; pass a list of dicts, a pandas or polars DataFrame, "
        "or a pyarrow Table"
    )
