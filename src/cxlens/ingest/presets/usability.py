"""Usability presets: task tables (participant x task with completion, time, satisfaction)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cxlens.ingest.conform import ROW
from cxlens.ingest.presets.base import Preset, constant, register

__all__: list[str] = []

# source names seen in task-level benchmark exports -> canonical task fields
_ALIASES = {
    "participant": ("participant", "par", "participant_id", "user", "pid"),
    "task": ("task", "task_id"),
    "completed": ("completed", "comp", "success", "completion"),
    "time_s": ("time_s", "time", "duration", "seconds", "task_time"),
    "satisfaction": ("satisfaction", "sat", "seq", "ease"),
    "variant": ("variant", "group", "version", "condition"),
    "errors": ("errors", "error_count"),
    "clicks": ("clicks",),
}


def _source(h: list[str], field: str) -> str | None:
    low = {c.strip().lower(): c for c in h}
    return next((low[a] for a in _ALIASES[field] if a in low), None)


def _task_table(raw: pa.Table, path: Path) -> dict[str, pa.Table]:
    """A usability task table, one row per participant and task, with the columns found under common names
    (``par``/``participant``, ``task``, ``comp``/``completed``/``success``, ``time``/``time_s``, ``sat``/
    ``satisfaction``/``seq``, ``group``/``variant``/``version``, ``errors``, ``clicks``); other columns stay in
    properties. ``study`` is the file name (stem) unless a ``study`` column exists.

    Example: the OpenShift usability benchmark (carljpearson/openshift-sum ``final-combined-data.csv``, SUM
    method: ``par, task, time, sat, comp, group``; no licence stated, credit the author, tests only): 132
    rows = 33 participants x 4 tasks, ``time`` in seconds (incomplete tasks cut off at 600), ``sat`` the mean
    post-task satisfaction 1-5, ``comp`` 1/0, ``group`` the product version.
    """
    cols: dict[str, pa.ChunkedArray | pa.Array] = {}
    used: set[str] = set()
    for field in _ALIASES:
        src = _source(raw.column_names, field)
        if src is not None:
            cols[field] = raw.column(src)
            used.add(src)
    if "study" in raw.column_names:
        cols["study"] = raw.column("study")
        used.add("study")
    else:
        cols["study"] = constant(path.stem, raw.num_rows)
    for name in raw.column_names:
        if name not in used:
            cols[name] = raw.column(name)
    cols[ROW] = raw.column(ROW)
    return {"tasks": pa.table(cols)}


register(Preset(
    name="task_table",
    kind="tasks",
    description="usability task table: participant, task, completed, time, satisfaction, variant "
                "(e.g. par/task/time/sat/comp/group of the OpenShift SUM benchmark, carljpearson/openshift-sum)",
    detect=lambda h, p: all(_source(h, f) for f in ("participant", "task")) and (
        _source(h, "completed") is not None or _source(h, "time_s") is not None),
    transform=_task_table,
    streaming=True,
))
