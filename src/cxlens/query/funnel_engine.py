"""The general engine of ordered and strict funnels: the path state machine, run for all actors at once.

Semantics (the spec is issue 5 of the project): per actor, events are grouped by instant. Each group is
processed as a list of *operations*: when all events of the instant carry the same step and exclusion
matches, each event is one operation (its steps handled from the last to the first, so one event fills at
most one step of a path); otherwise every (event, step) pair is one operation, taken in step order, with
exclusions and strict-mode breaks ignored and an event never reused by the path it already belongs to.

State per actor: for every step ``k`` the path with the latest start that reached it (start time, excluded
flag, the timestamps and rows that filled its steps, the set of steps it covers), plus the furthest step any
path reached (the first path to reach it). Step ``k`` (1-based) is filled from the closest earlier reached
step (skipping back over optional steps) when the event lies within the window of that path's start.

Why not a plain loop: a Python loop over 10^6-10^7 events is too slow and numba is not available. The state
machine is sequential *per actor* but independent *across* actors, so :func:`run_paths` runs it in lockstep:
iteration ``i`` processes the ``i``-th operation of every actor that has one, as numpy operations over those
actors (actors are ordered by their number of operations, so the active ones form a prefix). The few actors
with very long histories would make the lockstep run many nearly-empty iterations; they go through
:func:`run_paths_scalar`, the same machine written one event at a time, which is also the reference the
tests check the vectorised engines against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MISSING", "Ops", "PathResult", "build_ops", "group_starts", "run_paths", "run_paths_scalar"]

MISSING = np.iinfo(np.int64).min
"""Marks a step a path has not filled."""


@dataclass(frozen=True)
class Ops:
    """Operations of all actors, sorted by actor then processing order."""

    key: np.ndarray  # actor (or actor x breakdown value) code
    t: np.ndarray  # microseconds
    sm: np.ndarray  # bit j: fills 0-based step j
    xm: np.ndarray  # bit i: exclusion hitting paths that reached 1-based step i (1 <= i < n)
    multi: np.ndarray  # part of an instant with different events (exclusions, strict breaks ignored)
    row: np.ndarray  # source row (identity of the event)
    bdok: np.ndarray  # event carries the breakdown value of its key (step attribution)


@dataclass
class PathResult:
    """Per key: furthest 1-based step reached (0: never entered), whether that path was excluded, the
    timestamps filling each step on it (``MISSING`` elsewhere) and the steps it covers as a bitfield."""

    step: np.ndarray
    excluded: np.ndarray
    tim: np.ndarray
    bits: np.ndarray


def group_starts(key: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of rows sharing key and instant.

    Parameters
    ----------
    key, t : numpy.ndarray
        Rows sorted by (key, t).

    Returns
    -------
    gid : numpy.ndarray
        Group id of each row.
    gstart : numpy.ndarray
        First row of each group.
    """
    n = len(key)
    newg = np.ones(n, dtype=bool)
    if n > 1:
        newg[1:] = (key[1:] != key[:-1]) | (t[1:] != t[:-1])
    gid = np.cumsum(newg) - 1
    return gid, np.flatnonzero(newg)


def build_ops(key: np.ndarray, t: np.ndarray, sm: np.ndarray, xm: np.ndarray, bdok: np.ndarray,
              n_steps: int) -> Ops:
    """Turn rows into the operations of the state machine (see the module docstring).

    Parameters
    ----------
    key, t, sm, xm, bdok : numpy.ndarray
        Rows sorted by (key, t, sm, xm, breakdown): key, microseconds, step bits, exclusion bits, whether the
        row carries its key's breakdown value.
    n_steps : int
        Number of funnel steps.

    Returns
    -------
    Ops
    """
    rows = np.arange(len(key), dtype=np.int64)
    if len(key) == 0:
        return Ops(key, t, sm, xm, np.zeros(0, bool), rows, bdok)
    gid, gstart = group_starts(key, t)
    neq = np.zeros(len(key), dtype=np.int64)
    neq[1:] = (gid[1:] == gid[:-1]) & ((sm[1:] != sm[:-1]) | (xm[1:] != xm[:-1]))
    mixed = (np.add.reduceat(neq, gstart) > 0)[gid]
    plain = np.flatnonzero(~mixed)
    parts_row = [plain]
    parts_sub = [np.zeros(len(plain), dtype=np.int64)]
    parts_sm = [sm[plain]]
    for j in range(n_steps):
        r = np.flatnonzero(mixed & ((sm >> j) & 1).astype(bool))
        parts_row.append(r)
        parts_sub.append(np.full(len(r), j, dtype=np.int64))
        parts_sm.append(np.full(len(r), 1 << j, dtype=np.int64))
    r_all = np.concatenate(parts_row)
    sub = np.concatenate(parts_sub)
    sm_all = np.concatenate(parts_sm)
    order = np.lexsort((r_all, sub, gid[r_all]))
    r_all, sm_all = r_all[order], sm_all[order]
    multi = mixed[r_all]
    return Ops(key[r_all], t[r_all], sm_all, np.where(multi, 0, xm[r_all]), multi, r_all, bdok[r_all])


