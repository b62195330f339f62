"""Query kind ``funnel``: how many actors go through a sequence of steps, and how long each step takes.

``{"kind": "funnel", "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
"conversion_window": {"value": 7, "unit": "day"}, "breakdown": {"properties": ["$browser"]}}``

Semantics follow PostHog's funnels (ordered, strict and unordered; optional steps, first-time steps,
exclusions, breakdowns with four attribution modes); they are specified in issue 5 and tested rule by rule in
``tests/query/test_funnel*.py``. One SQL query fetches the relevant events with integer step/exclusion masks
(:mod:`cxlens.query.funnel_sql`; actors as integer codes where the store keeps them); with many rows the
actors are split in two halves evaluated in two threads; numpy kernels evaluate the paths
(:mod:`cxlens.query.funnel_kernel` for the common cases, :mod:`cxlens.query.funnel_engine` for everything
else); :mod:`cxlens.query.funnel_result` builds the answer. Result: ``{"kind": "funnel", "steps": [{"name",
"count", "average_conversion_time", "median_conversion_time"}], "breakdowns": [{"breakdown_value": [...],
"steps": [...]}]}`` (seconds).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxlens.query._events import zone
from cxlens.query.funnel_engine import PathResult, build_ops, run_paths, run_paths_scalar
from cxlens.query.funnel_kernel import (
    mixed_multi_keys,
    ordered_fast,
    popcount,
    unordered_fast,
    unordered_scalar,
)
from cxlens.query.funnel_result import aggregate, counted
from cxlens.query.funnel_sql import FunnelRows, fetch_parts, fetch_rows
from cxlens.query.registry import QueryModel, register_query
from cxlens.store.sql import Filter

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["ConversionWindow", "FunnelBreakdown", "FunnelDateRange", "FunnelExclusion", "FunnelQuery",
           "FunnelStep", "run_funnel"]

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400,
                "month": 31 * 86_400}
ENGINE: Literal["auto", "general", "scalar"] = "auto"
"""Which evaluator runs: ``auto`` (vectorised kernels, state machine where needed); ``general`` (the
lockstep state machine for everything it covers) and ``scalar`` (one event at a time) exist for tests."""

_Strict = ConfigDict(extra="forbid", frozen=True)


class ConversionWindow(BaseModel):
    """How long after a path's first step its later steps may happen (inclusive)."""

    model_config = _Strict
    value: int = Field(14, ge=1)
    unit: Literal["second", "minute", "hour", "day", "week", "month"] = "day"

    @property
    def microseconds(self) -> int:
        return self.value * UNIT_SECONDS[self.unit] * 1_000_000


