"""Built-in import presets for real-world formats. Importing this package registers them."""

from __future__ import annotations

from cxlens.ingest.presets import (  # noqa: F401
    events,
    reviews,
    sessions,
    surveys,
    tickets,
    transactions,
    usability,
)
from cxlens.ingest.presets.base import PRESETS, Preset, register

__all__ = ["PRESETS", "Preset", "register"]
