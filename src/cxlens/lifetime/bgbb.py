"""BG/BB model for discrete-time, non-contractual settings (one purchase opportunity per period).

Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual Setting",
Marketing Science 29(6), 1086-1108. While alive a customer transacts at each opportunity with
probability p ~ Beta(alpha, beta); before each opportunity an alive customer dies with probability
theta ~ Beta(gamma, delta). Data: ``x`` transactions in ``n`` opportunities, the last at opportunity
``t_x`` (0 if none). Histories are usually compressed to distinct (x, t_x, n) rows with weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, gammaln

from cxlens.errors import CxlensInputError
from cxlens.lifetime.base import BaseLifetimeFitter, check_rft, require_repeaters

__all__ = ["BetaGeoBetaBinomFitter"]

ArrayLike = Any


def _bgbb_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Individual log-likelihood, FHS (2010) eq. (5), vectorised over the inner sum."""
    alpha, beta, gamma, delta = params
    lb_ab = betaln(alpha, beta)
    lb_gd = betaln(gamma, delta)
    alive_all = betaln(alpha + x, beta + n - x) - lb_ab + betaln(gamma, delta + n) - lb_gd
    # sum_{i=0}^{n - t_x - 1} B(alpha + x, beta + t_x - x + i) / B(alpha, beta)
    #                        * B(gamma + 1, delta + t_x + i) / B(gamma, delta)
    m = int(np.max(n - tx)) if x.size else 0
    if m <= 0:
        return alive_all
    i = np.arange(m, dtype=np.float64)[None, :]
    terms = (
        betaln(alpha + x[:, None], beta + tx[:, None] - x[:, None] + i)
        + betaln(gamma + 1, delta + tx[:, None] + i)
        - lb_ab
        - lb_gd
    )
    terms = np.where(i < (n - tx)[:, None], terms, -np.inf)
    mx = np.max(terms, axis=1)
    finite = np.isfinite(mx)
    safe = np.where(finite, mx, 0.0)
    with np.errstate(divide="ignore"):
        died = np.where(finite, safe + np.log(np.sum(np.exp(terms - safe[:, None]), axis=1)), -np.inf)
    return np.logaddexp(alive_all, died)


