"""Ingest: read files and records, validate them column-wise, import all or nothing."""

__all__: list[str] = []
