"""From per-actor funnel results to the answer: step counts, conversion times, breakdown rows.

A key (an actor, or an actor within one breakdown value) counts at step ``k`` when the path it is counted
with covers step ``k``. Conversion time of step ``k`` = time between the event filling ``k`` and the event
filling the previous required step on that path (for an optional step: the previous step on the path); the
average and median are taken over keys, leaving out zero durations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cxlens.query.funnel_engine import MISSING, PathResult

__all__ = ["OTHER", "aggregate", "counted", "summarise"]

OTHER = ("Other",)


def counted(res: PathResult, optional: tuple[bool, ...], unordered: bool) -> tuple[np.ndarray, np.ndarray]:
    """Which steps each key counts at, and its conversion times.

    Parameters
    ----------
    res : PathResult
        Per-key paths.
    optional : tuple of bool
        Optional steps.
    unordered : bool
        Unordered funnel (times are gaps between the sorted first events).

    Returns
    -------
    bits : numpy.ndarray
        Bit ``k`` set when the key counts at step ``k`` (0: not counted, e.g. excluded).
    gaps : numpy.ndarray
        Conversion time of each step in seconds, NaN where there is none.
    """
    n = len(optional)
    entered = (res.step >= 1) & ~res.excluded
    bits = np.where(entered, res.bits, 0)
    tim = res.tim
    if unordered:
        gaps = np.full((len(bits), n), np.nan)
        for k in range(1, n):
            ok = entered & (res.step > k)
            gaps[ok, k] = (tim[ok, k] - tim[ok, k - 1]) / 1e6
        return bits, gaps
    last_req = np.full(len(bits), MISSING, dtype=np.int64)
    last_any = np.full(len(bits), MISSING, dtype=np.int64)
    by_step = np.ascontiguousarray(tim.T)  # one contiguous row per step: the loop reads whole steps
    out = np.full((n, len(bits)), np.nan)
    for k in range(n):
        tk = by_step[k]
        here = entered & (tk != MISSING)
        prev = last_any if optional[k] else last_req
        ok = here & (prev != MISSING) & (k > 0)
        out[k, ok] = (tk[ok] - prev[ok]) / 1e6
        last_any = np.where(here, tk, last_any)
        if not optional[k]:
            last_req = np.where(here, tk, last_req)
    return bits, out.T


def _stats(values: np.ndarray) -> tuple[float | None, float | None]:
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) == 0:
        return None, None
    return float(v.mean()), float(np.median(v))


def summarise(names: list[str], bits: np.ndarray, gaps: np.ndarray) -> list[dict[str, Any]]:
    """Result rows of the steps for a group of keys.

    Parameters
    ----------
    names : list of str
        Step names.
    bits, gaps : numpy.ndarray
        From :func:`counted`, restricted to the group.

    Returns
    -------
    list of dict
        ``{"name", "count", "average_conversion_time", "median_conversion_time"}`` per step.
    """
    out = []
    for k, name in enumerate(names):
        on = ((bits >> k) & 1).astype(bool)
        avg, med = _stats(gaps[on, k]) if k > 0 else (None, None)
        out.append({"name": name, "count": int(on.sum()), "average_conversion_time": avg,
                    "median_conversion_time": med})
    return out


def aggregate(names: list[str], bits: np.ndarray, gaps: np.ndarray, value_of_key: np.ndarray | None,
              values: list[tuple[str, ...]], limit: int) -> dict[str, Any]:
    """The result object of a funnel.

    Parameters
    ----------
    names : list of str
        Step names.
    bits, gaps : numpy.ndarray
        From :func:`counted`.
    value_of_key : numpy.ndarray or None
        Breakdown value code of each key (``None``: no breakdown).
    values : list of tuple of str
        Breakdown values by code.
    limit : int
        Values kept (by last-step count, then earlier steps); the rest merge into ``["Other"]``.

    Returns
    -------
    dict
        ``{"kind": "funnel", "steps": [...], "breakdowns": [{"breakdown_value": [...], "steps": [...]}]}``;
        ``steps`` is the total.
    """
    if value_of_key is None:  # keys counted nowhere (bits 0) add nothing to any step: no need to drop them
        return {"kind": "funnel", "steps": summarise(names, bits, gaps), "breakdowns": []}
    keep = bits != 0
    result: dict[str, Any] = {"kind": "funnel", "steps": summarise(names, bits[keep], gaps[keep]),
                              "breakdowns": []}
    n = len(names)
    vk = value_of_key[keep]
    b, g = bits[keep], gaps[keep]
    n_values = len(values)
    counts = np.stack([np.bincount(vk[((b >> k) & 1).astype(bool)], minlength=n_values) for k in range(n)], 1)
    present = np.flatnonzero(counts[:, 0] > 0) if n_values else np.zeros(0, np.int64)
    if len(present) == 0:
        return result
    value_rank = np.empty(n_values, dtype=np.int64)
    value_rank[sorted(range(n_values), key=lambda i: values[i])] = np.arange(n_values)
    order = present[np.lexsort((value_rank[present], *[-counts[present, k] for k in range(n)]))]
    kept, rest = order[:limit], order[limit:]
    groups: list[tuple[tuple[str, ...], np.ndarray]] = [(values[v], np.array([v])) for v in kept]
    if len(rest):
        groups.append((OTHER, rest))
    rows = []
    for label, members in groups:
        sel = np.isin(vk, members)
        steps = summarise(names, b[sel], g[sel])
        rows.append((label, steps))
    rows.sort(key=lambda r: (tuple(-s["count"] for s in reversed(r[1])), r[0]))
    result["breakdowns"] = [{"breakdown_value": list(label), "steps": steps} for label, steps in rows]
    return result
