"""Helpers shared by the voice-of-the-customer query kinds (tickets, reviews, drivers).

Grouped counts are fetched as Arrow and turned into numpy arrays; the tests on counts between consecutive
periods are vectorised over every group and period at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from cxlens.errors import QueryError
from cxlens.stats import ProportionStat, adjust_pvalues, proportion_ci

__all__ = ["flag", "iso", "lazy_text", "period_exposure", "poisson_rise_test", "proportion_fields", "rate_fields"]


def iso(v: Any) -> Any:
    """Dates and timestamps as ISO text (dates only when the time is midnight), anything else unchanged."""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    return v


def proportion_fields(successes: int, n: int, confidence: float, method: str, prefix: str = "") -> dict[str, Any]:
    """Estimate and interval of ``successes / n`` as flat JSON fields."""
    if n <= 0:
        return {f"{prefix}rate": None, f"{prefix}ci_low": None, f"{prefix}ci_high": None}
    r = proportion_ci(ProportionStat(int(n), int(successes)), confidence, method).to_dict()
    return {f"{prefix}rate": r["estimate"], f"{prefix}ci_low": r["ci_low"], f"{prefix}ci_high": r["ci_high"]}


def rate_fields(count: int, exposure: float, confidence: float, per: float = 1000.0) -> dict[str, Any]:
    """Exact (Garwood) Poisson interval of ``count`` per ``per`` units of ``exposure``."""
    if exposure <= 0:
        return {"per_1000_active": None, "per_1000_ci_low": None, "per_1000_ci_high": None}
    a = 1 - confidence
    lo = 0.0 if count == 0 else st.chi2.ppf(a / 2, 2 * count) / 2
    hi = st.chi2.ppf(1 - a / 2, 2 * count + 2) / 2
    f = per / exposure
    return {"per_1000_active": count * f, "per_1000_ci_low": float(lo * f), "per_1000_ci_high": float(hi * f)}


def period_exposure(periods: pd.Series, period: str, first: datetime, last: datetime) -> np.ndarray:
    """Days of each calendar period that lie inside the observed data range ``[first day, last day]``.

    Comparing raw counts of a partial month with a full one would flag or hide spikes by construction; the
    counts are compared as rates per observed day instead.
    """
    start = pd.to_datetime(periods).to_numpy(dtype="datetime64[D]")
    offsets = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
               "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}
    end = (pd.to_datetime(periods) + offsets[period]).to_numpy(dtype="datetime64[D]")
    lo = np.datetime64(first.date() if isinstance(first, datetime) else first, "D")
    hi = np.datetime64((last.date() if isinstance(last, datetime) else last) + timedelta(days=1), "D")
    days = (np.minimum(end, hi) - np.maximum(start, lo)).astype(int)
    return np.clip(days, 0, None).astype(float)


def poisson_rise_test(count: np.ndarray, prev: np.ndarray, exposure: np.ndarray, prev_exposure: np.ndarray
                      ) -> np.ndarray:
    """One-sided exact conditional test that a Poisson rate rose from the previous period.

    Given ``n = count + prev`` events, ``count ~ Binomial(n, e/(e + e_prev))`` when both periods share one
    rate (Przyborowski & Wilenski 1940; statsmodels' ``test_poisson_2indep(method="exact-cond")``, which the
    tests compare against). Vectorised over all pairs; NaN where no test is possible.
    """
    count = np.asarray(count, dtype=float)
    prev = np.asarray(prev, dtype=float)
    e, ep = np.asarray(exposure, dtype=float), np.asarray(prev_exposure, dtype=float)
    n = count + prev
    ok = (n > 0) & (e > 0) & (ep > 0)
    p0 = np.where(ok, e / np.where(ok, e + ep, 1.0), 0.5)
    pv = st.binom.sf(count - 1, n, p0)
    return np.where(ok, pv, np.nan)


def flag(pvalues: np.ndarray, correction: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values (holm / bh / none) and the significance flags."""
    adj = np.asarray(pvalues, dtype=float) if correction == "none" else adjust_pvalues(pvalues, correction)
    return adj, np.nan_to_num(adj, nan=1.0) < alpha


def lazy_text(name: str) -> Any:
    """``cxlens.text.<name>``, imported on first use (the text package is optional and built separately)."""
    try:
        import cxlens.text as text
    except ImportError as e:
        raise QueryError(f"this query needs cxlens.text.{name}, which is not available ({e})") from None
    fn = getattr(text, name, None)
    if fn is None:
        raise QueryError(f"cxlens.text has no {name}() in this installation")
    return fn
