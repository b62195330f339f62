"""Gamma-Gamma model of average transaction value, and customer lifetime value.

Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com note
025), after Colombo & Jiang (1999). Given ``x`` repeat transactions with mean value ``zbar``,
``zbar | nu ~ Gamma(p x, nu x)`` and ``nu ~ Gamma(q, gamma)``; the paper calls the scale ``gamma``,
``lifetimes`` calls it ``v``. ``params_`` uses ``p``, ``q``, ``v``; ``params_paper_`` the paper's names.
Fit it on repeat customers only (``x > 0``); the model assumes spend is independent of frequency
(check ``corr(x, zbar)`` is small).

CLV: discounted sum, over future periods, of expected purchases in each period (from a BG/NBD,
MBG/NBD or Pareto/NBD fit) times expected margin per purchase (Gamma-Gamma conditional mean times
``margin``), as in ``lifetimes``' ``customer_lifetime_value`` but vectorised over periods.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from cxlens.errors import CxlensInputError
from cxlens.lifetime.base import BaseLifetimeFitter, as_float_array
from cxlens.lifetime.value import discounted_value

__all__ = ["GammaGammaFitter", "customer_lifetime_value"]

ArrayLike = Any


class GammaGammaFitter(BaseLifetimeFitter):
    """Gamma-Gamma spend model (Fader & Hardie 2013; Colombo & Jiang 1999).

    After ``fit``: ``params_`` = ``{"p", "q", "v"}`` and ``params_paper_`` = ``{"p", "q", "gamma"}``
    (``v`` is the paper's ``gamma``).

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters (0 = maximum likelihood).
    alpha : float, default 0.05
        1 - confidence level of the parameter intervals.
    """

    _param_names = ("p", "q", "v")
    _scale_params = ("v",)
    _model_name = "Gamma-Gamma"

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
        p, q, v = params
        px = p * x
        # log density of zbar: Gamma(px + q) / (Gamma(px) Gamma(q)) v^q x^px zbar^(px-1) / (v + x zbar)^(px+q)
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + px * np.log(x)
            + (px - 1) * np.log(zbar)
            - (px + q) * np.log(v + x * zbar)
        )

    @property
    def params_paper_(self) -> dict[str, float]:
        """Parameters named as in Fader & Hardie (2013): ``p``, ``q``, ``gamma``."""
        self._check_fitted()
        return {"p": self.params_["p"], "q": self.params_["q"], "gamma": self.params_["v"]}

    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
        initial_params: list[float] | None = None,
    ) -> GammaGammaFitter:
        """Fit by maximum likelihood on customers with at least one repeat purchase.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases ``x`` (rows with ``x = 0`` are not allowed: filter them first).
        monetary_value : array-like
            Mean value ``zbar`` of those repeat purchases (> 0).
        weights : array-like, optional
            How many customers each row stands for.
        initial_params : list of float, optional
            Starting ``[p, q, v]``; all ones by default.

        Returns
        -------
        self

        Raises
        ------
        cxlens.errors.CxlensInputError
            Zero frequency, non-positive spend or unequal lengths.
        cxlens.lifetime.ConvergenceError
            The optimiser did not reach a maximum.
        """
        x = as_float_array(frequency, "frequency")
        z = as_float_array(monetary_value, "monetary_value")
        w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
        if not (x.size == z.size == w.size) or x.size == 0:
            raise CxlensInputError(
                "frequency, monetary_value (and weights) must be non-empty and equal length"
            )
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z)) and np.all(np.isfinite(w))):
            raise CxlensInputError("frequency, monetary_value and weights must be finite")
        if np.any(x <= 0):
            raise CxlensInputError(
                "Gamma-Gamma is fitted on repeat customers only: drop rows with frequency == 0",
                column="frequency",
            )
        if np.any(z <= 0):
            raise CxlensInputError(
                "monetary_value must be > 0 for every repeat customer", column="monetary_value"
            )
        if np.any(w < 0):
            raise CxlensInputError("weights must be >= 0", column="weights")
        self._fit_loglik((x, z), w, initial_params)
        return self

    def conditional_expected_average_profit(
        self, frequency: ArrayLike | None = None, monetary_value: ArrayLike | None = None
    ) -> Any:
        """E[Z | p, q, v, x, zbar] = p (v + x zbar) / (p x + q - 1) (Fader & Hardie 2013, eq. 5).

        With no arguments, the population mean ``p v / (q - 1)`` (for a customer with no history).

        Parameters
        ----------
        frequency, monetary_value : array-like, optional
            Customer history; ``x = 0`` customers get the population mean.

        Returns
        -------
        numpy.ndarray or float
            Expected value per transaction; infinite if ``q <= 1`` and no history.
        """
        p, q, v = self._unload()
        pop = p * v / (q - 1) if q > 1 else np.inf
        if frequency is None or monetary_value is None:
            return pop
        x = np.asarray(frequency, dtype=np.float64)
        z = np.asarray(monetary_value, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = p * (v + x * z) / (p * x + q - 1)
        return np.where(x > 0, cond, pop)

    def customer_lifetime_value(
        self,
        transaction_model: Any,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        time: int = 12,
        discount_rate: float = 0.01,
        margin: float = 1.0,
        time_units_per_period: float = 4.345,
    ) -> np.ndarray:
        """CLV with this model's spend forecast; see :func:`customer_lifetime_value` for the arguments.

        Parameters
        ----------
        transaction_model : fitted BetaGeoFitter, ModifiedBetaGeoFitter or ParetoNBDFitter
            Model of the number of future purchases.
        frequency, recency, T, monetary_value : array-like
            Calibration summary (``monetary_value`` = zbar, 0 for non-repeaters).
        time : int, default 12
            Horizon in discounting periods (months by default).
        discount_rate : float, default 0.01
            Discount rate per period.
        margin : float, default 1.0
            Profit margin applied to expected spend.
        time_units_per_period : float, default 4.345
            Model time units per discounting period (4.345 weeks per month).

        Returns
        -------
        numpy.ndarray
            Discounted expected margin per customer.
        """
        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        return customer_lifetime_value(
            transaction_model,
            frequency,
            recency,
            T,
            spend,
            time=time,
            discount_rate=discount_rate,
            margin=margin,
            time_units_per_period=time_units_per_period,
        )


def customer_lifetime_value(
    transaction_model: Any,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    time: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    time_units_per_period: float = 4.345,
) -> np.ndarray:
    """Discounted expected margin of each customer over the next ``time`` periods.

    CLV_i = sum_{k=1..time} margin * spend_i * [E(Y(k u) | h_i) - E(Y((k-1) u) | h_i)] / (1 + d)^k,
    with ``u = time_units_per_period`` and ``E(Y(t) | h)`` the transaction model's conditional
    expected purchases in (T, T + t]. With ``d = 0`` this is ``margin * spend * E(Y(time u) | h)``.

    Parameters
    ----------
    transaction_model : fitted model
        Anything with ``conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)`` that
        broadcasts (BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter).
    frequency, recency, T : array-like
        Calibration summary, in the model's time unit.
    expected_spend : array-like or float
        Expected value per purchase (e.g. ``GammaGammaFitter.conditional_expected_average_profit``).
    time : int, default 12
        Number of discounting periods (months by default).
    discount_rate : float, default 0.01
        Discount rate per period (0.01 a month is about 12.7 % a year).
    margin : float, default 1.0
        Share of spend that is profit.
    time_units_per_period : float, default 4.345
        Model time units in one discounting period: 4.345 weeks or 30.44 days per month, 1 if the
        model is fitted in months.

    Returns
    -------
    numpy.ndarray
        One value per customer.

    Raises
    ------
    cxlens.errors.CxlensInputError
        Negative ``time``, ``discount_rate <= -1`` or non-positive ``time_units_per_period``.
    """
    if int(time) != time or time < 0:
        raise CxlensInputError("time must be a whole number of periods >= 0", value=time)
    if discount_rate <= -1:
        raise CxlensInputError("discount_rate must be > -1", value=discount_rate)
    if time_units_per_period <= 0:
        raise CxlensInputError("time_units_per_period must be > 0", value=time_units_per_period)
    if int(time) == 0:
        return np.zeros(as_float_array(frequency, "frequency").shape)
    # the whole-period case of the general forecast (one discounting step per period)
    value, _ = discounted_value(transaction_model, frequency, recency, T, expected_spend,
                                horizon=int(time) * time_units_per_period, step=time_units_per_period,
                                discount_rate=discount_rate, margin=margin)
    return value
