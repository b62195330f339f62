"""Multiple-comparison corrections for many segments, periods or metrics tested at once.

Holm (family-wise error rate) and Benjamini-Hochberg (false discovery rate). BH comes from
:func:`statsmodels.stats.multitest.multipletests`; Holm is written out (see :func:`_holm`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.multitest import multipletests

from cxlens.stats.result import StatResult

__all__ = ["adjust_pvalues", "adjust_results"]

_METHODS = {
    "holm": ("holm", "Holm"),
    "bh": ("fdr_bh", "Benjamini-Hochberg"),
    "fdr_bh": ("fdr_bh", "Benjamini-Hochberg"),
    "benjamini-hochberg": ("fdr_bh", "Benjamini-Hochberg"),
}


def _method(method: str) -> tuple[str, str]:
    try:
        return _METHODS[method.lower()]
    except KeyError:
        raise ValueError(f"unknown correction {method!r}; use 'holm' or 'bh'") from None


def adjust_pvalues(pvalues: ArrayLike, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for a family of tests.

    Parameters
    ----------
    pvalues : array of float
        Raw p-values; NaN entries (no test) are left as NaN and not counted in the family.
    method : {"holm", "bh"}
        Holm step-down (controls the family-wise error rate) or Benjamini-Hochberg (controls the false
        discovery rate).

    Returns
    -------
    ndarray
        Adjusted p-values, same order as the input.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    sm_name = _method(method)[0]
    if ok.any():
        out[ok] = _holm(p[ok]) if sm_name == "holm" else multipletests(p[ok], method=sm_name)[1]
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down: sorted p times (m - rank + 1), running maximum, capped at 1.

    Written out (and checked against statsmodels in the tests) because statsmodels' ``holm`` branch runs
    ``gc.collect()`` on every call, about 50 ms each.
    """
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    out = np.empty(m)
    out[order] = stepped
    return out


def adjust_results(
    results: Sequence[StatResult], method: str = "holm", *, alpha: float = 0.05
) -> list[StatResult]:
    """Replace the p-values of several results by adjusted ones.

    Each returned result keeps its estimate and interval (intervals are not adjusted), carries the
    adjusted ``p_value``, and records ``p_value_raw``, ``p_adjust``, ``family_size`` and
    ``significant`` (adjusted p < ``alpha``) in ``extra``. Results without a p-value are returned unchanged.
    """
    sm_name, label = _method(method)
    raw = np.array([np.nan if r.p_value is None else r.p_value for r in results], dtype=float)
    adjusted = adjust_pvalues(raw, sm_name)
    family = int((~np.isnan(raw)).sum())
    out = []
    for r, p_raw, p_adj in zip(results, raw, adjusted, strict=True):
        if r.p_value is None or np.isnan(p_raw):
            out.append(r)
            continue
        extra = {
            **r.extra,
            "p_value_raw": float(p_raw),
            "p_adjust": label,
            "family_size": family,
            "significant": bool(p_adj < alpha),
        }
        out.append(dataclasses.replace(r, p_value=float(p_adj), extra=extra))
    return out