class BetaGeoBetaBinomFitter(BaseLifetimeFitter):
    """BG/BB model (Fader, Hardie & Shang 2010) of repeat transactions at discrete opportunities.

    After ``fit``, ``params_`` has keys ``alpha``, ``beta``, ``gamma``, ``delta``.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters (0 = maximum likelihood).
    alpha : float, default 0.05
        1 - confidence level of the parameter intervals (not the model's ``alpha`` parameter).
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _model_name = "BG/BB"
    _max_opportunities = 10_000

    _loglik = staticmethod(_bgbb_loglik)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
        weights: ArrayLike | None = None,
        initial_params: list[float] | None = None,
    ) -> BetaGeoBetaBinomFitter:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array-like
            Transactions ``x`` among the ``n`` opportunities (whole numbers, ``x <= t_x``).
        recency : array-like
            Opportunity ``t_x`` of the last transaction (whole number, 0 when ``x = 0``).
        n_periods : array-like
            Number of opportunities ``n`` (whole number).
        weights : array-like, optional
            How many customers share each (x, t_x, n) row.
        initial_params : list of float, optional
            Starting ``[alpha, beta, gamma, delta]``; all ones by default.

        Returns
        -------
        self

        Raises
        ------
        cxlens.errors.CxlensInputError
            Non-integer or inconsistent histories, or more than 10,000 opportunities.
        cxlens.lifetime.ConvergenceError
            The optimiser did not reach a maximum.
        """
        x, tx, n, w = check_rft(frequency, recency, n_periods, weights)
        require_repeaters(x, self._model_name)
        if np.any(tx != np.round(tx)) or np.any(n != np.round(n)):
            raise CxlensInputError("recency and n_periods must be whole numbers of opportunities")
        if np.any(x > tx):
            raise CxlensInputError("frequency cannot exceed recency (x transactions need t_x >= x)")
        if np.max(n) > self._max_opportunities:
            raise CxlensInputError(
                "BG/BB is for a modest number of discrete opportunities; use BG/NBD for continuous time",
                value=float(np.max(n)),
            )
        self._fit_loglik((x, tx, n), w, initial_params)
        return self

    def _ll(self, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
        return _bgbb_loglik(np.array(self._unload()), x.ravel(), tx.ravel(), n.ravel()).reshape(x.shape)

    def conditional_probability_alive(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
        m_periods_in_future: ArrayLike = 1,
    ) -> Any:
        """P(alive at opportunity n + m | x, t_x, n) (FHS 2010, eq. 11 for m = 1).

        Parameters
        ----------
        frequency, recency, n_periods : array-like
            Customer history (broadcast).
        m_periods_in_future : array-like, default 1
            ``m``: 1 gives P(alive at the next opportunity), as in the paper.

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        alpha, beta, gamma, delta = self._unload()
        x, tx, n, m = np.broadcast_arrays(
            *(np.asarray(v, dtype=np.float64) for v in (frequency, recency, n_periods, m_periods_in_future))
        )
        num = (
            betaln(alpha + x, beta + n - x)
            - betaln(alpha, beta)
            + betaln(gamma, delta + n + m)
            - betaln(gamma, delta)
        )
        return np.exp(num - self._ll(x, tx, n))

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> Any:
        """E[X(n, n + t) | x, t_x, n]: expected transactions in the next ``t`` opportunities (eq. 13).

        Parameters
        ----------
        t : array-like
            Number of future opportunities ``n*``.
        frequency, recency, n_periods : array-like
            Customer history (broadcast).

        Returns
        -------
        numpy.ndarray
            Expected transactions.
        """
        alpha, beta, gamma, delta = self._unload()
        t, x, tx, n = np.broadcast_arrays(
            *(np.asarray(v, dtype=np.float64) for v in (t, frequency, recency, n_periods))
        )
        log_front = (
            betaln(alpha + x + 1, beta + n - x)
            - betaln(alpha, beta)
            + gammaln(gamma + delta)
            - gammaln(1 + delta)
            - self._ll(x, tx, n)
        )
        a1 = np.exp(gammaln(1 + delta + n) - gammaln(gamma + delta + n))
        a2 = np.exp(gammaln(1 + delta + n + t) - gammaln(gamma + delta + n + t))
        return np.exp(log_front) * delta / (gamma - 1) * (a1 - a2)

    def expected_number_of_purchases_up_to_time(self, n: ArrayLike) -> Any:
        """E[X(n)]: expected transactions in the first ``n`` opportunities for a new customer (eq. 6).

        Parameters
        ----------
        n : array-like
            Number of opportunities.

        Returns
        -------
        numpy.ndarray or float
            Expected transactions, increasing in ``n``.
        """
        alpha, beta, gamma, delta = self._unload()
        n = np.asarray(n, dtype=np.float64)
        ratio = np.exp(
            gammaln(gamma + delta) - gammaln(1 + delta) + gammaln(1 + delta + n) - gammaln(gamma + delta + n)
        )
        return alpha / (alpha + beta) * delta / (gamma - 1) * (1 - ratio)

    def probability_of_n_purchases_up_to_time(self, n: int, x: ArrayLike) -> Any:
        """P(X(n) = x): distribution of transactions in the first ``n`` opportunities (eq. 7).

        Parameters
        ----------
        n : int
            Number of opportunities.
        x : array-like
            Transaction counts 0..n.

        Returns
        -------
        numpy.ndarray
            Probabilities; summing over x = 0..n gives 1.
        """
        alpha, beta, gamma, delta = self._unload()
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        lb_ab, lb_gd = betaln(alpha, beta), betaln(gamma, delta)

        def log_comb(a: Any, b: Any) -> Any:
            return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

        first = np.exp(
            log_comb(n, x) + betaln(alpha + x, beta + n - x) - lb_ab + betaln(gamma, delta + n) - lb_gd
        )
        i = np.arange(n, dtype=np.float64)[None, :]
        xx = x[:, None]
        with np.errstate(invalid="ignore"):
            terms = np.exp(
                log_comb(i, xx)
                + betaln(alpha + xx, beta + i - xx)
                - lb_ab
                + betaln(gamma + 1, delta + i)
                - lb_gd
            )
        terms = np.where(i >= xx, terms, 0.0)
        return first + terms.sum(axis=1)
