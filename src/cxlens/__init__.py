"""cxlens: customer and user experience measurement in one place.

>>> import cxlens
>>> ws = cxlens.Workspace()          # in memory; Workspace("cx.duckdb") for a file
>>> ws.count("events")
0
"""

from __future__ import annotations

from cxlens.errors import (
    CxlensError,
    CxlensInputError,
    ImportValidationError,
    NotFoundError,
    QueryError,
    StoreError,
    UnknownQueryKindError,
)
from cxlens.ingest.importer import ImportReport
from cxlens.query.registry import QueryModel, register_query
from cxlens.schema.tables import KINDS, TABLES
from cxlens.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "TABLES",
    "CxlensError",
    "CxlensInputError",
    "ImportReport",
    "ImportValidationError",
    "NotFoundError",
    "QueryError",
    "QueryModel",
    "StoreError",
    "UnknownQueryKindError",
    "Workspace",
    "__version__",
    "register_query",
]
