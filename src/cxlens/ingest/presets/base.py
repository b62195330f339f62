"""Import presets: how a known file format maps onto the canonical tables.

A preset names the kind it fills, recognises its files (``detect``), says how to read them (``read``), and
turns the raw Arrow table into canonical-column tables (``transform``). Columns a transform leaves under
non-canonical names are folded into ``properties`` by the validator, so nothing of the source is lost.
Presets register themselves with :func:`register`; built-in presets live in sibling modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.errors import CxlensInputError, ImportValidationError
from cxlens.ingest.readers import ReadOptions

__all__ = [
    "PRESETS",
    "SKIPPED_KEY",
    "Preset",
    "column",
    "constant",
    "register",
    "rename",
    "require_columns",
    "with_skipped",
]

Transform = Callable[[pa.Table, Path], Mapping[str, pa.Table]]

SKIPPED_KEY = b"cxlens.skipped"
"""Schema-metadata key under which a transform records source rows it left out on purpose, as a JSON object
``{reason: count}`` (see :func:`with_skipped`), so that the import report can say so."""
Detect = Callable[[list[str], Path], bool]


@dataclass(frozen=True)
class Preset:
    """A known source format.

    Attributes
    ----------
    name: short id used with ``--preset``.
    kind: the canonical table the user imports into (``cxlens import KIND``).
    description: one line for ``--help`` and the README, with the source's attribution.
    detect: recognises the file from its header (column names or JSON keys) and path.
    transform: raw Arrow table (with a ``_row`` column) -> ``{table: canonical-ish Arrow table}``.
    read: how to read the file.
    timestamp_formats: strptime formats tried before ISO-8601.
    streaming: the transform works batch by batch (large files), else it sees the whole file.
    """

    name: str
    kind: str
    description: str
    detect: Detect
    transform: Transform
    read: ReadOptions = field(default_factory=ReadOptions)
    timestamp_formats: tuple[str, ...] = ()
    streaming: bool = False


PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    """Add a preset to the registry (built-ins and plugins alike)."""
    if preset.name in PRESETS:
        raise ValueError(f"preset {preset.name!r} is registered twice")
    PRESETS[preset.name] = preset
    return preset


def detect(kind: str, path: Path, header: list[str]) -> Preset | None:
    """The preset of ``kind`` that recognises this file, if any."""
    for p in PRESETS.values():
        if p.kind == kind and p.detect(header, path):
            return p
    return None


def get(name: str, kind: str) -> Preset:
    """Look up a preset by name, checking it fills ``kind``."""
    try:
        p = PRESETS[name]
    except KeyError:
        valid = ", ".join([*sorted(n for n, p in PRESETS.items() if p.kind == kind), "generic"])
        raise CxlensInputError(f"unknown preset {name!r}; presets for {kind}: {valid}") from None
    if p.kind != kind:
        raise CxlensInputError(f"preset {name!r} imports {p.kind}, not {kind}")
    return p


# -- helpers for writing transforms -------------------------------------------------------------------

def require_columns(table: pa.Table, names: Sequence[str], path: Path) -> None:
    """Raise a clear error when a column the preset needs is absent."""
    for n in names:
        if n not in table.column_names:
            raise ImportValidationError(
                "required column is missing", file=str(path), column=n,
                expected=f"the columns {', '.join(names)}",
            )


def rename(table: pa.Table, mapping: Mapping[str, str]) -> pa.Table:
    """Rename source columns to canonical names (columns not named stay as they are)."""
    return table.rename_columns([mapping.get(n, n) for n in table.column_names])


def constant(value: object, n: int, type_: pa.DataType | None = None) -> pa.Array:
    """A column of ``n`` copies of ``value``, built without a Python loop."""
    scalar = pa.scalar(value, type_)
    return pc.fill_null(pa.nulls(n, scalar.type), scalar)


def column(table: pa.Table, name: str) -> pa.ChunkedArray:
    """A column as a chunked array."""
    return table.column(name)


def with_skipped(table: pa.Table, counts: Mapping[str, int]) -> pa.Table:
    """Record in ``table``'s schema metadata how many source rows the transform left out, by reason."""
    kept = {k: int(v) for k, v in counts.items() if v}
    if not kept:
        return table
    meta = dict(table.schema.metadata or {})
    meta[SKIPPED_KEY] = json.dumps(kept).encode()
    return table.replace_schema_metadata(meta)
