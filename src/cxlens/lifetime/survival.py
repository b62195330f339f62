"""Contractual churn: Kaplan-Meier survival, median lifetime and log-rank comparisons via lifelines.

Thin, JSON-safe wrappers over ``lifelines.KaplanMeierFitter`` (Greenwood / exponential log-log
confidence band, the lifelines default) and ``lifelines.statistics.logrank_test`` /
``multivariate_logrank_test``. Durations come either from subscription start/end dates
(:func:`durations_from_subscriptions`) or, without contracts, from activity with an inactivity rule
(:func:`durations_from_activity`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError
from cxlens.lifetime.base import as_float_array, json_safe
from cxlens.lifetime.summary import to_days, to_series

__all__ = [
    "compare_survival",
    "durations_from_activity",
    "durations_from_subscriptions",
    "kaplan_meier",
]

ArrayLike = Any


def _check_durations(durations: ArrayLike, events: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    d = as_float_array(durations, "durations")
    e = np.ones_like(d) if events is None else as_float_array(events, "events")
    if d.size != e.size:
        raise CxlensInputError("durations and events must have the same length", value=[d.size, e.size])
    if d.size == 0:
        raise CxlensInputError("no durations")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise CxlensInputError("durations must be finite and >= 0", column="durations")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise CxlensInputError("events must be 0 (censored) or 1 (churned)", column="events")
    return d, e.astype(bool)


def _km_dict(kmf: Any, d: np.ndarray, e: np.ndarray, alpha: float, max_points: int | None) -> dict[str, Any]:
    from lifelines.utils import median_survival_times

    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    at_risk = kmf.event_table["at_risk"].reindex(sf.index).to_numpy()
    times = sf.index.to_numpy(dtype=np.float64)
    idx = np.arange(times.size)
    if max_points is not None and times.size > max_points:
        idx = np.unique(np.linspace(0, times.size - 1, max_points).round().astype(int))
    med = float(kmf.median_survival_time_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        med_ci = median_survival_times(kmf.confidence_interval_).to_numpy(dtype=np.float64).ravel()
    curve = {
        "time": times[idx],
        "survival": sf.to_numpy()[idx],
        "lower": ci.iloc[:, 0].to_numpy()[idx],
        "upper": ci.iloc[:, 1].to_numpy()[idx],
        "at_risk": at_risk[idx].astype(np.int64),
    }
    return {
        "n": int(d.size),
        "events": int(e.sum()),
        "censored": int((~e).sum()),
        "confidence_level": 1 - alpha,
        "median": med,
        "median_ci": [float(med_ci[0]), float(med_ci[1])],
        "curve": curve,
    }


def kaplan_meier(
    durations: ArrayLike,
    events: ArrayLike | None = None,
    alpha: float = 0.05,
    at: ArrayLike | None = None,
    max_points: int | None = 500,
) -> dict[str, Any]:
    """Kaplan-Meier survival curve with pointwise confidence band and median lifetime.

    Parameters
    ----------
    durations : array-like
        Time from start to churn (event) or to the end of observation (censored).
    events : array-like, optional
        1 = churned (event observed), 0 = still active (censored). All 1 when omitted.
    alpha : float, default 0.05
        1 - confidence level of the band and of the median interval.
    at : array-like, optional
        Times at which to also report S(t) (``"survival_at"``), e.g. ``[30, 90, 365]``.
    max_points : int or None, default 500
        Thin the curve to at most this many event times (None keeps all) to keep payloads small.

    Returns
    -------
    dict
        JSON-safe: ``n``, ``events``, ``censored``, ``confidence_level``, ``median`` (None when the curve
        never falls to 0.5), ``median_ci`` ([lower, upper], None for unbounded), ``curve`` (``time``,
        ``survival``, ``lower``, ``upper``, ``at_risk`` lists) and optionally ``survival_at``.
    """
    from lifelines import KaplanMeierFitter

    if not 0 < alpha < 1:
        raise CxlensInputError("alpha must be in (0, 1)", value=alpha)
    d, e = _check_durations(durations, events)
    kmf = KaplanMeierFitter(alpha=alpha).fit(d, e, label="survival")
    out = _km_dict(kmf, d, e, alpha, max_points)
    if at is not None:
        ts = as_float_array(at, "at")
        out["survival_at"] = {
            "time": ts,
            "survival": kmf.survival_function_at_times(ts).to_numpy(),
        }
    return json_safe(out)


def compare_survival(
    durations: ArrayLike,
    events: ArrayLike | None,
    groups: ArrayLike,
    alpha: float = 0.05,
    max_points: int | None = 500,
) -> dict[str, Any]:
    """Kaplan-Meier curve per segment and a log-rank test of equal survival.

    Parameters
    ----------
    durations : array-like
        Time to churn or censoring.
    events : array-like or None
        1 = churned, 0 = censored (all 1 when None).
    groups : array-like
        Segment of each customer (two or more distinct values).
    alpha : float, default 0.05
        1 - confidence level.
    max_points : int or None, default 500
        Thinning of each curve (see :func:`kaplan_meier`).

    Returns
    -------
    dict
        JSON-safe: ``groups`` (segment -> :func:`kaplan_meier` result) and ``logrank``
        (``test_statistic``, ``degrees_of_freedom``, ``p_value``, ``test``: "logrank" for two groups,
        "multivariate_logrank" for more).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    d, e = _check_durations(durations, events)
    g = to_series(groups, "groups")
    if len(g) != d.size:
        raise CxlensInputError("groups must have the same length as durations", value=[len(g), d.size])
    if g.isna().any():
        raise CxlensInputError("groups has missing values", column="groups")
    labels = pd.unique(g)
    if labels.size < 2:
        raise CxlensInputError("compare_survival needs at least two groups", value=labels.tolist())
    gv = g.to_numpy()
    per_group = {}
    for lab in labels:
        m = gv == lab
        kmf = KaplanMeierFitter(alpha=alpha).fit(d[m], e[m], label=str(lab))
        per_group[str(lab)] = _km_dict(kmf, d[m], e[m], alpha, max_points)
    if labels.size == 2:
        a, b = gv == labels[0], gv == labels[1]
        res = logrank_test(d[a], d[b], e[a], e[b])
        test = "logrank"
    else:
        res = multivariate_logrank_test(d, gv, e)
        test = "multivariate_logrank"
    return json_safe(
        {
            "groups": per_group,
            "logrank": {
                "test": test,
                "test_statistic": float(res.test_statistic),
                "degrees_of_freedom": int(res.degrees_of_freedom),
                "p_value": float(res.p_value),
            },
        }
    )


