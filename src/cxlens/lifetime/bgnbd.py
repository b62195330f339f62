"""BG/NBD and MBG/NBD models of repeat purchasing in non-contractual settings.

* BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2), 275-284; formulas as in Fader, Hardie & Lee (2005),
  "Implementing the BG/NBD Model for Customer Base Analysis in Excel" (brucehardie.com note 004).
* MBG/NBD: Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
  customer base analysis", IJRM 24(3); conditional expectation from Wagner & Hoppe (2008).

Data are the usual per-customer summary: ``x`` repeat purchases, ``t_x`` time of the last purchase and
``T`` age, both measured from the first purchase (see :func:`cxlens.lifetime.rfm_summary`).
Parameters are estimated by maximum likelihood on log-parameters (see :mod:`cxlens.lifetime.base` for
why this is not delegated to the ``lifetimes`` package).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import gammaln, hyp2f1

from cxlens.lifetime.base import BaseLifetimeFitter, check_rft, require_repeaters

__all__ = ["BetaGeoFitter", "ModifiedBetaGeoFitter"]

ArrayLike = Any


def _arr(v: ArrayLike) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


class _BetaGeoBase(BaseLifetimeFitter):
    _param_names = ("r", "alpha", "a", "b")
    _scale_params = ("alpha",)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
        initial_params: list[float] | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases ``x`` (whole numbers).
        recency : array-like
            Time of the last purchase ``t_x`` since the first purchase (0 when ``x = 0``).
        T : array-like
            Age of the customer ``T`` at the end of the calibration period, same unit as ``recency``.
        weights : array-like, optional
            How many customers each row stands for (compressed data).
        initial_params : list of float, optional
            Starting ``[r, alpha, a, b]``; all ones by default.

        Returns
        -------
        self
            With ``params_``, ``standard_errors_``, ``confidence_intervals_``, ``log_likelihood_``.

        Raises
        ------
        cxlens.errors.CxlensInputError
            Invalid summary data.
        cxlens.lifetime.ConvergenceError
            The optimiser did not reach a maximum.
        """
        x, tx, age, w = check_rft(frequency, recency, T, weights)
        require_repeaters(x, self._model_name)
        self._fit_loglik((x, tx, age), w, initial_params)
        return self

    def predict(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """Alias of :meth:`conditional_expected_number_of_purchases_up_to_time` (lifetimes naming).

        Parameters
        ----------
        t : array-like
            Length of the forecast period, in the unit of ``T``.
        frequency, recency, T : array-like
            Customer history.

        Returns
        -------
        numpy.ndarray or float
            Expected repeat purchases in ``(T, T + t]``.
        """
        return self.conditional_expected_number_of_purchases_up_to_time(  # type: ignore[attr-defined]
            t, frequency, recency, T
        )


class BetaGeoFitter(_BetaGeoBase):
    """BG/NBD model (Fader, Hardie & Lee 2005): Poisson purchasing while alive, geometric drop-out.

    Heterogeneity: purchase rate lambda ~ Gamma(r, alpha); drop-out probability after each purchase
    p ~ Beta(a, b). Parameters after ``fit`` are in ``params_`` with keys ``r``, ``alpha``, ``a``, ``b``.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters (0 = maximum likelihood).
    alpha : float, default 0.05
        1 - confidence level of the parameter intervals (not the model's ``alpha`` parameter).

    Examples
    --------
    >>> bg = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])  # doctest: +SKIP
    >>> bg.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)  # doctest: +SKIP
    1.2259...
    """

    _model_name = "BG/NBD"

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        # Fader, Hardie & Lee (2005) individual likelihood, in logs: L = A1 * A2 * (A3 + [x > 0] A4)
        ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        ln_a3 = -(r + x) * np.log(alpha + age)
        with np.errstate(divide="ignore", invalid="ignore"):
            ln_a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + tx)
        ln_a4 = np.where(x > 0, ln_a4, -np.inf)
        return ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> Any:
        """E[X(t)]: expected repeat purchases in (0, t] for a new, randomly chosen customer (eq. 9).

        Parameters
        ----------
        t : array-like
            Time since the first purchase, in the unit of the fitted ``T``.

        Returns
        -------
        numpy.ndarray or float
            Expected purchases, increasing in ``t``.
        """
        r, alpha, a, b = self._unload()
        t = _arr(t)
        return (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t] given the history (eq. 10).

        Parameters
        ----------
        t : array-like
            Length of the forecast period, in the unit of ``T``.
        frequency, recency, T : array-like
            Customer history; all inputs broadcast (e.g. ``t[:, None]`` for a grid).

        Returns
        -------
        numpy.ndarray or float
            Expected purchases.
        """
        r, alpha, a, b = self._unload()
        t, x, tx, age = _arr(t), _arr(frequency), _arr(recency), _arr(T)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp)
        return num / (1 + self._odds_dead(x, tx, age))

    def _odds_dead(self, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._unload()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + tx))
        return np.where(x > 0, np.exp(np.where(x > 0, log_odds, 0.0)), 0.0)

    def conditional_probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model").

        Equal to 1 when ``x = 0``: in BG/NBD drop-out can only happen right after a purchase.

        Parameters
        ----------
        frequency, recency, T : array-like
            Customer history (broadcast against each other).

        Returns
        -------
        numpy.ndarray or float
            Probabilities in [0, 1].
        """
        x, tx, age = _arr(frequency), _arr(recency), _arr(T)
        return 1.0 / (1.0 + self._odds_dead(x, tx, age))


