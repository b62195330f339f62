"""Bundled demo data: small real public samples (see ``demo/ATTRIBUTION.md``) and their loader."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import as_file, files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cxlens.ingest.importer import ImportReport
    from cxlens.workspace import Workspace

__all__ = ["DEMO_FILES", "demo_path", "load_demo"]

DEMO_FILES: tuple[tuple[str, str, str], ...] = (
    ("events", "otto_train_sample.jsonl", "otto"),
    ("responses", "nhs_fft_v6framework_230831.csv", "nhs_fft"),
    ("responses", "vr_queue_sus.csv", "sus_wide"),
    ("tickets", "cfpb_complaints_2016-2020_sample.csv", "cfpb"),
    ("reviews", "maalej_reviews_converted.csv", "maalej"),
    ("transactions", "CDNOW_sample.txt", "cdnow_sample"),
    ("sessions", "online_shoppers_intention.csv", "uci_shoppers"),
)
"""(kind, file name, preset) of every bundled file."""


def demo_path(name: str) -> str:
    """Filesystem path of a bundled demo file (extracted if the package is zipped)."""
    with as_file(files("cxlens.datasets") / "demo" / name) as p:
        return str(p)


def load_demo(ws: Workspace, progress: Callable[[str], None] | None = None) -> list[ImportReport]:
    """Import every bundled demo file into ``ws`` (one import per file); returns the reports."""
    reports = []
    for kind, name, preset in DEMO_FILES:
        if progress:
            progress(name)
        reports.append(ws.import_file(kind, demo_path(name), preset=preset))
    return reports
