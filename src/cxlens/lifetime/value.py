"""Discounted expected value of each customer over a horizon of any length (any transaction model).

:func:`cxlens.lifetime.customer_lifetime_value` follows ``lifetimes`` and counts whole discounting periods.
The query kinds need a horizon in the model's own time unit (39 weeks, 365 days, 6 opportunities) that need
not be a whole number of discounting periods, so here the horizon is cut into steps of one discounting
period, the last step shortened to end exactly at the horizon; the purchases expected in step k are
discounted at the end of the step, ``(1 + d) ** -(t_k / step)``. With whole periods this equals
``customer_lifetime_value``, which the tests check.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cxlens.errors import CxlensInputError
from cxlens.lifetime.base import as_float_array

__all__ = ["discounted_value"]

ArrayLike = Any

_MAX_STEPS = 100_000  # discounting periods in one forecast
_MAX_CELLS = 20_000_000  # periods x customers evaluated at once (~160 MB of float64)


def discounted_value(
    transaction_model: Any,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    horizon: float,
    step: float,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases and discounted expected margin of each customer in ``(T, T + horizon]``.

    Parameters
    ----------
    transaction_model : fitted model
        Anything with ``conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)`` that
        broadcasts (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB).
    frequency, recency, T : array-like
        Customer histories in the model's unit (for BG/BB: x, t_x, n).
    expected_spend : array-like or float
        Expected value of one purchase per customer.
    horizon : float
        Forecast length in the model's time unit (> 0).
    step : float
        Length of one discounting period in the model's time unit (e.g. 4.348 weeks for a month).
    discount_rate : float, default 0
        Discount rate per discounting period (> -1).
    margin : float, default 1
        Share of spend that is profit.

    Returns
    -------
    (value, purchases) : tuple of numpy.ndarray
        Discounted expected margin and (undiscounted) expected purchases over the horizon, per customer.
    """
    if not (math.isfinite(horizon) and horizon > 0):
        raise CxlensInputError("horizon must be a positive number of time units", value=horizon)
    if not (math.isfinite(step) and step > 0):
        raise CxlensInputError("the discounting period must be positive", value=step)
    if discount_rate <= -1:
        raise CxlensInputError("discount_rate must be > -1", value=discount_rate)
    x = as_float_array(frequency, "frequency")
    tx = as_float_array(recency, "recency")
    age = as_float_array(T, "T")
    spend = np.broadcast_to(np.asarray(expected_spend, dtype=np.float64), x.shape)
    k = max(1, math.ceil(horizon / step - 1e-9))
    if k > _MAX_STEPS or k * max(x.size, 1) > _MAX_CELLS:
        raise CxlensInputError(
            f"horizon {horizon:g} is {k:,} discounting periods for {x.size:,} customers, too many to evaluate; "
            "use a shorter horizon or a longer discounting period",
            value=horizon,
        )
    grid = np.minimum(np.arange(1, k + 1, dtype=np.float64) * step, horizon)
    cum = np.asarray(
        transaction_model.conditional_expected_number_of_purchases_up_to_time(
            grid[:, None], x[None, :], tx[None, :], age[None, :]
        ),
        dtype=np.float64,
    )
    per_step = np.diff(cum, axis=0, prepend=np.zeros((1, x.size)))
    disc = (1.0 + discount_rate) ** -(grid / step)
    return margin * spend * (disc @ per_step), cum[-1]
