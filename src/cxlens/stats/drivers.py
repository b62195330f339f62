"""Key-driver analysis: which attributes move an outcome (NPS, CSAT, any score).

Two decompositions of a linear model's R² into non-negative shares that add up to R²:

- **Johnson's relative weights** (Johnson 2000, *Multivariate Behavioral Research* 35:1-19): regress the
  outcome on the orthogonal counterpart ``Z = X R^{-1/2}`` of the standardised predictors and map the squared
  coefficients back through the squared loadings ``Λ = R^{1/2}``: ``ε_j = Σ_k Λ_jk² β_k²``.
- **Shapley / LMG** (Lindeman, Merenda & Gold 1980; Grömping 2006, R ``relaimpo`` type ``"lmg"``): each
  predictor's sequential R² gain averaged over all orderings, computed exactly from the R² of all 2^p
  subsets (so p is capped, see :data:`MAX_SHAPLEY_PREDICTORS`).

Both need only the correlation matrix, so every bootstrap replicate is a weighted correlation matrix: the
resamples are multinomial count vectors and all replicates are solved at once as stacked numpy arrays
(batched ``eigh`` and ``solve``), with no Python loop over replicates or rows.

Written here rather than imported because neither statsmodels nor scikit-learn has relative weights or an
exact LMG decomposition, and the R packages (``relaimpo``, ``rwa``) are not available from Python; the tests
check the results against brute-force all-subsets regressions fitted with statsmodels and against the
published ``rwa`` example on ``mtcars``.

:func:`importance_performance` places drivers in the four quadrants of importance-performance analysis
(Martilla & James 1977, *Journal of Marketing* 41:77-79).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from cxlens.stats._common import check_confidence

__all__ = [
    "MAX_SHAPLEY_PREDICTORS",
    "DriverResult",
    "driver_analysis",
    "importance_performance",
    "relative_weights",
    "shapley_r2",
    "subset_r2",
]

#: Exact Shapley needs the R² of all 2^p subsets; above this it is refused (use relative weights).
MAX_SHAPLEY_PREDICTORS = 14

Quadrant = Literal["concentrate here", "keep up the good work", "low priority", "possible overkill"]


def _corr_from_moments(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Correlation matrices from (weighted) counts, sums and cross-product sums; stacked on axis 0."""
    mean = s1 / n[..., None]
    cov = s2 / n[..., None, None] - mean[..., :, None] * mean[..., None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / (sd[..., :, None] * sd[..., None, :])


def _as_data(X: ArrayLike, y: ArrayLike) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    yy = np.asarray(y, dtype=float).ravel()
    if x.ndim != 2 or x.shape[0] != yy.shape[0]:
        raise ValueError(f"X must be (n, p) and y (n,); got {x.shape} and {yy.shape}")
    data = np.column_stack([yy, x])
    if not np.isfinite(data).all():
        raise ValueError("X and y must be finite (drop or impute missing answers first)")
    if data.shape[0] <= x.shape[1] + 1:
        raise ValueError(f"need more observations than predictors + 1 (n = {data.shape[0]}, p = {x.shape[1]})")
    sd = data.std(axis=0)
    if (sd == 0).any():
        raise ValueError("a predictor or the outcome has zero variance: " +
                         ", ".join(str(i - 1) if i else "y" for i in np.flatnonzero(sd == 0)))
    return data


def _correlation(data: np.ndarray) -> np.ndarray:
    n = np.array(float(data.shape[0]))
    return _corr_from_moments(n, data.sum(axis=0), data.T @ data)


def _rw_from_corr(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relative weights for stacked correlation matrices ``c[..., 0]`` = outcome. Returns (weights, R²)."""
    rxx = c[..., 1:, 1:]
    rxy = c[..., 1:, 0]
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 0.0, None)
    # Λ = R^{1/2} = V diag(sqrt λ) V'; β = Λ^{-1} r_xy (solved, not inverted)
    lam = (evecs * np.sqrt(evals)[..., None, :]) @ np.swapaxes(evecs, -1, -2)
    beta = (np.linalg.pinv(lam, hermitian=True) @ rxy[..., None])[..., 0]
    eps = (lam**2) @ (beta**2)[..., None]
    eps = eps[..., 0]
    return eps, eps.sum(axis=-1)


def _all_subset_r2(c: np.ndarray) -> np.ndarray:
    """R² of every subset of predictors, indexed by bitmask (bit j = predictor j); stacked on axis 0.

    ``R²(S) = r_S' R_SS^{-1} r_S``; subsets of one size are solved together as one batched ``solve``.
    """
    p = c.shape[-1] - 1
    lead = c.shape[:-2]
    out = np.zeros((*lead, 1 << p))
    for k in range(1, p + 1):
        subsets = np.array(list(combinations(range(p), k)))  # (m, k): 2^p subsets in all, not rows
        idx = subsets + 1
        rss = c[..., idx[:, :, None], idx[:, None, :]]        # (..., m, k, k)
        rs = c[..., idx, 0]                                   # (..., m, k)
        sol = np.linalg.solve(rss, rs[..., None])[..., 0]
        masks = (1 << subsets).sum(axis=1)
        out[..., masks] = (rs * sol).sum(axis=-1)
    return out


def _shapley_from_r2(r2: np.ndarray, p: int) -> np.ndarray:
    """Exact Shapley values of R²: φ_j = Σ_{S ∌ j} |S|!(p-|S|-1)!/p! · (R²(S ∪ j) - R²(S))."""
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in range(1 << p)])
    weight = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) if s < p else 0.0
                       for s in range(p + 1)])
    phi = np.empty((*r2.shape[:-1], p))
    for j in range(p):  # p predictors, each a vectorised sum over the 2^(p-1) subsets without it
        without = masks[(masks >> j) & 1 == 0]
        phi[..., j] = ((r2[..., without | (1 << j)] - r2[..., without]) * weight[size[without]]).sum(axis=-1)
    return phi


def subset_r2(X: ArrayLike, y: ArrayLike) -> np.ndarray:
    """R² of the OLS regression of ``y`` on every subset of the columns of ``X`` (index = bitmask)."""
    data = _as_data(X, y)
    if data.shape[1] - 1 > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(f"all-subsets R² is limited to {MAX_SHAPLEY_PREDICTORS} predictors")
    return _all_subset_r2(_correlation(data))


def relative_weights(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights of the columns of ``X`` for outcome ``y``.

    Returns
    -------
    (weights, r2)
        Raw weights (non-negative, summing to the model R²) and the R² of the full OLS model.
    """
    eps, r2 = _rw_from_corr(_correlation(_as_data(X, y)))
    return np.clip(eps, 0.0, None), float(r2)


def shapley_r2(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, float]:
    """Shapley (LMG) decomposition of R² over the columns of ``X`` (exact, all 2^p subsets).

    Returns
    -------
    (shares, r2)
        Shares summing to the full-model R², and that R².
    """
    data = _as_data(X, y)
    p = data.shape[1] - 1
    if p > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(f"exact Shapley needs 2^p regressions; at most {MAX_SHAPLEY_PREDICTORS} predictors "
                         f"(got {p}); use relative weights")
    r2 = _all_subset_r2(_correlation(data))
    return _shapley_from_r2(r2, p), float(r2[-1])


@dataclass(frozen=True)
class DriverResult:
    """Importance of each driver with bootstrap percentile intervals.

    ``relative_weights`` / ``shapley`` are dicts ``{"estimate", "ci_low", "ci_high", "share"}`` of arrays
    (``share`` = estimate / R²), or None when the method was not run.
    """

    names: tuple[str, ...]
    n: int
    r2: float
    r2_ci: tuple[float, float]
    confidence: float
    n_boot: int
    seed: int | None
    beta: np.ndarray
    relative_weights: dict[str, np.ndarray] | None
    shapley: dict[str, np.ndarray] | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_rows(self) -> list[dict[str, object]]:
        """One JSON-ready dict per driver."""
        rows = []
        for i, name in enumerate(self.names):
            row: dict[str, object] = {"driver": name, "beta": _f(self.beta[i])}
            for key, res in (("relative_weight", self.relative_weights), ("shapley", self.shapley)):
                if res is not None:
                    row[key] = {k: _f(v[i]) for k, v in res.items()}
            rows.append(row)
        return rows


def _f(v: float) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _bootstrap_moments(data: np.ndarray, n_boot: int, rng: np.random.Generator, chunk: int
                       ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Counts, sums and cross-products of ``n_boot`` resamples, drawn as multinomial count vectors."""
    n = data.shape[0]
    out = []
    for start in range(0, n_boot, chunk):  # chunks bound the memory of the (b, n) count matrix
        b = min(chunk, n_boot - start)
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
        s1 = w @ data
        q = data.shape[1]
        s2 = (w @ (data[:, :, None] * data[:, None, :]).reshape(n, q * q)).reshape(b, q, q)
        out.append((np.full(b, float(n)), s1, s2))
    return out


def driver_analysis(
    X: ArrayLike,
    y: ArrayLike,
    names: list[str] | None = None,
    *,
    methods: tuple[str, ...] = ("relative_weights", "shapley"),
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> DriverResult:
    """Relative weights and Shapley (LMG) shares with seeded bootstrap percentile intervals.

    Parameters
    ----------
    X : (n, p) array
        Driver ratings (one row per response, complete cases).
    y : (n,) array
        The outcome (e.g. likelihood to recommend).
    names : list of str, optional
        Driver names (default ``x0..``).
    methods : tuple of {"relative_weights", "shapley"}
        Which decompositions to compute; Shapley is skipped with a warning above
        :data:`MAX_SHAPLEY_PREDICTORS` drivers.
    n_boot : int
        Bootstrap replicates (0 for none: intervals are NaN).
    confidence : float
        Two-sided level of the percentile intervals.
    seed : int, optional
        Seed of the resampling (results are reproducible for a given seed).

    Returns
    -------
    DriverResult
    """
    conf = check_confidence(confidence)
    data = _as_data(X, y)
    p = data.shape[1] - 1
    names = list(names) if names is not None else [f"x{i}" for i in range(p)]
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} drivers")
    warnings: list[str] = []
    methods = tuple(methods)
    if "shapley" in methods and p > MAX_SHAPLEY_PREDICTORS:
        warnings.append(f"Shapley skipped: {p} drivers exceed the exact limit of {MAX_SHAPLEY_PREDICTORS}")
        methods = tuple(m for m in methods if m != "shapley")
    c = _correlation(data)
    beta = np.linalg.solve(c[1:, 1:], c[1:, 0])
    rw, r2 = _rw_from_corr(c)
    sh = _shapley_from_r2(_all_subset_r2(c), p) if "shapley" in methods else None
    boot_rw: list[np.ndarray] = []
    boot_sh: list[np.ndarray] = []
    boot_r2: list[np.ndarray] = []
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        per_boot = max(1, 50_000_000 // max(1, data.shape[0] * 8))
        for nn, s1, s2 in _bootstrap_moments(data, n_boot, rng, min(n_boot, max(16, per_boot))):
            cb = _corr_from_moments(nn, s1, s2)
            ok = np.isfinite(cb).all(axis=(1, 2))  # a resample where a driver is constant has no correlation
            cb = cb[ok]
            e, r = _rw_from_corr(cb)
            boot_rw.append(e)
            boot_r2.append(r)
            if sh is not None:
                boot_sh.append(_shapley_from_r2(_all_subset_r2(cb), p))
        dropped = n_boot - sum(len(r) for r in boot_r2)
        if dropped:
            warnings.append(f"{dropped} of {n_boot} bootstrap resamples had a constant driver and were dropped")
    lo_q, hi_q = 100 * (1 - conf) / 2, 100 * (1 + conf) / 2

    def summarise(est: np.ndarray, boots: list[np.ndarray]) -> dict[str, np.ndarray]:
        if boots:
            b = np.concatenate(boots)
            lo, hi = np.percentile(b, [lo_q, hi_q], axis=0)
        else:
            lo = hi = np.full(p, np.nan)
        return {"estimate": est, "ci_low": lo, "ci_high": hi, "share": est / r2 if r2 > 0 else est * np.nan}

    r2_ci = (float(np.percentile(np.concatenate(boot_r2), lo_q)), float(np.percentile(np.concatenate(boot_r2),
                                                                                      hi_q))) \
        if boot_r2 else (math.nan, math.nan)
    if data.shape[0] < 10 * p:
        warnings.append(f"n = {data.shape[0]} is small for {p} drivers (rule of thumb: 10 per driver)")
    return DriverResult(
        names=tuple(names), n=int(data.shape[0]), r2=float(r2), r2_ci=r2_ci, confidence=conf, n_boot=n_boot,
        seed=seed, beta=beta,
        relative_weights=summarise(np.clip(rw, 0.0, None), boot_rw) if "relative_weights" in methods else None,
        shapley=summarise(sh, boot_sh) if sh is not None else None,
        warnings=tuple(warnings),
    )


def importance_performance(importance: ArrayLike, performance: ArrayLike,
                           *, importance_cut: float | None = None, performance_cut: float | None = None
                           ) -> list[Quadrant]:
    """Importance-performance quadrant of each driver (Martilla & James 1977).

    Cut points default to the mean importance and mean performance of the drivers shown ("data-centred"
    quadrants). High importance and low performance is "concentrate here"; high/high "keep up the good
    work"; low/low "low priority"; low importance and high performance "possible overkill".
    """
    imp = np.asarray(importance, dtype=float)
    perf = np.asarray(performance, dtype=float)
    ic = float(np.nanmean(imp)) if importance_cut is None else importance_cut
    pc = float(np.nanmean(perf)) if performance_cut is None else performance_cut
    hi_i, hi_p = imp >= ic, perf >= pc
    labels = np.where(hi_i, np.where(hi_p, "keep up the good work", "concentrate here"),
                      np.where(hi_p, "possible overkill", "low priority"))
    return [str(x) for x in labels]  # type: ignore[misc]