@dataclass
class _Config:
    n: int
    window: int
    optional: tuple[bool, ...]  # 0-based steps
    strict: bool
    bstep: int | None  # entered index whose next step must carry the key's breakdown value

    def opt1(self, idx: int) -> bool:
        """Is the 1-based step ``idx`` optional?"""
        return 1 <= idx <= self.n and self.optional[idx - 1]


class _State:
    """Path state of ``size`` actors (see :class:`PathResult`), vectorised over actors."""

    def __init__(self, size: int, n: int) -> None:
        self.has = np.zeros((size, n + 1), dtype=bool)
        self.st = np.zeros((size, n + 1), dtype=np.int64)
        self.exc = np.zeros((size, n + 1), dtype=bool)
        self.bits = np.zeros((size, n + 1), dtype=np.int64)
        self.tim = np.full((size, n + 1, n), MISSING, dtype=np.int64)
        self.uid = np.full((size, n + 1, n), -1, dtype=np.int64)
        self.mx_step = np.zeros(size, dtype=np.int64)
        self.mx_exc = np.zeros(size, dtype=bool)
        self.mx_st = np.zeros(size, dtype=np.int64)
        self.mx_tim = np.full((size, n), MISSING, dtype=np.int64)
        self.mx_bits = np.zeros(size, dtype=np.int64)

    def reset(self, r: np.ndarray, k: int) -> None:
        self.has[r, k] = False
        self.st[r, k] = 0
        self.exc[r, k] = False
        self.bits[r, k] = 0
        self.tim[r, k] = MISSING
        self.uid[r, k] = -1


