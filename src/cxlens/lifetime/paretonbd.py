"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) for non-contractual repeat purchasing.

Likelihood, P(alive) and conditional expectation follow Fader & Hardie (2005), "A Note on Deriving
the Pareto/NBD Model and Related Expressions" (brucehardie.com note 009), in its numerically stable
form: the Gauss hypergeometric term A0 is evaluated with the larger of (alpha, beta) in the
denominator (their two cases alpha >= beta and alpha < beta), so that its argument
``|alpha - beta| / (max(alpha, beta) + t)`` stays in [0, 1); and here the difference of the two terms
of A0 is also taken in log space
(``log A0 = log u1 + log(1 - u2 / u1)`` with ``log1p(-exp(.))``), which avoids the cancellation when
``t_x`` is close to ``T``.

As for the other models, the fit is BFGS on log-parameters with central-difference gradients (there
is no cheap analytic gradient through ``hyp2f1``), with a Nelder-Mead fallback on flat ridges.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln, hyp2f1

from cxlens.lifetime.base import BaseLifetimeFitter, check_rft, require_repeaters

__all__ = ["ParetoNBDFitter"]

ArrayLike = Any


def _log_a0(r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray, age: np.ndarray):
    """log A0 of Fader & Hardie (2005, note 009); -inf when t_x == T."""
    if alpha >= beta:
        big, small, b_arg = alpha, beta, s + 1.0
    else:
        big, small, b_arg = beta, alpha, r + x
    rsx = r + s + x
    diff = big - small
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u1 = np.log(hyp2f1(rsx, b_arg, rsx + 1.0, diff / (big + tx))) - rsx * np.log(big + tx)
        log_u2 = np.log(hyp2f1(rsx, b_arg, rsx + 1.0, diff / (big + age))) - rsx * np.log(big + age)
        d = np.minimum(log_u2 - log_u1, 0.0)  # u2 <= u1 always; clip rounding noise
        return log_u1 + np.log(-np.expm1(d))


class ParetoNBDFitter(BaseLifetimeFitter):
    """Pareto/NBD model: Poisson purchasing, exponential lifetime, gamma heterogeneity in both.

    Purchase rate lambda ~ Gamma(r, alpha), drop-out rate mu ~ Gamma(s, beta). After ``fit``,
    ``params_`` has keys ``r``, ``alpha``, ``s``, ``beta``.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters (0 = maximum likelihood).
    alpha : float, default 0.05
        1 - confidence level of the parameter intervals (not the model's ``alpha`` parameter).
    """

    _param_names = ("r", "alpha", "s", "beta")
    _scale_params = ("alpha", "beta")
    _model_name = "Pareto/NBD"

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = params
        log_a0 = _log_a0(r, alpha, s, beta, x, tx, age)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        term1 = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        term2 = np.log(s) - np.log(r + s + x) + log_a0
        return head + np.logaddexp(term1, term2)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
        initial_params: list[float] | None = None,
    ) -> ParetoNBDFitter:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases ``x``.
        recency : array-like
            Time of the last purchase ``t_x`` since the first purchase.
        T : array-like
            Age ``T`` at the end of the calibration period.
        weights : array-like, optional
            How many customers each row stands for.
        initial_params : list of float, optional
            Starting ``[r, alpha, s, beta]``; all ones by default.

        Returns
        -------
        self

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

    def conditional_probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) (Fader & Hardie 2005, note 009, written with A0).

        Parameters
        ----------
        frequency, recency, T : array-like
            Customer history (broadcast against each other).

        Returns
        -------
        numpy.ndarray or float
            Probabilities in [0, 1].
        """
        r, alpha, s, beta = self._unload()
        x, tx, age = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (frequency, recency, T)))
        log_a0 = _log_a0(r, alpha, s, beta, x, tx, age)
        z = np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + age) + s * np.log(beta + age) + log_a0
        return 1.0 / (1.0 + np.exp(z))

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> Any:
        """E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)] for a new customer.

        Parameters
        ----------
        t : array-like
            Time since the first purchase.

        Returns
        -------
        numpy.ndarray or float
            Expected repeat purchases in (0, t].
        """
        r, alpha, s, beta = self._unload()
        t = np.asarray(t, dtype=np.float64)
        if abs(s - 1.0) < 1e-10:
            return r * beta / alpha * np.log((beta + t) / beta)
        return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t] given the history.

        E[Y(t) | .] = (r + x)(beta + T) / ((alpha + T)(s - 1)) [1 - ((beta + T) / (beta + T + t))^(s - 1)]
        * P(alive | x, t_x, T) (Fader & Hardie 2005, note 009).

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
        r, alpha, s, beta = self._unload()
        t, x, age = (np.asarray(v, dtype=np.float64) for v in (t, frequency, T))
        p_alive = self.conditional_probability_alive(frequency, recency, T)
        if abs(s - 1.0) < 1e-10:
            growth = (r + x) * (beta + age) / (alpha + age) * np.log((beta + age + t) / (beta + age))
        else:
            growth = (
                (r + x)
                * (beta + age)
                / ((alpha + age) * (s - 1))
                * (1 - ((beta + age) / (beta + age + t)) ** (s - 1))
            )
        return growth * p_alive

    def predict(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """Alias of :meth:`conditional_expected_number_of_purchases_up_to_time`.

        Parameters
        ----------
        t : array-like
            Length of the forecast period.
        frequency, recency, T : array-like
            Customer history.

        Returns
        -------
        numpy.ndarray or float
            Expected repeat purchases in (T, T + t].
        """
        return self.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, T)
