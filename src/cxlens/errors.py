"""The cxlens error tree.

Every error the product raises on purpose derives from :class:`CxlensError`. Each class carries an HTTP
``status`` and a stable ``code`` so the API, the CLI and the Python API report the same thing::

    CxlensError
    ├── CxlensInputError (ValueError)       400  bad data or arguments from the caller
    │   ├── ImportValidationError           422  a file or batch failed validation (names file/row/column)
    │   └── QueryError                      400  a query object is malformed
    │       └── UnknownQueryKindError       400  ``kind`` is not registered (lists the valid kinds)
    ├── ConvergenceError (RuntimeError)     422  a model fit did not converge (cxlens.lifetime)
    ├── NotFoundError (LookupError)         404  a table, file or object does not exist
    └── StoreError (RuntimeError)           500  the storage engine failed (not the caller's fault)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CxlensError",
    "CxlensInputError",
    "ImportValidationError",
    "NotFoundError",
    "QueryError",
    "StoreError",
    "UnknownQueryKindError",
]


class CxlensError(Exception):
    """Base class of every error cxlens raises on purpose."""

    status: int = 500
    code: str = "cxlens_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class CxlensInputError(CxlensError, ValueError):
    """The caller gave data or arguments that cxlens cannot accept."""

    status = 400
    code = "invalid_input"


class ImportValidationError(CxlensInputError):
    """An import or batch failed validation; nothing of it was stored.

    ``details`` carries ``file``, ``row`` (1-based data row, header excluded), ``column``, ``value`` and
    ``expected`` when they are known.
    """

    status = 422
    code = "invalid_data"

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        parts = []
        if file:
            parts.append(str(file))
        if row is not None:
            parts.append(f"row {row}")
        if column:
            parts.append(f"column {column!r}")
        where = ", ".join(parts)
        msg = f"{where}: {reason}" if where else reason
        if value is not None:
            msg += f" (got {value!r})"
        if expected:
            msg += f"; expected {expected}"
        msg += ". Nothing was imported."
        super().__init__(msg, file=file, row=row, column=column, value=value, expected=expected)
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.expected = expected


class QueryError(CxlensInputError):
    """A query object is malformed (unknown field, wrong type, unknown column)."""

    code = "invalid_query"


class UnknownQueryKindError(QueryError):
    """``q["kind"]`` names no registered query kind."""

    code = "unknown_query_kind"


class NotFoundError(CxlensError, LookupError):
    """A table, file or object does not exist."""

    status = 404
    code = "not_found"


class StoreError(CxlensError, RuntimeError):
    """The storage engine failed for a reason that is not the caller's input."""

    status = 500
    code = "store_error"
