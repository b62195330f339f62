"""Per-customer (frequency, recency, T, monetary value) summaries from raw transactions.

The conventions are those of ``lifetimes.utils.summary_data_from_transaction_data`` (and of the
CDNOW summary published with Fader, Hardie & Lee 2005), so a summary built here from
``CDNOW_sample.txt`` equals ``cdnow_customers_summary.csv``:

* time is cut into **daily periods**; all purchases of a customer on the same day are one purchase
  occasion (their amounts are summed);
* ``frequency`` (x) = purchase days - 1 (repeat purchases only); ``recency`` (t_x) = last purchase day -
  first purchase day; ``T`` = calibration end day - first purchase day; with ``time_unit="week"`` the
  day counts are divided by 7;
* ``monetary_value`` (zbar) = mean amount of the **repeat** purchase days (first day excluded), 0 for
  customers without a repeat purchase;
* transactions after ``calibration_end`` (the whole day is included) are ignored for the calibration
  columns; customers whose first purchase is after it are dropped.

Everything is vectorised (one groupby over (customer, day) pairs, then numpy on sorted runs).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from cxlens.errors import CxlensInputError

__all__ = ["day_of", "rfm_summary", "to_days", "to_series"]

ArrayLike = Any

_UNIT_DAYS = {"day": 1.0, "week": 7.0}


def to_series(values: ArrayLike, name: str) -> pd.Series:
    """Return list / numpy / pandas / pyarrow input as a pandas Series with a fresh RangeIndex.

    Parameters
    ----------
    values : array-like
        Column values.
    name : str
        Series name (used in error messages).

    Returns
    -------
    pandas.Series
    """
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True).rename(name)
    if hasattr(values, "to_pandas") and not isinstance(values, pd.Index):
        return values.to_pandas().reset_index(drop=True).rename(name)  # pyarrow Array / ChunkedArray
    return pd.Series(np.asarray(values) if not isinstance(values, pd.Index) else values.to_numpy(), name=name)


def to_days(timestamps: ArrayLike, name: str = "timestamps") -> np.ndarray:
    """Calendar days (int64 days since 1970-01-01) of timestamps; time zones keep their local date.

    Parameters
    ----------
    timestamps : array-like
        Datetimes, ISO strings or dates.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        int64 day numbers.
    """
    ts = to_series(timestamps, name)
    try:
        dt = pd.to_datetime(ts)
    except (ValueError, TypeError):
        try:  # strings in several formats, e.g. "2024-01-08" next to "2024-01-08 09:30"
            dt = pd.to_datetime(ts, format="mixed")
        except (ValueError, TypeError) as exc:
            raise CxlensInputError(f"{name} could not be read as dates", column=name) from exc
    if dt.isna().any():
        raise CxlensInputError(
            f"{name} has missing values", column=name, row=int(np.argmax(dt.isna().to_numpy()))
        )
    if dt.dt.tz is not None:
        dt = dt.dt.tz_localize(None)  # local wall time: a purchase belongs to its local calendar day
    return dt.to_numpy().astype("datetime64[D]").astype(np.int64)


def day_of(value: Any, name: str = "date") -> int:
    """Calendar day number (days since 1970-01-01) of one date-like value, in its local time zone.

    Parameters
    ----------
    value : date-like
        A date, datetime, Timestamp or ISO string.
    name : str
        Name used in error messages.

    Returns
    -------
    int
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise CxlensInputError(f"{name} could not be read as a date", value=str(value)) from exc
    if ts is pd.NaT:
        raise CxlensInputError(f"{name} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().to_datetime64(), "D").astype(np.int64))


def _occasions(
    codes: np.ndarray, days: np.ndarray, amounts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collapse transactions to (customer, day) purchase occasions, sorted by customer then day."""
    df = pd.DataFrame({"c": codes, "d": days, "a": amounts})
    g = df.groupby(["c", "d"], sort=True)["a"].sum()
    return (
        g.index.get_level_values(0).to_numpy(),
        g.index.get_level_values(1).to_numpy(),
        g.to_numpy(dtype=np.float64),
    )


def rfm_summary(
    customer_ids: ArrayLike,
    timestamps: ArrayLike,
    amounts: ArrayLike | None,
    calibration_end: Any = None,
    time_unit: Literal["week", "day"] = "week",
    observation_end: Any = None,
) -> pd.DataFrame:
    """Summarise transactions into the (x, t_x, T, zbar) inputs of BG/NBD, Pareto/NBD and Gamma-Gamma.

    Parameters
    ----------
    customer_ids : array-like
        Customer of each transaction.
    timestamps : array-like
        Time of each transaction (datetimes, dates or ISO strings). Only the calendar day is used.
    amounts : array-like or None
        Value of each transaction; ``None`` omits the monetary columns.
    calibration_end : date-like, optional
        Last day of the calibration period (inclusive). Default: the last transaction day.
    time_unit : {"week", "day"}, default "week"
        Unit of ``recency``, ``T`` and ``duration_holdout``: days, or days / 7.
    observation_end : date-like, optional
        If given, also summarise the hold-out period (calibration_end, observation_end] for the
        calibration customers: ``frequency_holdout`` (purchase days), ``monetary_value_holdout`` (mean
        amount per purchase day, 0 if none) and ``duration_holdout``, as ``lifetimes``'
        ``calibration_and_holdout_data`` except that the hold-out spend is averaged per purchase day
        like the calibration ``monetary_value`` (lifetimes averages it per transaction line there).

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by customer, columns ``customer``, ``frequency`` (x), ``recency``
        (t_x), ``T``, ``monetary_value`` (zbar) and, with ``observation_end``, the hold-out columns.

    Raises
    ------
    cxlens.errors.CxlensInputError
        Unequal lengths, missing values, unknown ``time_unit``, no transactions before
        ``calibration_end``, or ``observation_end`` before ``calibration_end``.

    Examples
    --------
    >>> s = rfm_summary(tx.customer, tx.date, tx.amount, "1997-09-30")  # doctest: +SKIP
    >>> bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])  # doctest: +SKIP
    """
    if time_unit not in _UNIT_DAYS:
        raise CxlensInputError("time_unit must be 'week' or 'day'", value=time_unit)
    unit = _UNIT_DAYS[time_unit]
    cust = to_series(customer_ids, "customer_ids")
    days = to_days(timestamps)
    amt = (
        np.zeros(len(cust))
        if amounts is None
        else pd.to_numeric(to_series(amounts, "amounts"), errors="coerce").to_numpy(dtype=np.float64)
    )
    if not (len(cust) == days.size == amt.size):
        raise CxlensInputError(
            "customer_ids, timestamps and amounts must have the same length",
            value=[len(cust), int(days.size), int(amt.size)],
        )
    if cust.isna().any():
        raise CxlensInputError("customer_ids has missing values", column="customer_ids")
    if amounts is not None and not np.all(np.isfinite(amt)):
        raise CxlensInputError("amounts has missing or non-numeric values", column="amounts")
    if days.size == 0:
        raise CxlensInputError("no transactions")
    codes, uniques = pd.factorize(cust, sort=True)
    cal_day = int(days.max()) if calibration_end is None else day_of(calibration_end, "calibration_end")

    cal = days <= cal_day
    if not cal.any():
        raise CxlensInputError("no transactions on or before calibration_end", value=str(calibration_end))
    c, d, a = _occasions(codes[cal], days[cal], amt[cal])
    first = np.r_[True, c[1:] != c[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], c.size] - 1
    n_occ = ends - starts + 1
    first_day = d[starts]
    total = np.add.reduceat(a, starts)
    repeat_total = total - a[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(n_occ > 1, repeat_total / (n_occ - 1), 0.0)
    out = pd.DataFrame(
        {
            "customer": uniques[c[starts]],
            "frequency": (n_occ - 1).astype(np.float64),
            "recency": (d[ends] - first_day) / unit,
            "T": (cal_day - first_day) / unit,
        }
    )
    if amounts is not None:
        out["monetary_value"] = zbar
    if observation_end is not None:
        obs_day = day_of(observation_end, "observation_end")
        if obs_day <= cal_day:
            raise CxlensInputError(
                "observation_end must be after calibration_end",
                value=[str(calibration_end), str(observation_end)],
            )
        hold = (days > cal_day) & (days <= obs_day)
        hc, _hd, ha = _occasions(codes[hold], days[hold], amt[hold])
        counts = np.bincount(hc, minlength=uniques.size).astype(np.float64)
        sums = np.bincount(hc, weights=ha, minlength=uniques.size)
        code_rows = c[starts]
        freq_h = counts[code_rows]
        out["frequency_holdout"] = freq_h
        if amounts is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                out["monetary_value_holdout"] = np.where(freq_h > 0, sums[code_rows] / freq_h, 0.0)
        out["duration_holdout"] = (obs_day - cal_day) / unit
    return out
