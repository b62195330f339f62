"""Command line interface (``cxlens``)."""

__all__: list[str] = []
