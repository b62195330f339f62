"""Built-in import presets for real-world formats. Importing this package registers them."""

from __future__ import annotations

from cxlens.ingest.presets import surveys  # noqa: F401
from cxlens.ingest.presets.base import PRESETS, Preset, register

__all__ = ["PRESETS", "Preset", "register"]