class FunnelDateRange(BaseModel):
    """Inclusive instants; a bare date means its whole day, a naive time is wall-clock in the timezone."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str | datetime | date | None = Field(None, alias="from")
    to: str | datetime | date | None = None


class FunnelStep(BaseModel):
    """One step: an event name (``None``: any event) and filters on it."""

    model_config = _Strict
    event: str | None = None
    properties: list[Filter] = Field(default_factory=list)
    name: str | None = None
    optional: bool = False
    first_time_for_user: Literal["event", "event_and_filters"] | None = None


class FunnelExclusion(BaseModel):
    """Actors doing this between steps ``from_step`` and ``to_step`` (0-based) of a path lose that path."""

    model_config = _Strict
    event: str | None = None
    properties: list[Filter] = Field(default_factory=list)
    from_step: int = Field(0, ge=0)
    to_step: int = Field(1, ge=1)


class FunnelBreakdown(BaseModel):
    """Split the funnel by event or person properties."""

    model_config = _Strict
    type: Literal["event", "person"] = "event"
    properties: list[str] = Field(min_length=1)
    attribution: Literal["first_touch", "last_touch", "all_events", "step"] = "first_touch"
    attribution_step: int | None = Field(None, ge=0)
    limit: int = Field(25, ge=1)

    @field_validator("properties", mode="before")
    @classmethod
    def _one_name(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class FunnelQuery(QueryModel):
    """A conversion funnel (see the module docstring)."""

    kind: Literal["funnel"] = "funnel"
    steps: list[FunnelStep] = Field(min_length=1)
    order: Literal["ordered", "strict", "unordered"] = "ordered"
    conversion_window: ConversionWindow = Field(default_factory=ConversionWindow)
    date_range: FunnelDateRange | None = None
    timezone: str = "UTC"
    global_properties: list[Filter] = Field(default_factory=list)
    exclusions: list[FunnelExclusion] = Field(default_factory=list)
    breakdown: FunnelBreakdown | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        steps = data.get("steps")
        if isinstance(steps, list):
            data["steps"] = [{"event": s} if isinstance(s, str) or s is None else s for s in steps]
            last = max(len(steps) - 1, 1)
            excl = data.get("exclusions")
            if isinstance(excl, list):
                data["exclusions"] = [{**x, "to_step": x.get("to_step", last)} if isinstance(x, dict) else x
                                      for x in excl]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> FunnelQuery:
        n = len(self.steps)
        zone(self.timezone)
        if self.steps[0].optional:
            raise ValueError("the first step of a funnel cannot be optional")
        if self.order == "unordered" and any(s.optional for s in self.steps):
            raise ValueError("optional steps need order 'ordered' or 'strict'")
        for a, b in zip(self.steps, self.steps[1:], strict=False):
            if a.optional and not b.optional and _same(a.event, a.properties, b.event, b.properties):
                raise ValueError("an optional step cannot match the required step after it")
        for x in self.exclusions:
            if not x.from_step < x.to_step <= n - 1:
                raise ValueError(f"exclusion steps must satisfy 0 <= from_step < to_step <= {n - 1}")
            if self.order == "unordered" and (x.from_step, x.to_step) != (0, n - 1):
                raise ValueError("exclusions of an unordered funnel must span the whole funnel")
            for s in self.steps[x.from_step:x.to_step + 1]:
                if x.event == s.event and set(map(_fkey, x.properties)) <= set(map(_fkey, s.properties)):
                    raise ValueError(f"exclusion {x.event!r} matches every event of a funnel step")
        bd = self.breakdown
        if bd is not None and bd.attribution == "step":
            if bd.attribution_step is None or bd.attribution_step >= n:
                raise ValueError(f"attribution 'step' needs attribution_step between 0 and {n - 1}")
            if self.order == "unordered" and bd.attribution_step != 0:
                raise ValueError("unordered funnels allow only attribution_step 0")
        return self

    @property
    def step_names(self) -> list[str]:
        if self.order == "unordered":
            return [f"Completed {i + 1} step{'s' if i else ''}" for i in range(len(self.steps))]
        return [s.name or s.event or "All events" for s in self.steps]


def _fkey(f: Filter) -> str:
    return f.model_dump_json()


def _same(e1: str | None, p1: list[Filter], e2: str | None, p2: list[Filter]) -> bool:
    return e1 == e2 and sorted(map(_fkey, p1)) == sorted(map(_fkey, p2))


@register_query("funnel", FunnelQuery, "Conversion funnel: actors through ordered, strict or unordered steps.")
def run_funnel(ws: Workspace, q: FunnelQuery) -> dict[str, Any]:
    """Run a funnel query.

    Parameters
    ----------
    ws : Workspace
    q : FunnelQuery

    Returns
    -------
    dict
        ``{"kind": "funnel", "steps": [...], "breakdowns": [...]}`` (see the module docstring).
    """
    optional = tuple(s.optional for s in q.steps)
    split = ENGINE == "auto" and _workers() >= 2
    parts = fetch_parts(ws, q, 2 if split else 1, SPLIT_ROWS, _pool() if split else None)
    if parts is not None:  # no breakdown: each part of the actors sorted and evaluated on its own
        def run(part: Callable[[], FunnelRows]) -> tuple[np.ndarray, np.ndarray]:
            rows = part()
            return counted(_evaluate(rows.actor, rows.n_actors, rows, np.ones(len(rows.actor), dtype=bool), q,
                                     optional), optional, q.order == "unordered")

        done = [_pool().submit(run, p) for p in parts[1:]]
        results = [run(parts[0])] + [f.result() for f in done]
        bits = np.concatenate([r[0] for r in results])
        gaps = np.concatenate([r[1] for r in results])
        return aggregate(q.step_names, bits, gaps, None, [()], 0)
    rows = fetch_rows(ws, q)
    bd = q.breakdown
    key, n_keys, value_of_key, bdok, rows = _keys(rows, q)
    bits, gaps = _evaluate_counted(key, n_keys, rows, bdok, q, optional)
    return aggregate(q.step_names, bits, gaps, value_of_key, rows.bd_values,
                     bd.limit if bd is not None else 0)


def _keys(rows: FunnelRows, q: FunnelQuery) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray, FunnelRows]:
    """Keys the funnel is evaluated per (actor, or actor x value), each key's breakdown value, whether each row
    carries its key's value (step attribution), and the rows, sorted by (key, t, sm, xm, bd)."""
    bd = q.breakdown
    size = len(rows.actor)
    ones = np.ones(size, dtype=bool)
    if bd is None:
        return rows.actor, rows.n_actors, None, ones, rows
    n_values = len(rows.bd_values)
    if bd.attribution == "all_events":
        uniq, key = np.unique(rows.actor * n_values + rows.bd, return_inverse=True)
        o = np.argsort(key.reshape(-1), kind="stable")
        return key.reshape(-1)[o], len(uniq), uniq % n_values, ones, _take(rows, o)
    if bd.attribution in ("first_touch", "last_touch"):
        empty = tuple("" for _ in bd.properties)
        values = list(rows.bd_values)
        if empty not in values:
            values.append(empty)
        rows = FunnelRows(rows.actor, rows.n_actors, rows.t, rows.sm, rows.xm, rows.bd, values)
        nonempty = np.array([any(v) for v in values], dtype=bool)
        value_of_key = np.full(rows.n_actors, values.index(empty), dtype=np.int64)
        idx = np.flatnonzero(nonempty[rows.bd]) if size else np.zeros(0, np.int64)
        a = rows.actor[idx]
        if len(a):
            pick = np.r_[True, a[1:] != a[:-1]] if bd.attribution == "first_touch" else np.r_[a[1:] != a[:-1], True]
            value_of_key[a[pick]] = rows.bd[idx[pick]]
        return rows.actor, rows.n_actors, value_of_key, ones, rows
    k = int(bd.attribution_step or 0)
    at_k = ((rows.sm >> k) & 1).astype(bool)
    pairs = np.unique(rows.actor[at_k] * n_values + rows.bd[at_k])
    p_actor, p_value = pairs // n_values, pairs % n_values
    per_actor = np.bincount(p_actor, minlength=rows.n_actors)
    first_pair = np.cumsum(per_actor) - per_actor
    rep = per_actor[rows.actor]
    src = np.repeat(np.arange(size), rep)
    within = np.arange(len(src)) - np.repeat(np.cumsum(rep) - rep, rep)
    key = first_pair[rows.actor[src]] + within
    o = np.argsort(key, kind="stable")
    src, key = src[o], key[o]
    return key, len(pairs), p_value, rows.bd[src] == p_value[key], _take(rows, src)


