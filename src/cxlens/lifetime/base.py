"""Shared machinery of the lifetime fitters: input checks, the optimiser, standard errors.

Why compact scipy implementations and not the ``lifetimes`` package
-------------------------------------------------------------------
``lifetimes`` 0.11.3 (2020, its last release) still imports and reproduces the CDNOW reference figures
on numpy 2 / scipy 1.17 / pandas 2.3 (checked when this package was written), and its own dependencies
are light (autograd, dill). But it is unmaintained, so every numpy/scipy/pandas release is a risk we
could not fix upstream; its successors (the ``btyd`` fork, PyMC-Marketing's CLV module) build on
PyMC/PyTensor, a heavy stack (compiled graph backend, ArviZ, xarray) for what are four-parameter
maximum-likelihood fits. The models are short closed-form likelihoods, so each is written here with
``scipy.special`` (gammaln, betaln, hyp2f1) and ``scipy.optimize.minimize`` on log-parameters, and
checked against the published values and against ``lifetimes`` itself (tests/lifetime).

Every fitter follows the lifelines convention: ``fit(...)`` returns ``self``; results end in ``_``
(``params_``, ``standard_errors_``, ``confidence_intervals_``, ``log_likelihood_``); ``summary`` is a
DataFrame and ``to_dict()`` is JSON-safe.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from cxlens.errors import CxlensError, CxlensInputError

__all__ = [
    "BaseLifetimeFitter",
    "ConvergenceError",
    "as_float_array",
    "check_rft",
    "compress_rows",
    "json_safe",
    "require_repeaters",
]

ArrayLike = Any


class ConvergenceError(CxlensError, RuntimeError):
    """The likelihood optimiser did not reach an interior maximum.

    Raised when the optimiser stops with a non-zero gradient, or when a dimensionless shape parameter
    runs off towards 0 or infinity (a boundary solution: the data cannot identify the model). The
    message names the model, the parameters and what usually helps (more data, a small
    ``penalizer_coef``, other ``initial_params``).
    """

    status = 422
    code = "convergence_failed"


def as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` (list, numpy, pandas or pyarrow) as a 1-d float64 array.

    Parameters
    ----------
    values : array-like
        Numbers; pyarrow arrays and pandas Series are accepted.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        1-d float64 array.
    """
    if hasattr(values, "to_numpy") and not isinstance(values, pd.Series | pd.Index | np.ndarray):
        values = values.to_numpy()  # pyarrow Array / ChunkedArray
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CxlensInputError(f"{name} must be numeric", column=name) from exc
    if arr.ndim > 1:
        raise CxlensInputError(f"{name} must be one-dimensional", column=name, value=f"shape {arr.shape}")
    return np.atleast_1d(arr)


def require_repeaters(x: np.ndarray, model: str) -> None:
    """Raise a clear input error when no customer has a repeat purchase (nothing to fit).

    Parameters
    ----------
    x : numpy.ndarray
        Repeat purchases per row.
    model : str
        Model name for the message.
    """
    if not np.any(x > 0):
        raise CxlensInputError(
            f"{model} needs at least some customers with repeat purchases (frequency > 0); "
            "every customer here bought only once, so purchase rates and drop-out cannot be estimated",
            column="frequency",
        )


