"""Attitude x value: customer segments (NPS group, RFM segment, account, role, person property) and their
comparison ("are our promoters worth more?").

Segments are attached to the per-customer arrays of the lifetime kinds. A customer is the person of the
transactions' ``distinct_id`` (or the distinct id itself without persons), so survey answers join through
the same identity map:

* ``"nps"`` - the customer's **latest answered** NPS score in ``responses`` (any survey): promoter (9-10),
  passive (7-8), detractor (0-6); customers who never answered are ``no_answer`` and reported, not dropped;
* ``"account"`` / ``"role"`` - the person's ``account_id`` / ``role`` (``none`` when empty);
* ``"person.<property>"`` - a person property;
* ``"rfm"`` - the RFM segment (computed by the calling kind from its own summary).

Comparisons: per segment the mean of each value (CLV, P(alive), ...) with a t interval
(:func:`cxlens.stats.mean_ci`; CLV is skewed, but with hundreds of customers per segment the t interval of a
mean is accurate) or, with ``interval: "bootstrap"``, a seeded percentile bootstrap (scipy); Welch t-tests
for every pair of segments corrected with Holm (:func:`cxlens.stats.welch_t`,
:func:`cxlens.stats.adjust_pvalues`), and a Kruskal-Wallis rank test across all segments
(``scipy.stats.kruskal``), which does not assume normal values.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as st
from sqlglot import exp, select

from cxlens.errors import QueryError
from cxlens.lifetime.base import json_safe
from cxlens.stats import MeanStat, adjust_pvalues, mean_ci, welch_t
from cxlens.store.sql import field

if TYPE_CHECKING:
    from cxlens.workspace import Workspace

__all__ = ["NPS_ORDER", "bootstrap_mean_ci", "compare_segments", "nps_groups", "person_segments",
           "segment_labels", "segment_warnings"]

NPS_ORDER = ("promoter", "passive", "detractor", "no_answer")


def _actor(table_alias: str) -> exp.Expression:
    return exp.func("COALESCE", exp.column("person_id", "d"), exp.column("distinct_id", table_alias))


def nps_groups(ws: Workspace) -> pd.Series:
    """Latest answered NPS group per customer (person id, or distinct id without a person).

    Returns
    -------
    pandas.Series
        Index: customer id; values ``promoter`` / ``passive`` / ``detractor``.
    """
    score = exp.column("score", "r")
    latest = exp.ArgMax(this=score, expression=exp.column("timestamp", "r"))
    sel = select(_actor("r").as_("customer"), latest.as_("score")) \
        .from_(exp.table_("responses", alias="r")) \
        .join(exp.table_("person_distinct_ids", alias="d"),
              on=exp.column("distinct_id", "d").eq(exp.column("distinct_id", "r")), join_type="left") \
        .where(exp.column("question_type", "r").eq("nps")) \
        .where(exp.column("status", "r").eq("answered")) \
        .where(exp.not_(score.is_(exp.null()))) \
        .where(exp.not_(exp.column("distinct_id", "r").is_(exp.null()))) \
        .group_by(_actor("r"))
    t = ws.store.execute(sel)
    s = np.asarray(t.column("score").cast(pa.float64()), dtype=np.float64)
    groups = np.where(s >= 9, "promoter", np.where(s >= 7, "passive", "detractor"))
    return pd.Series(groups, index=pd.Index(t.column("customer").to_pylist()), name="nps_group")


def person_segments(ws: Workspace, key: str) -> pd.Series:
    """A persons column or property per person id (empty values become ``none``).

    Parameters
    ----------
    ws : Workspace
    key : str
        ``account`` (account_id), ``role`` or a persons property name.
    """
    name = {"account": "account_id"}.get(key, key)
    col = exp.cast(field("persons", name), exp.DataType.build("VARCHAR"))
    t = ws.store.execute(select(exp.column("person_id").as_("pid"), col.as_("v")).from_("persons"))
    values = pd.Series(t.column("v").to_pylist(), index=pd.Index(t.column("pid").to_pylist()), dtype=object)
    return values.where(values.notna() & (values != ""), "none")


def segment_labels(ws: Workspace, customers: np.ndarray, by: str, custom_customer: bool,
                   rfm: np.ndarray | None = None) -> np.ndarray:
    """The segment of each customer.

    Parameters
    ----------
    ws : Workspace
    customers : numpy.ndarray
        Customer ids as the lifetime kinds return them (person id or distinct id).
    by : str
        ``nps``, ``rfm``, ``account``, ``role`` or ``person.<property>``.
    custom_customer : bool
        Whether the query named its own customer column (then survey answers and persons cannot be joined).
    rfm : numpy.ndarray, optional
        RFM segments (needed for ``by="rfm"``).

    Returns
    -------
    numpy.ndarray
        Object array of labels.
    """
    if by == "rfm":
        if rfm is None:
            raise QueryError("by 'rfm' is not available for this query")
        return np.asarray(rfm, dtype=object)
    if custom_customer:
        raise QueryError(f"by {by!r} joins survey answers and persons through distinct_id: leave 'customer' "
                         "unset to use it")
    idx = pd.Index(customers)
    if by == "nps":
        g = nps_groups(ws)
        return g.reindex(idx).fillna("no_answer").to_numpy(dtype=object)
    if by in ("account", "role") or by.startswith(("person.", "persons.")):
        key = by.split(".", 1)[1] if "." in by else by
        if not key:
            raise QueryError("by 'person.<property>' needs a property name")
        seg = person_segments(ws, key)
        return seg.reindex(idx).fillna("no_person").to_numpy(dtype=object)
    raise QueryError(f"unknown by {by!r}; use 'nps', 'rfm', 'account', 'role' or 'person.<property>'")


def bootstrap_mean_ci(values: np.ndarray, confidence: float = 0.95, seed: int = 0,
                      n_resamples: int = 2000) -> tuple[float, float]:
    """Percentile-bootstrap interval of a mean (``scipy.stats.bootstrap``, seeded, so results repeat).

    The percentile method is used rather than BCa: BCa's jackknife needs n x n work, too much for segments of
    tens of thousands of customers.
    """
    res = st.bootstrap((np.asarray(values, dtype=np.float64),), np.mean, confidence_level=confidence,
                       n_resamples=n_resamples, method="percentile", vectorized=True, batch=200,
                       random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def segment_warnings(labels: np.ndarray, by: str) -> list[str]:
    """Caveats about a segmentation, e.g. no customer could be matched to an NPS answer."""
    if by == "nps" and np.all(labels == "no_answer"):
        return ["no customer has an answered NPS question: responses are matched to transactions through "
                "distinct_id (or the person it belongs to)"]
    if by != "nps" and np.all(labels == "no_person"):
        return [f"no customer belongs to a person, so {by!r} is unknown for all: add persons with their "
                "distinct_ids"]
    return []


def _order(labels: np.ndarray, order: list[str] | None) -> list[str]:
    present = [str(v) for v in pd.unique(labels)]
    for ref in (order, NPS_ORDER):
        known = [g for g in (ref or ()) if g in present]
        if known and len(known) == len(present):
            return known
    counts = pd.Series(labels).value_counts()
    return [str(v) for v in counts.index]


def compare_segments(labels: np.ndarray, values: dict[str, np.ndarray], confidence: float = 0.95,
                     sums: tuple[str, ...] = (), order: list[str] | None = None,
                     bounds: dict[str, tuple[float, float]] | None = None, interval: str = "t",
                     seed: int = 0) -> dict[str, Any]:
    """Per-segment means with t intervals, pairwise Welch tests (Holm) and a Kruskal-Wallis test per value.

    Parameters
    ----------
    labels : numpy.ndarray
        Segment per customer.
    values : dict of numpy.ndarray
        Per-customer values to compare (e.g. ``{"clv": ..., "p_alive": ...}``); NaN values are skipped.
    confidence : float
        Confidence level of the intervals.
    sums : tuple of str
        Values whose segment totals are reported too.
    order : list of str, optional
        Display order of the segments (default: NPS order, else by size).
    bounds : dict, optional
        Range of a value (e.g. ``(0, 1)`` for probabilities); its t intervals are clipped to it.
    interval : {"t", "bootstrap"}
        Interval of each segment mean: t, or a seeded percentile bootstrap (:func:`bootstrap_mean_ci`).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        JSON-safe ``{"segments": [...], "comparisons": {value: [...]}, "tests": {value: {...}}}``.
    """
    order = _order(labels, order)
    bounds = bounds or {}
    total = labels.size
    segs: list[dict[str, Any]] = []
    stats_by: dict[str, dict[str, MeanStat]] = {k: {} for k in values}
    for g in order:
        m = labels == g
        row: dict[str, Any] = {"segment": g, "customers": int(m.sum()), "share": float(m.sum() / total)}
        for k, v in values.items():
            vals = v[m]
            vals = vals[np.isfinite(vals)]
            s = MeanStat.from_values(vals)
            stats_by[k][g] = s
            r = mean_ci(s, confidence, metric=k, bounds=bounds.get(k))
            lo, hi = r.ci_low, r.ci_high
            if interval == "bootstrap" and vals.size >= 2 and np.ptp(vals) > 0:
                lo, hi = bootstrap_mean_ci(vals, confidence, seed)
            row[k] = {"mean": r.estimate, "ci_low": lo, "ci_high": hi, "n": r.n}
            if k in sums:
                row[k]["total"] = float(vals.sum())
        segs.append(row)
    comparisons: dict[str, list[dict[str, Any]]] = {}
    tests: dict[str, dict[str, Any]] = {}
    for k, v in values.items():
        pairs = []
        for a, b in itertools.combinations(order, 2):
            sa, sb = stats_by[k][a], stats_by[k][b]
            if sa.n < 2 or sb.n < 2:
                continue
            r = welch_t(sa, sb, confidence, metric=f"{k}_difference")
            pairs.append({"a": a, "b": b, "difference": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                          "p_value": r.p_value})
        ps = [p["p_value"] for p in pairs if p["p_value"] is not None and np.isfinite(p["p_value"])]
        if ps:
            adj = iter(adjust_pvalues(np.asarray(ps), "holm"))
            for p in pairs:
                if p["p_value"] is not None and np.isfinite(p["p_value"]):
                    p["p_value_adjusted"] = float(next(adj))
                    p["significant"] = p["p_value_adjusted"] < 1 - confidence
        comparisons[k] = pairs
        samples = [v[(labels == g) & np.isfinite(v)] for g in order]
        samples = [s for s in samples if s.size]
        if len(samples) >= 2 and any(np.ptp(s) > 0 for s in samples):
            h = st.kruskal(*samples)
            tests[k] = {"test": "kruskal-wallis", "statistic": float(h.statistic), "p_value": float(h.pvalue),
                        "groups": len(samples)}
    return json_safe({"segments": segs, "comparisons": comparisons, "tests": tests,
                      "method": f"{'percentile bootstrap' if interval == 'bootstrap' else 't'} intervals; Welch "
                                "t per pair with Holm correction; Kruskal-Wallis across segments"})