def _prev_index(s: _State, cfg: _Config, k: int, r: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """Closest earlier step each actor ``r`` can fill step ``k`` from (back over optional steps)."""
    prev = np.full(len(r), k - 1, dtype=np.int64)
    if not any(cfg.optional[: k - 1]):
        return prev
    while True:
        ok = s.has[r, prev] & (tr - s.st[r, prev] <= cfg.window)
        opt = np.array([cfg.opt1(int(p)) for p in range(cfg.n + 1)])[prev]
        back = (prev > 0) & ~ok & opt
        if not back.any():
            return prev
        prev = prev - back


def _exclusions(s: _State, cfg: _Config, k: int, r: np.ndarray, tr: np.ndarray) -> None:
    prev = _prev_index(s, cfg, k, r, tr)
    has_p, st_p = s.has[r, prev], s.st[r, prev]
    go = has_p & (tr - st_p <= cfg.window) & ~(s.has[r, k] & (s.st[r, k] == st_p))
    hit = go & ~s.exc[r, prev]
    rr, pp, th = r[hit], prev[hit], tr[hit]
    s.exc[rr, pp] = True
    mark = (s.mx_step[rr] == pp) & (th - s.mx_st[rr] <= cfg.window)
    s.mx_exc[rr[mark]] = True


def _advance(s: _State, cfg: _Config, k: int, r: np.ndarray, tr: np.ndarray, rows: np.ndarray,
             multi: np.ndarray, bdok: np.ndarray) -> None:
    prev = _prev_index(s, cfg, k, r, tr)
    has_p, st_p = s.has[r, prev], s.st[r, prev]
    go = has_p & (tr - st_p <= cfg.window) & ~(s.has[r, k] & (s.st[r, k] == st_p))
    if cfg.bstep is not None:
        go &= ~((prev == cfg.bstep) & ~bdok)
    if multi.any():
        go &= ~(multi & (s.uid[r, prev, :] == rows[:, None]).any(axis=1))
    if not go.any():
        return
    r2, p2, t2 = r[go], prev[go], tr[go]
    new_st, new_exc = s.st[r2, p2], s.exc[r2, p2]
    new_bits = s.bits[r2, p2] | (1 << (k - 1))
    new_tim = s.tim[r2, p2, :]
    new_tim[:, k - 1] = t2
    new_uid = s.uid[r2, p2, :]
    if not cfg.optional[k - 1]:
        new_uid[:, k - 1] = rows[go]
    w = ~new_exc
    rw = r2[w]
    s.has[rw, k] = True
    s.st[rw, k] = new_st[w]
    s.exc[rw, k] = False
    s.bits[rw, k] = new_bits[w]
    s.tim[rw, k, :] = new_tim[w]
    s.uid[rw, k, :] = new_uid[w]
    up = (k > s.mx_step[r2]) | ((k == s.mx_step[r2]) & s.mx_exc[r2])
    ru = r2[up]
    s.mx_step[ru] = k
    s.mx_exc[ru] = new_exc[up]
    s.mx_st[ru] = new_st[up]
    s.mx_tim[ru] = new_tim[up]
    s.mx_bits[ru] = new_bits[up]


def run_paths(ops: Ops, n_keys: int, n_steps: int, window: int, optional: tuple[bool, ...], *,
              strict: bool = False, bstep: int | None = None, scalar_over: int | None = None) -> PathResult:
    """Run the path state machine for every key at once (lockstep over keys).

    Parameters
    ----------
    ops : Ops
        From :func:`build_ops`.
    n_keys : int
        Keys are ``0 .. n_keys - 1``.
    n_steps : int
        Number of steps.
    window : int
        Conversion window in microseconds (inclusive).
    optional : tuple of bool
        Which (0-based) steps are optional.
    strict : bool
        Strict order: an operation that does not fill a step clears the paths waiting for it.
    bstep : int or None
        Step attribution: the step filled from entered index ``bstep`` must carry the key's value.
    scalar_over : int or None
        Keys with more operations go through :func:`run_paths_scalar` (default: from the distribution).

    Returns
    -------
    PathResult
    """
    cfg = _Config(n_steps, window, tuple(optional), strict, bstep)
    out = PathResult(np.zeros(n_keys, np.int64), np.zeros(n_keys, bool),
                     np.full((n_keys, n_steps), MISSING, np.int64), np.zeros(n_keys, np.int64))
    if len(ops.key) == 0:
        return out
    counts = np.bincount(ops.key, minlength=n_keys)
    if scalar_over is None:
        scalar_over = int(min(5000, max(256, np.quantile(counts[counts > 0], 0.999))))
    heavy = np.flatnonzero(counts > scalar_over)
    light_ops = ops
    if len(heavy):
        is_heavy = np.zeros(n_keys, dtype=bool)
        is_heavy[heavy] = True
        sel = is_heavy[ops.key]
        res = run_paths_scalar(_take(ops, sel), n_keys, n_steps, window, optional, strict=strict, bstep=bstep)
        for name in ("step", "excluded", "tim", "bits"):
            getattr(out, name)[heavy] = getattr(res, name)[heavy]
        light_ops = _take(ops, ~sel)
        counts = np.where(is_heavy, 0, counts)
    if len(light_ops.key) == 0:
        return out
    active = np.flatnonzero(counts)
    rank_order = active[np.argsort(-counts[active], kind="stable")]
    rank = np.empty(n_keys, dtype=np.int64)
    rank[rank_order] = np.arange(len(rank_order))
    key_start = np.cumsum(counts) - counts
    pos = np.arange(len(light_ops.key)) - key_start[light_ops.key]
    order = np.lexsort((rank[light_ops.key], pos))
    o = _take(light_ops, order)
    sorted_counts = counts[rank_order]
    asc = sorted_counts[::-1]
    n_iter = int(sorted_counts[0])
    ms = len(asc) - np.searchsorted(asc, np.arange(n_iter), side="right")
    offs = np.concatenate([[0], np.cumsum(ms)])
    s = _State(len(rank_order), n_steps)
    any_x = bool(o.xm.any())
    for i in range(n_iter):
        m, a = int(ms[i]), int(offs[i])
        ot, osm = o.t[a:a + m], o.sm[a:a + m]
        s.st[:m, 0] = ot
        s.has[:m, 0] = True
        if any_x:
            oxm = o.xm[a:a + m]
            for k in range(n_steps, 1, -1):
                r = np.flatnonzero((oxm >> (k - 1)) & 1)
                if len(r):
                    _exclusions(s, cfg, k, r, ot[r])
        orow, omulti, obd = o.row[a:a + m], o.multi[a:a + m], o.bdok[a:a + m]
        for k in range(n_steps, 0, -1):
            r = np.flatnonzero((osm >> (k - 1)) & 1)
            if len(r):
                _advance(s, cfg, k, r, ot[r], orow[r], omulti[r], obd[r])
        if strict:
            clear = ~omulti
            for k in range(1, n_steps + 1):
                r = np.flatnonzero(clear & ~((osm >> (k - 1)) & 1).astype(bool))
                if len(r):
                    s.reset(r, k)
    out.step[rank_order] = s.mx_step
    out.excluded[rank_order] = s.mx_exc
    out.tim[rank_order] = s.mx_tim
    out.bits[rank_order] = s.mx_bits
    return out


def _take(ops: Ops, idx: np.ndarray) -> Ops:
    return Ops(*(getattr(ops, f)[idx] for f in ("key", "t", "sm", "xm", "multi", "row", "bdok")))


def run_paths_scalar(ops: Ops, n_keys: int, n_steps: int, window: int, optional: tuple[bool, ...], *,
                     strict: bool = False, bstep: int | None = None) -> PathResult:
    """The path state machine one operation at a time (the reference; see the module docstring).

    Parameters
    ----------
    ops, n_keys, n_steps, window, optional, strict, bstep
        As for :func:`run_paths`.

    Returns
    -------
    PathResult
    """
    n = n_steps
    opt1 = [False] + [bool(x) for x in optional]
    out = PathResult(np.zeros(n_keys, np.int64), np.zeros(n_keys, bool),
                     np.full((n_keys, n), MISSING, np.int64), np.zeros(n_keys, np.int64))
    keys = ops.key.tolist()
    ts, sms, xms = ops.t.tolist(), ops.sm.tolist(), ops.xm.tolist()
    multis, rows, bdoks = ops.multi.tolist(), ops.row.tolist(), ops.bdok.tolist()
    i, total = 0, len(keys)
    while i < total:
        key = keys[i]
        # entered[k] = [start, excluded, timings (per step), uuids (per step), bits] or None
        ent: list[list | None] = [None] * (n + 1)
        mx_step, mx = 0, [0, False, [MISSING] * n, [-1] * n, 0]
        while i < total and keys[i] == key:
            t, sm, xm, multi, row, bdok = ts[i], sms[i], xms[i], multis[i], rows[i], bdoks[i]
            ent[0] = [t, False, [MISSING] * n, [-1] * n, 0]
            for exclusion, k in [(True, k) for k in range(n, 1, -1) if (xm >> (k - 1)) & 1] + \
                                [(False, k) for k in range(n, 0, -1) if (sm >> (k - 1)) & 1]:
                prev = k - 1
                p_ent = ent[prev]
                while prev > 0 and opt1[prev] and (p_ent is None or t - p_ent[0] > window):
                    prev -= 1
                    p_ent = ent[prev]
                if p_ent is None or t - p_ent[0] > window:
                    continue
                cur = ent[k]
                if cur is not None and cur[0] == p_ent[0]:
                    continue  # this path already reached step k
                if exclusion:
                    if not p_ent[1]:
                        p_ent[1] = True
                        if mx_step == prev and t - mx[0] <= window:
                            mx[1] = True
                    continue
                if bstep is not None and prev == bstep and not bdok:
                    continue
                if multi and row in p_ent[3]:
                    continue
                tim, uid = list(p_ent[2]), list(p_ent[3])
                tim[k - 1] = t
                if not opt1[k]:
                    uid[k - 1] = row
                new = [p_ent[0], p_ent[1], tim, uid, p_ent[4] | (1 << (k - 1))]
                if not p_ent[1]:
                    ent[k] = list(new)
                if k > mx_step or (k == mx_step and mx[1]):
                    mx_step, mx = k, new
            if strict and not multi:
                for k in range(1, n + 1):
                    if not (sm >> (k - 1)) & 1:
                        ent[k] = None
            i += 1
        out.step[key] = mx_step
        out.excluded[key] = bool(mx[1])
        out.tim[key] = mx[2]
        out.bits[key] = mx[4]
    return out