def check_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a (frequency, recency, T[, weights]) summary and return float arrays.

    Parameters
    ----------
    frequency, recency, T : array-like
        Repeat purchases x, time of the last purchase t_x and age T, all measured from the first purchase.
    weights : array-like, optional
        Number of customers each row stands for (compressed data); 1 by default.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, t_x, T, weights)``.

    Raises
    ------
    CxlensInputError
        On unequal lengths, missing or negative values, non-integer frequency or recency > T.
    """
    x = as_float_array(frequency, "frequency")
    tx = as_float_array(recency, "recency")
    age = as_float_array(T, "T")
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    if not (x.size == tx.size == age.size == w.size):
        raise CxlensInputError(
            "frequency, recency, T (and weights) must have the same length",
            value=[x.size, tx.size, age.size, w.size],
        )
    if x.size == 0:
        raise CxlensInputError("no customers to fit")
    for name, arr in (("frequency", x), ("recency", tx), ("T", age), ("weights", w)):
        if not np.all(np.isfinite(arr)):
            raise CxlensInputError(f"{name} has missing or infinite values", column=name)
        if np.any(arr < 0):
            raise CxlensInputError(f"{name} has negative values", column=name, value=float(arr.min()))
    if np.any(x != np.round(x)):
        raise CxlensInputError(
            "frequency must hold whole numbers (repeat purchase counts)", column="frequency"
        )
    if np.any(tx > age + 1e-9):
        i = int(np.argmax(tx - age))
        raise CxlensInputError(
            "recency is larger than T for some customers (the last purchase cannot be after the end of "
            "the observation period)",
            column="recency",
            row=i,
            value=[float(tx[i]), float(age[i])],
        )
    return x, tx, age, w


def json_safe(value: Any) -> Any:
    """Convert numpy scalars, arrays and non-finite floats to plain JSON values (NaN/inf become None).

    Parameters
    ----------
    value : Any
        A scalar, list, tuple, dict, numpy object or nested mix.

    Returns
    -------
    Any
        The same structure made of dict, list, str, int, float, bool and None.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


_SHAPE_LOG_LIMIT = 9.0  # a shape parameter beyond e^9 (8,103) or below e^-9 is a boundary solution


