"""The data contract: canonical tables of every signal."""

from cxlens.schema.tables import KINDS, QUESTION_TYPES, TABLES, Column, Table, table

__all__ = ["KINDS", "QUESTION_TYPES", "TABLES", "Column", "Table", "table"]