def _workers() -> int:
    try:
        return min(2, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return min(2, os.cpu_count() or 1)


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cxlens-funnel")
    return _POOL
SPLIT_ROWS = 400_000
"""Rows above which the evaluation runs on two halves of the keys in two threads."""


def _evaluate_counted(key: np.ndarray, n_keys: int, rows: FunnelRows, bdok: np.ndarray, q: FunnelQuery,
                      optional: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_evaluate` then :func:`~cxlens.query.funnel_result.counted`, for the keys split in two halves
    run in two threads when the rows are many: keys are independent, and numpy releases the GIL inside its
    array operations, so two cores each take half of the (single-threaded) kernels."""
    unordered = q.order == "unordered"
    if len(key) < SPLIT_ROWS or n_keys < 2 or ENGINE != "auto" or _workers() < 2:
        return counted(_evaluate(key, n_keys, rows, bdok, q, optional), optional, unordered)
    half = n_keys // 2
    cut = int(np.searchsorted(key, half))

    def part(lo: int, hi: int, first: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        sub = FunnelRows(rows.actor[lo:hi], size, rows.t[lo:hi], rows.sm[lo:hi], rows.xm[lo:hi], rows.bd[lo:hi],
                         rows.bd_values)
        return counted(_evaluate(key[lo:hi] - first, size, sub, bdok[lo:hi], q, optional), optional, unordered)

    second = _pool().submit(part, cut, len(key), half, n_keys - half)
    bits0, gaps0 = part(0, cut, 0, half)
    bits1, gaps1 = second.result()
    return np.concatenate([bits0, bits1]), np.concatenate([gaps0, gaps1])


def _take(rows: FunnelRows, idx: np.ndarray) -> FunnelRows:
    return FunnelRows(rows.actor[idx], rows.n_actors, rows.t[idx], rows.sm[idx], rows.xm[idx], rows.bd[idx],
                      rows.bd_values)


def _evaluate(key: np.ndarray, n_keys: int, rows: FunnelRows, bdok: np.ndarray, q: FunnelQuery,
              optional: tuple[bool, ...]) -> PathResult:
    """Per-key paths for rows sorted by (key, t, sm, xm, bd)."""
    n = len(q.steps)
    window = q.conversion_window.microseconds
    t, sm, xm = rows.t, rows.sm, rows.xm
    attribution = q.breakdown is not None and q.breakdown.attribution == "step"
    bstep = int(q.breakdown.attribution_step or 0) if attribution and q.breakdown else None
    if q.order == "unordered":
        odd = (popcount(sm, n) != 1) | (xm != 0)
        slow_keys = np.unique(key) if (attribution or ENGINE != "auto") else np.unique(key[odd])
        is_slow = np.zeros(n_keys, dtype=bool)
        is_slow[slow_keys] = True
        slow = is_slow[key]
        res = unordered_fast(key[~slow], t[~slow], sm[~slow], n, window, n_keys)
        part = unordered_scalar(key[slow], t[slow], sm[slow], xm[slow], bdok[slow], n, window, n_keys,
                                attribution=attribution)
        return _merge(res, part, slow_keys)
    simple = q.order == "ordered" and not xm.any() and not any(optional) and not attribution
    if ENGINE == "auto" and simple:
        hard = mixed_multi_keys(key, t, sm, n)
        if len(hard) == 0:
            return ordered_fast(key, t, sm, n, window, n_keys)
        is_hard = np.zeros(n_keys, dtype=bool)
        is_hard[hard] = True
        sel = is_hard[key]
        res = ordered_fast(key[~sel], t[~sel], sm[~sel], n, window, n_keys)
        part = _general(key[sel], t[sel], sm[sel], xm[sel], bdok[sel], n_keys, q, optional, bstep)
        return _merge(res, part, hard)
    return _general(key, t, sm, xm, bdok, n_keys, q, optional, bstep)


def _general(key: np.ndarray, t: np.ndarray, sm: np.ndarray, xm: np.ndarray, bdok: np.ndarray, n_keys: int,
             q: FunnelQuery, optional: tuple[bool, ...], bstep: int | None) -> PathResult:
    ops = build_ops(key, t, sm, xm, bdok, len(q.steps))
    run = run_paths_scalar if ENGINE == "scalar" else run_paths
    return run(ops, n_keys, len(q.steps), q.conversion_window.microseconds, optional, strict=q.order == "strict",
               bstep=bstep)


def _merge(base: PathResult, part: PathResult, keys: np.ndarray) -> PathResult:
    for name in ("step", "excluded", "tim", "bits"):
        getattr(base, name)[keys] = getattr(part, name)[keys]
    return base