def _central_gradient(fun: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central finite-difference gradient (error ~1e-10 for the scaled likelihoods used here)."""
    g = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = step
        g[i] = (fun(x + e) - fun(x - e)) / (2 * step)
    return g


def compress_rows(
    data: Sequence[np.ndarray], weights: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Merge identical data rows, summing their weights (the likelihoods depend on rows only).

    Parameters
    ----------
    data : sequence of numpy.ndarray
        Equal-length columns.
    weights : numpy.ndarray
        Row weights.

    Returns
    -------
    tuple
        ``(columns of the distinct rows, summed weights)``.
    """
    keys, inv = np.unique(np.column_stack(list(data)), axis=0, return_inverse=True)
    summed = np.bincount(inv.ravel(), weights=weights, minlength=keys.shape[0])
    return tuple(keys[:, j] for j in range(keys.shape[1])), summed


def _hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian of ``fun`` at ``x`` (a few dozen evaluations for 4 params)."""
    k = x.size
    f0 = fun(x)
    h = np.full(k, step)
    hess = np.empty((k, k))
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (fun(x + ei) - 2.0 * f0 + fun(x - ei)) / h[i] ** 2
        for j in range(i + 1, k):
            ej = np.zeros(k)
            ej[j] = h[j]
            val = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = val
    return hess


class BaseLifetimeFitter:
    """Common fitting, reporting and serialisation for the lifetime models.

    Subclasses define ``_param_names`` and ``_loglik(params, *data) -> per-row log-likelihood`` and call
    :meth:`_fit_loglik` from their ``fit``.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the parameters added to the mean negative log-likelihood (as in ``lifetimes``);
        0 gives the maximum-likelihood estimates that the published figures use. With a penalty the
        standard errors come from the curvature of the penalised objective.
    alpha : float, default 0.05
        1 - confidence level of the reported parameter intervals.
    """

    _param_names: tuple[str, ...] = ()
    #: parameters measured in the data's units (time, money); the others are dimensionless shapes
    _scale_params: tuple[str, ...] = ()
    _model_name: str = "model"

    def __init__(self, penalizer_coef: float = 0.0, alpha: float = 0.05) -> None:
        if penalizer_coef < 0:
            raise CxlensInputError("penalizer_coef must be >= 0", value=penalizer_coef)
        if not 0 < alpha < 1:
            raise CxlensInputError("alpha must be in (0, 1)", value=alpha)
        self.penalizer_coef = float(penalizer_coef)
        self.alpha = float(alpha)
        self.params_: dict[str, float] = {}
        self.standard_errors_: dict[str, float] = {}
        self.confidence_intervals_: dict[str, tuple[float, float]] = {}
        self.log_likelihood_: float = float("nan")
        self.n_: float = 0.0
        self.converged_: bool = False
        self.iterations_: int = 0
        self.warnings_: list[str] = []
        self.covariance_: pd.DataFrame | None = None

    # -- subclass hooks ---------------------------------------------------------------------------
    @staticmethod
    def _loglik(params: np.ndarray, *data: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------------------------
    def _fit_loglik(
        self,
        data: Sequence[np.ndarray],
        weights: np.ndarray,
        initial_params: Sequence[float] | None,
    ) -> None:
        """Maximise the weighted log-likelihood over log-parameters and store the results."""
        names = self._param_names
        k = len(names)
        data, weights = compress_rows(data, weights)
        if initial_params is None:
            x0 = np.zeros(k)
        else:
            init = np.asarray(initial_params, dtype=float)
            if init.shape != (k,) or np.any(init <= 0) or not np.all(np.isfinite(init)):
                raise CxlensInputError(
                    f"initial_params must be {k} positive numbers ({', '.join(names)})",
                    value=list(np.atleast_1d(init)),
                )
            x0 = np.log(init)
        wsum = float(weights.sum())
        pen = self.penalizer_coef
        loglik = self._loglik

        def mean_nll(logp: np.ndarray) -> float:
            if np.any(np.abs(logp) > 30):  # parameters beyond e^±30: out of any sensible range
                return 1e10
            p = np.exp(logp)
            with np.errstate(all="ignore"):
                ll = loglik(p, *data)
                val = -float(np.dot(weights, ll)) / wsum + pen * float(np.sum(p**2))
            return val if math.isfinite(val) else 1e10

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = optimize.minimize(mean_nll, x0, method="BFGS", jac="3-point", options={"gtol": 1e-9})
            iterations = res.nit
            grad = _central_gradient(mean_nll, res.x)
            if not (res.success or float(np.max(np.abs(grad))) < 1e-6):
                # BFGS with numerical gradients can stop early ("precision loss") on flat ridges;
                # a Nelder-Mead pass followed by a second BFGS pass settles it.
                nm = optimize.minimize(
                    mean_nll,
                    res.x,
                    method="Nelder-Mead",
                    options={"xatol": 1e-9, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000},
                )
                res2 = optimize.minimize(mean_nll, nm.x, method="BFGS", jac="3-point", options={"gtol": 1e-9})
                iterations += nm.nit + res2.nit
                res = res2 if res2.fun <= nm.fun else nm
                grad = _central_gradient(mean_nll, res.x)
        shown = dict(zip(names, [float(f"{v:.6g}") for v in np.exp(res.x)], strict=True))
        boundary = [
            n
            for n, lp in zip(names, res.x, strict=True)
            if n not in self._scale_params and abs(lp) > _SHAPE_LOG_LIMIT
        ]
        if boundary and math.isfinite(res.fun) and res.fun < 1e10:
            raise ConvergenceError(
                f"{self._model_name}: the likelihood has no interior maximum for these data: "
                f"{', '.join(boundary)} {'drifts' if len(boundary) == 1 else 'drift'} towards 0 or "
                f"infinity (at {shown}). This usually means "
                "the data show no heterogeneity in that process (or too few repeat customers to measure "
                "it), so the model is not identified. Use penalizer_coef=0.001 to keep the parameters "
                "finite, more customers, or a simpler model.",
                model=self._model_name,
                parameters=boundary,
            )
        max_grad = float(np.max(np.abs(grad)))
        if not (math.isfinite(res.fun) and res.fun < 1e10 and max_grad < 1e-4):
            raise ConvergenceError(
                f"{self._model_name}: the likelihood optimiser did not converge ({res.message}; "
                f"max |gradient| = {max_grad:.2g} at {shown}). Usual causes: too few repeat customers, "
                "inconsistent (frequency, recency, T) values, or a flat likelihood; try more data, "
                "penalizer_coef=0.001, or other initial_params.",
                model=self._model_name,
                optimizer_message=str(res.message),
            )
        logp = res.x
        p = np.exp(logp)
        self.params_ = {n: float(v) for n, v in zip(names, p, strict=True)}
        self.n_ = wsum
        self.converged_ = True
        self.iterations_ = int(iterations)
        with np.errstate(all="ignore"):
            self.log_likelihood_ = float(np.dot(weights, loglik(p, *data)))
        # standard errors from the curvature of the objective that was maximised (penalised if asked)
        self._standard_errors(lambda lp: wsum * mean_nll(lp), logp)

    def _standard_errors(self, total_nll: Callable[[np.ndarray], float], logp: np.ndarray) -> None:
        """Inverse-Hessian standard errors (delta method) and log-scale Wald intervals."""
        names = self._param_names
        p = np.exp(logp)
        z = float(stats.norm.ppf(1 - self.alpha / 2))
        self.warnings_ = []
        with np.errstate(all="ignore"):
            hess = _hessian(total_nll, logp)
        cov_log = None
        if np.all(np.isfinite(hess)):
            try:
                np.linalg.cholesky(hess)
                cov_log = np.linalg.inv(hess)
            except np.linalg.LinAlgError:
                cov_log = None
        if cov_log is None:
            self.warnings_.append(
                "the Hessian is not positive definite (flat likelihood): standard errors are not available; "
                "penalizer_coef=0.001 usually helps"
            )
            self.standard_errors_ = {n: float("nan") for n in names}
            self.confidence_intervals_ = {n: (float("nan"), float("nan")) for n in names}
            self.covariance_ = pd.DataFrame(np.nan, index=list(names), columns=list(names))
            return
        se_log = np.sqrt(np.diag(cov_log))
        jac = np.diag(p)
        self.covariance_ = pd.DataFrame(jac @ cov_log @ jac, index=list(names), columns=list(names))
        self.standard_errors_ = {n: float(v) for n, v in zip(names, p * se_log, strict=True)}
        with np.errstate(over="ignore"):
            self.confidence_intervals_ = {
                n: (float(np.exp(lp - z * s)), float(np.exp(lp + z * s)))
                for n, lp, s in zip(names, logp, se_log, strict=True)
            }

    @classmethod
    def from_params(cls, params: dict[str, float], **kwargs: Any) -> Any:
        """A model with known parameters (e.g. from :meth:`to_dict` or a paper), ready to predict.

        Standard errors, intervals and the log-likelihood are not available on such a model.

        Parameters
        ----------
        params : dict
            All parameters of the model by name (extra keys, such as ``gamma`` for ``v``, are refused).
        **kwargs
            Constructor arguments (``penalizer_coef``, ``alpha``).

        Returns
        -------
        BaseLifetimeFitter
            An instance of the class with ``params_`` set.
        """
        names = cls._param_names
        if set(params) != set(names):
            raise CxlensInputError(f"params must have exactly the keys {list(names)}", value=sorted(params))
        values = {n: float(params[n]) for n in names}
        if not all(math.isfinite(v) and v > 0 for v in values.values()):
            raise CxlensInputError("parameters must be finite and > 0", value=values)
        model = cls(**kwargs)
        model.params_ = values
        return model

    # -- reporting --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.params_:
            raise CxlensInputError(f"{type(self).__name__} is not fitted yet: call fit(...) first")

    def _unload(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[n] for n in self._param_names)

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and confidence intervals (one row per parameter)."""
        self._check_fitted()
        level = round(100 * (1 - self.alpha))
        rows = {
            n: {
                "coef": self.params_[n],
                "se(coef)": self.standard_errors_.get(n, float("nan")),
                f"lower {level}%": self.confidence_intervals_.get(n, (np.nan, np.nan))[0],
                f"upper {level}%": self.confidence_intervals_.get(n, (np.nan, np.nan))[1],
            }
            for n in self._param_names
        }
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description of the fit: model, params, errors, intervals, log-likelihood, n."""
        self._check_fitted()
        return json_safe(
            {
                "model": self._model_name,
                "params": self.params_,
                "standard_errors": self.standard_errors_,
                "confidence_intervals": {k: list(v) for k, v in self.confidence_intervals_.items()},
                "confidence_level": 1 - self.alpha,
                "log_likelihood": self.log_likelihood_,
                "n": self.n_,
                "converged": self.converged_,
                "warnings": list(self.warnings_),
            }
        )

    def __repr__(self) -> str:
        if not self.params_:
            return f"<{type(self).__name__}: not fitted>"
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{type(self).__name__}: {body}, log-likelihood={self.log_likelihood_:.2f}, n={self.n_:g}>"