class ModifiedBetaGeoFitter(_BetaGeoBase):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD with drop-out possible at time 0.

    Unlike BG/NBD, a customer with no repeat purchase may already be inactive, so P(alive) < 1 for
    ``x = 0``. Parameters in ``params_``: ``r``, ``alpha``, ``a``, ``b``.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters (0 = maximum likelihood).
    alpha : float, default 0.05
        1 - confidence level of the parameter intervals.
    """

    _model_name = "MBG/NBD"

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        ln_a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        ln_a3 = -(r + x) * np.log(alpha + age)
        ln_a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + age) - np.log(alpha + tx))
        return ln_a1 + ln_a2 + ln_a3 + np.logaddexp(ln_a4, 0.0)

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> Any:
        """E[X(t)] for a new, randomly chosen customer (Batislam et al. 2007).

        Parameters
        ----------
        t : array-like
            Time since the first purchase.

        Returns
        -------
        numpy.ndarray or float
            Expected repeat purchases in (0, t].
        """
        r, alpha, a, b = self._unload()
        t = _arr(t)
        return b / (a - 1) * (1 - hyp2f1(r, b + 1, a + b, t / (alpha + t)) * (alpha / (alpha + t)) ** r)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[Y(t) | x, t_x, T] (Wagner & Hoppe 2008).

        Parameters
        ----------
        t : array-like
            Length of the forecast period.
        frequency, recency, T : array-like
            Customer history (broadcast).

        Returns
        -------
        numpy.ndarray or float
            Expected repeat purchases in (T, T + t].
        """
        r, alpha, a, b = self._unload()
        t, x, tx, age = _arr(t), _arr(frequency), _arr(recency), _arr(T)
        hyp = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + age + t))
        num = (a + b + x) / (a - 1) * (1 - hyp * ((alpha + age) / (alpha + age + t)) ** (r + x))
        den = 1 + (a / (b + x)) * ((alpha + age) / (alpha + tx)) ** (r + x)
        return num / den

    def conditional_probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) (Batislam et al. 2007, appendix A, eq. 5); below 1 even when ``x = 0``.

        Parameters
        ----------
        frequency, recency, T : array-like
            Customer history (broadcast).

        Returns
        -------
        numpy.ndarray or float
            Probabilities in [0, 1].
        """
        r, alpha, a, b = self._unload()
        x, tx, age = _arr(frequency), _arr(recency), _arr(T)
        return 1.0 / (1.0 + (a / (b + x)) * ((alpha + age) / (alpha + tx)) ** (r + x))