def durations_from_subscriptions(
    starts: ArrayLike, ends: ArrayLike, observation_end: Any = None, unit: str = "day"
) -> pd.DataFrame:
    """Durations and churn flags from subscription start and end dates.

    Parameters
    ----------
    starts : array-like
        Subscription start dates.
    ends : array-like
        End (cancellation) dates; missing = still active.
    observation_end : date-like, optional
        End of observation: active subscriptions are censored here, and ends after it are treated as
        still active. Default: the latest start or end date.
    unit : {"day", "week", "month"}, default "day"
        Unit of the durations (month = 30.4375 days).

    Returns
    -------
    pandas.DataFrame
        ``duration`` and ``event`` (1 = churned by ``observation_end``), one row per subscription.
    """
    per_unit = _unit_days(unit)
    s = to_days(starts, "starts").astype(np.float64)
    e_ser = pd.to_datetime(to_series(ends, "ends"), errors="coerce")
    if e_ser.dt.tz is not None:
        e_ser = e_ser.dt.tz_localize(None)
    e = e_ser.to_numpy().astype("datetime64[D]").astype("float64")
    e[e_ser.isna().to_numpy()] = np.nan
    if s.size != e.size:
        raise CxlensInputError("starts and ends must have the same length", value=[s.size, e.size])
    obs = float(np.nanmax(np.r_[s, e])) if observation_end is None else float(to_days([observation_end])[0])
    churned = ~np.isnan(e) & (e <= obs)
    stop = np.where(churned, e, obs)
    if np.any(stop < s):
        raise CxlensInputError("some subscriptions end before they start (or start after observation_end)")
    return pd.DataFrame({"duration": (stop - s) / per_unit, "event": churned.astype(np.int64)})


def durations_from_activity(
    customer_ids: ArrayLike,
    timestamps: ArrayLike,
    inactivity_days: float,
    observation_end: Any = None,
    unit: str = "day",
) -> pd.DataFrame:
    """Lifetimes from activity: a customer churned if inactive for more than ``inactivity_days``.

    A customer whose last activity is more than ``inactivity_days`` before ``observation_end`` is
    churned, with lifetime = last activity - first activity (the churn is dated at the last activity).
    Otherwise the customer is censored, with lifetime = observation_end - first activity. Customers
    who started within ``inactivity_days`` of the end cannot have churned yet and are censored.

    Parameters
    ----------
    customer_ids : array-like
        Customer of each activity (event, purchase, login).
    timestamps : array-like
        Time of each activity (calendar days are used).
    inactivity_days : float
        Inactivity longer than this (in days) counts as churn.
    observation_end : date-like, optional
        End of observation; default: the last activity day.
    unit : {"day", "week", "month"}, default "day"
        Unit of ``duration``.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer``, ``first_activity``, ``last_activity``, ``duration``,
        ``event`` (1 = churned).
    """
    if not inactivity_days > 0:
        raise CxlensInputError("inactivity_days must be > 0", value=inactivity_days)
    per_unit = _unit_days(unit)
    cust = to_series(customer_ids, "customer_ids")
    days = to_days(timestamps)
    if len(cust) != days.size or days.size == 0:
        raise CxlensInputError("customer_ids and timestamps must be non-empty and of the same length")
    if cust.isna().any():
        raise CxlensInputError("customer_ids has missing values", column="customer_ids")
    obs = int(days.max()) if observation_end is None else int(to_days([observation_end])[0])
    keep = days <= obs
    codes, uniques = pd.factorize(cust[keep], sort=True)
    dk = days[keep]
    first = np.full(uniques.size, np.iinfo(np.int64).max)
    last = np.full(uniques.size, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, dk)
    np.maximum.at(last, codes, dk)
    churned = (obs - last) > inactivity_days
    stop = np.where(churned, last, obs)
    return pd.DataFrame(
        {
            "customer": uniques,
            "first_activity": first.astype("datetime64[D]"),
            "last_activity": last.astype("datetime64[D]"),
            "duration": (stop - first) / per_unit,
            "event": churned.astype(np.int64),
        }
    )


def _unit_days(unit: str) -> float:
    units = {"day": 1.0, "week": 7.0, "month": 30.4375}
    if unit not in units:
        raise CxlensInputError(f"unit must be one of {list(units)}", value=unit)
    return units[unit]
