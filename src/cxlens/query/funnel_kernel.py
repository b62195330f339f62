"""Vectorised funnel kernels for the common cases, and the unordered funnel.

**Ordered, no exclusions / optional steps / step attribution** (:func:`ordered_fast`). For every step-1 event
(a path start) the path is extended greedily: step ``j+1`` is the first later event matching it (one
``searchsorted`` per step over the sorted row positions of that step's events), kept while it lies within
the window of the start. Taking the earliest candidate is optimal for a fixed start, and a path with a later
start that reached the same step by the same moment dominates an earlier one, so the furthest step of the
state machine in :mod:`cxlens.query.funnel_engine` equals the longest greedy chain, and the path the state
machine reports (the first to reach that step) is the chain ending at the earliest event, the latest start
among ties. Same-instant rules: within an instant whose events all match the same steps, a step can be filled
only by a later row (one event never fills two steps of one path); within an instant of different events any
row of the instant may follow. Actors with an instant that mixes different events *and* holds an event
matching several steps (where the distinct-event rule needs per-path memory) go to the state machine instead;
:func:`mixed_multi_keys` finds them. A path is identified by the instant of its start (a second step-1 event
at that instant continues the same path), and a start matching only step 1 whose next row among the rows
matching step 1 or 2 is a later start matching only step 1 is skipped: it has the same continuation with
less time left. Rows must be sorted by (actor, time, step bits).

**Unordered** (:func:`unordered_fast`, :func:`unordered_scalar`). The result is the largest number of
distinct steps covered by events inside one window ``[t - window, t]`` that ends at an event; conversion
times are the gaps between the first events of the covered steps at the first such moment. When every event
matches exactly one step and there are no exclusions this is computed for all actors at once with running
"last occurrence of step s" arrays. Otherwise (one event matching several steps is assigned to the step whose
latest event is oldest; an exclusion wipes the progress inside the window that was not yet recorded) the
state depends on the order of assignments, so those actors are run one event at a time by
:func:`unordered_scalar` -- only over their funnel events, which the SQL has already filtered.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from cxlens.query.funnel_engine import MISSING, PathResult, group_starts

__all__ = ["mixed_multi_keys", "ordered_fast", "popcount", "unordered_fast", "unordered_scalar"]


def popcount(x: np.ndarray, n_bits: int) -> np.ndarray:
    """Number of set bits among the lowest ``n_bits`` of each element.

    Parameters
    ----------
    x : numpy.ndarray
        Integers.
    n_bits : int

    Returns
    -------
    numpy.ndarray
    """
    out = np.zeros(len(x), dtype=np.int64)
    for j in range(n_bits):
        out += (x >> j) & 1
    return out


def _empty(n_keys: int, n: int) -> PathResult:
    return PathResult(np.zeros(n_keys, np.int64), np.zeros(n_keys, bool),
                      np.full((n_keys, n), MISSING, np.int64), np.zeros(n_keys, np.int64))


def _mixed_rows(key: np.ndarray, t: np.ndarray, sm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gid, gstart = group_starts(key, t)
    neq = np.zeros(len(key), dtype=np.int64)
    if len(key) > 1:
        neq[1:] = (gid[1:] == gid[:-1]) & (sm[1:] != sm[:-1])
    mixed_g = np.add.reduceat(neq, gstart) > 0 if len(key) else np.zeros(0, bool)
    return gid, gstart, mixed_g


def mixed_multi_keys(key: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int) -> np.ndarray:
    """Keys the fast kernel must leave to the state machine.

    Parameters
    ----------
    key, t, sm : numpy.ndarray
        Rows sorted by (key, t, sm).
    n : int
        Number of steps.

    Returns
    -------
    numpy.ndarray
        Keys having an instant with different events one of which matches two or more steps.
    """
    if len(key) < 2 or not ((key[1:] == key[:-1]) & (t[1:] == t[:-1])).any():
        return np.zeros(0, np.int64)
    _gid, gstart, mixed_g = _mixed_rows(key, t, sm)
    multi = (popcount(sm, n) >= 2).astype(np.int64)
    bad = mixed_g & (np.add.reduceat(multi, gstart) > 0)
    return np.unique(key[gstart[bad]])


def ordered_fast(key: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int, window: int, n_keys: int) -> PathResult:
    """Ordered funnel without exclusions, optional steps or step attribution (see the module docstring).

    Parameters
    ----------
    key, t, sm : numpy.ndarray
        Rows sorted by (key, t, sm): key, microseconds, step bits.
    n : int
        Number of steps.
    window : int
        Conversion window in microseconds (inclusive).
    n_keys : int
        Size of the result.

    Returns
    -------
    PathResult
    """
    out = _empty(n_keys, n)
    size = len(key)
    # step bits in the narrowest unsigned type, and positions found through boolean masks: flatnonzero of a
    # bool array is about 10x faster than of an integer array, and every gather below reads fewer bytes
    bits = sm.astype(_narrow(n))
    # rows that can start a path or fill step 2; a start followed, among these rows, by another start of the
    # same actor at a later instant, both matching only step 1, has the same continuation (the first step-2
    # row after the later one, as none lies between them) with less time left: the later start dominates it
    eq_t = t[1:] == t[:-1]
    same_instant = eq_t & (key[1:] == key[:-1]) if eq_t.any() else None
    if same_instant is not None and not same_instant.any():
        same_instant = None
    srows = np.flatnonzero((bits & 3) != 0)
    b, ks = bits[srows], key[srows]
    keep = (b & 1) != 0
    dom = (b[:-1] == 1) & (b[1:] == 1) & (ks[:-1] == ks[1:])
    if same_instant is not None:  # otherwise two rows of one actor never share an instant
        ts = t[srows]
        dom &= ts[:-1] != ts[1:]
    keep[:-1] &= ~dom
    starts = srows[keep]
    if len(starts) == 0:
        return out
    if same_instant is not None:
        gid, gstart, mixed_g = _mixed_rows(key, t, sm)
        lo_next = np.where(mixed_g[gid], gstart[gid], np.arange(1, size + 1))
        g0 = gid[starts]
        starts = starts[np.r_[True, g0[1:] != g0[:-1]]]  # a path is identified by its start instant
    else:
        lo_next = None
    n_start = len(starts)
    # path i is alive while it keeps finding its next step; per step j keep the alive paths and the rows
    # filling j (both ascending), instead of an n x paths matrix that would be mostly unwritten
    reached = np.ones(n_start, dtype=np.int64)
    last = starts.copy()  # row filling the furthest step reached by each path
    alive = np.arange(n_start)
    filled: list[tuple[np.ndarray, np.ndarray]] = [(alive, starts)]  # per step: (paths, rows filling it)
    cur, st, k0 = starts, t[starts], key[starts]
    for j in range(1, n):
        mask = (bits & (1 << j)) != 0
        pj = np.flatnonzero(mask)
        if len(pj) == 0 or len(alive) == 0:
            break
        lo = cur + 1 if lo_next is None else lo_next[cur]
        if len(lo) * 16 > size:  # many queries: a running count over the rows beats binary searches
            before = np.empty(size + 1, dtype=np.int32 if size < 2**31 else np.int64)
            before[0] = 0
            np.cumsum(mask, out=before[1:])
            pos = before[lo]  # number of step-j rows before row lo
        else:
            pos = np.searchsorted(pj, lo)
        nxt = pj[np.minimum(pos, len(pj) - 1)]
        ok = (pos < len(pj)) & (key[nxt] == k0) & (t[nxt] - st <= window)
        alive, cur, st, k0 = alive[ok], nxt[ok], st[ok], k0[ok]
        reached[alive] += 1
        last[alive] = cur
        filled.append((alive, cur))
    skey = key[starts]
    bstart = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
    sel = _best_paths(reached, last, bstart, size)
    keys = skey[sel]
    k_sel = reached[sel]
    out.step[keys] = k_sel
    out.bits[keys] = (np.int64(1) << k_sel) - 1
    out.tim[keys, 0] = t[starts[sel]]
    for j, (paths, rows) in enumerate(filled[1:], start=1):
        has = np.flatnonzero(k_sel > j)
        out.tim[keys[has], j] = t[rows[np.searchsorted(paths, sel[has])]]
    return out


def _narrow(n: int) -> type[np.unsignedinteger]:
    """The smallest unsigned integer type holding ``n`` step bits."""
    return next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if n <= np.iinfo(d).bits)


def _best_paths(reached: np.ndarray, last: np.ndarray, bstart: np.ndarray, size: int) -> np.ndarray:
    """Per key (paths grouped by key, from ``bstart``, in start order): the path reaching the furthest step,
    among those the one ending at the earliest row, among those the latest start. Returns path indexes."""
    n_path = len(reached)
    pbits = max(int(size).bit_length(), int(n_path).bit_length())
    if int(reached.max()).bit_length() + 2 * pbits <= 63:
        # the three criteria packed into one integer, so one maximum per key decides
        score = (reached << (2 * pbits)) | ((size - 1 - last) << pbits) | np.arange(n_path)
        return np.maximum.reduceat(score, bstart) & ((1 << pbits) - 1)
    best = np.repeat(np.maximum.reduceat(reached, bstart), np.diff(np.r_[bstart, n_path]))
    ci = np.flatnonzero(reached == best)
    skey = np.repeat(np.arange(len(bstart)), np.diff(np.r_[bstart, n_path]))
    ck = skey[ci]
    cstart = np.flatnonzero(np.r_[True, ck[1:] != ck[:-1]])
    minlast = np.repeat(np.minimum.reduceat(last[ci], cstart), np.diff(np.r_[cstart, len(ci)]))
    ci = ci[last[ci] == minlast]
    ck = skey[ci]
    return ci[np.r_[ck[1:] != ck[:-1], True]]  # latest start among ties


def _lex_search(ka: np.ndarray, ta: np.ndarray, qk: np.ndarray, qt: np.ndarray) -> np.ndarray:
    """First index with (ka, ta) >= (qk, qt) in arrays sorted by (ka, ta), by a vectorised binary search."""
    lo = np.searchsorted(ka, qk, side="left")
    hi = np.searchsorted(ka, qk, side="right")
    if len(ta) == 0:
        return lo
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        right = active & (ta[np.minimum(mid, len(ta) - 1)] < qt)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(active & ~right, mid, hi)


def unordered_fast(key: np.ndarray, t: np.ndarray, sm: np.ndarray, n: int, window: int,
                   n_keys: int) -> PathResult:
    """Unordered funnel where every row matches exactly one step and there are no exclusions.

    Parameters
    ----------
    key, t, sm : numpy.ndarray
        Rows sorted by (key, t, sm).
    n, window, n_keys
        As for :func:`ordered_fast`.

    Returns
    -------
    PathResult
        ``step`` = most steps covered within one window; ``tim`` = the first events of the covered steps,
        in time order, at the first moment that maximum was reached.
    """
    out = _empty(n_keys, n)
    size = len(key)
    if size == 0:
        return out
    rows = np.arange(size, dtype=np.int64)
    kfirst = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    kstart = np.repeat(kfirst, np.diff(np.r_[kfirst, size]))
    step = np.zeros(size, dtype=np.int64)
    for j in range(n):
        step[((sm >> j) & 1).astype(bool)] = j
    count = np.zeros(size, dtype=np.int64)
    lower = t - window
    for j in range(n):
        last = np.maximum.accumulate(np.where(step == j, rows, -1))
        ok = last >= kstart
        count += ok & (t[np.maximum(last, 0)] >= lower)
    best = np.maximum.reduceat(count, kfirst)
    best_row = np.repeat(best, np.diff(np.r_[kfirst, size]))
    hit = np.flatnonzero(count == best_row)
    hk = key[hit]
    first = hit[np.r_[True, hk[1:] != hk[:-1]]]  # first moment the maximum is reached
    keys = key[first]
    out.step[keys] = best
    out.bits[keys] = (np.int64(1) << best) - 1
    fronts = np.full((len(first), n), MISSING, dtype=np.int64)
    for j in range(n):
        pj = np.flatnonzero(step == j)
        idx = _lex_search(key[pj], t[pj], keys, t[first] - window)
        cand = pj[np.minimum(idx, max(len(pj) - 1, 0))] if len(pj) else np.zeros(len(first), np.int64)
        ok = (idx < len(pj)) & (key[cand] == keys) & (cand <= first) if len(pj) else np.zeros(len(first), bool)
        fronts[ok, j] = t[cand[ok]]
    fronts.sort(axis=1)  # MISSING is the smallest value: covered steps end up last, in time order
    for r in range(len(first)):
        m = int(best[r])
        out.tim[keys[r], :m] = fronts[r, n - m:]
    return out


def unordered_scalar(key: np.ndarray, t: np.ndarray, sm: np.ndarray, xm: np.ndarray, bdok: np.ndarray,
                     n: int, window: int, n_keys: int, *, attribution: bool = False) -> PathResult:
    """Unordered funnel, one event at a time, for any rows.

    Parameters
    ----------
    key, t, sm, xm, bdok : numpy.ndarray
        Rows sorted by (key, t, sm): exclusion bits mark exclusion events; ``bdok`` whether a row carries
        its key's breakdown value.
    n, window, n_keys
        As for :func:`ordered_fast`.
    attribution : bool
        Step attribution (step 0): the event starting progress must carry the key's value.

    Returns
    -------
    PathResult

    Notes
    -----
    An event matching several steps fills the one whose latest event is oldest (an empty one first); an
    exclusion wipes the progress inside the window; an exclusion at an instant with step events is ignored.
    """
    out = _empty(n_keys, n)
    keys, ts, sms, xms, oks = key.tolist(), t.tolist(), sm.tolist(), xm.tolist(), bdok.tolist()
    size, i = len(keys), 0
    while i < size:
        k = keys[i]
        j = i
        while j < size and keys[j] == k:
            j += 1
        step_instants = {ts[b] for b in range(i, j) if sms[b]}
        events = [a for a in range(i, j) if sms[a] or (xms[a] and ts[a] not in step_instants)]
        i = j
        dq: list[deque[int]] = [deque() for _ in range(n)]
        done, best, best_t = 0, 0, []

        for pos, a in enumerate(events):
            now = ts[a]
            while True:
                fronts = [(ts[d[0]], s) for s, d in enumerate(dq) if d]
                if not fronts:
                    break
                old_t, old_s = min(fronts)
                if done < n and old_t + window >= now:
                    break
                if done > best:
                    best, best_t = done, sorted(ts[d[0]] for d in dq if d)
                dq[old_s].popleft()
                if not dq[old_s]:
                    done -= 1
            if sms[a] == 0:
                dq = [deque() for _ in range(n)]
                done = 0
            else:
                steps = [s for s in range(n) if (sms[a] >> s) & 1]
                s = min(steps, key=lambda s: ts[dq[s][-1]] if dq[s] else -(2**62))
                if not (attribution and done == 0 and not oks[a]):
                    if not dq[s]:
                        done += 1
                    dq[s].append(a)
            if best == n:
                break
            if pos == len(events) - 1 and done > best:
                best, best_t = done, sorted(ts[d[0]] for d in dq if d)
        out.step[k] = best
        out.bits[k] = (1 << best) - 1
        out.tim[k, :best] = best_t
    return out
