"""Key-driver maths (cxlens.stats.drivers) against published figures and brute-force regressions."""

from __future__ import annotations

import io
from itertools import combinations, permutations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlens.stats.drivers import (
    MAX_SHAPLEY_PREDICTORS,
    driver_analysis,
    importance_performance,
    relative_weights,
    shapley_r2,
    subset_r2,
)

# mtcars (Henderson & Velleman 1981; R `datasets::mtcars`): mpg, cyl, disp, hp, gear of the 32 cars
MTCARS = """mpg,cyl,disp,hp,gear
21.0,6,160.0,110,4
21.0,6,160.0,110,4
22.8,4,108.0,93,4
21.4,6,258.0,110,3
18.7,8,360.0,175,3
18.1,6,225.0,105,3
14.3,8,360.0,245,3
24.4,4,146.7,62,4
22.8,4,140.8,95,4
19.2,6,167.6,123,4
17.8,6,167.6,123,4
16.4,8,275.8,180,3
17.3,8,275.8,180,3
15.2,8,275.8,180,3
10.4,8,472.0,205,3
10.4,8,460.0,215,3
14.7,8,440.0,230,3
32.4,4,78.7,66,4
30.4,4,75.7,52,4
33.9,4,71.1,65,4
21.5,4,120.1,97,3
15.5,8,318.0,150,3
15.2,8,304.0,150,3
13.3,8,350.0,245,3
19.2,8,400.0,175,3
27.3,4,79.0,66,4
26.0,4,120.3,91,5
30.4,4,95.1,113,5
15.8,8,351.0,264,5
19.7,6,145.0,175,5
15.0,8,301.0,335,5
21.4,4,121.0,109,4
"""


@pytest.fixture(scope="module")
def mtcars() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(MTCARS))


def test_relative_weights_match_published_rwa_mtcars(mtcars):
    # Published: README of the R package `rwa` (martinctc/rwa, Johnson 2000 / Tonidandel & LeBreton 2015
    # method), `rwa(mtcars, outcome = "mpg", predictors = c("cyl", "disp", "hp", "gear"))`:
    # rsquare 0.7791896; Raw.RelWeight cyl 0.2284797, disp 0.2221469, hp 0.2321744, gear 0.0963886.
    w, r2 = relative_weights(mtcars[["cyl", "disp", "hp", "gear"]].to_numpy(), mtcars["mpg"].to_numpy())
    assert r2 == pytest.approx(0.7791896, abs=5e-8)
    np.testing.assert_allclose(w, [0.2284797, 0.2221469, 0.2321744, 0.0963886], atol=5e-8)


def _brute_force_shapley(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict[frozenset, float]]:
    """LMG by definition: average sequential R² gain over all p! orderings, each R² an OLS fit."""
    p = X.shape[1]
    r2: dict[frozenset, float] = {frozenset(): 0.0}
    for k in range(1, p + 1):
        for s in combinations(range(p), k):
            r2[frozenset(s)] = sm.OLS(y, sm.add_constant(X[:, list(s)])).fit().rsquared
    phi = np.zeros(p)
    orders = list(permutations(range(p)))
    for order in orders:
        seen: frozenset = frozenset()
        for j in order:
            phi[j] += r2[seen | {j}] - r2[seen]
            seen = seen | {j}
    return phi / len(orders), r2


def test_shapley_equals_brute_force_orderings_with_statsmodels(mtcars):
    X = mtcars[["cyl", "disp", "hp", "gear"]].to_numpy()
    y = mtcars["mpg"].to_numpy()
    expected, r2_sets = _brute_force_shapley(X, y)
    phi, r2 = shapley_r2(X, y)
    np.testing.assert_allclose(phi, expected, atol=1e-10)
    assert phi.sum() == pytest.approx(r2_sets[frozenset(range(4))], abs=1e-12)
    assert r2 == pytest.approx(sm.OLS(y, sm.add_constant(X)).fit().rsquared, abs=1e-12)
    all_r2 = subset_r2(X, y)
    for s, v in r2_sets.items():
        assert all_r2[sum(1 << j for j in s)] == pytest.approx(v, abs=1e-10)


def test_shapley_brute_force_on_random_correlated_data():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(300, 1))
    X = rng.normal(size=(300, 5)) + 0.8 * z
    y = X @ np.array([0.5, 0.0, 1.0, -0.3, 0.2]) + rng.normal(size=300)
    expected, _ = _brute_force_shapley(X, y)
    np.testing.assert_allclose(shapley_r2(X, y)[0], expected, atol=1e-10)


def test_two_predictors_relative_weights_equal_shapley(mtcars):
    # with two predictors Johnson's weights and the Shapley values coincide (Johnson 2000)
    X = mtcars[["cyl", "hp"]].to_numpy()
    y = mtcars["mpg"].to_numpy()
    np.testing.assert_allclose(relative_weights(X, y)[0], shapley_r2(X, y)[0], atol=1e-12)


def test_uncorrelated_drivers_get_their_squared_correlation():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3))
    X = np.linalg.qr(X - X.mean(axis=0))[0] * np.sqrt(500)  # exactly orthogonal, centred columns
    y = X @ np.array([1.0, 0.5, 0.0]) + rng.normal(size=500)
    r = np.array([np.corrcoef(X[:, j], y)[0, 1] ** 2 for j in range(3)])
    np.testing.assert_allclose(relative_weights(X, y)[0], r, atol=1e-10)
    np.testing.assert_allclose(shapley_r2(X, y)[0], r, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(2, 6), rho=st.floats(0.0, 0.9))
def test_properties_sum_nonnegative_permutation(seed, p, rho):
    rng = np.random.default_rng(seed)
    n = 120
    X = rng.normal(size=(n, p)) + rho * rng.normal(size=(n, 1))
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    w, r2 = relative_weights(X, y)
    phi, r2s = shapley_r2(X, y)
    assert r2 == pytest.approx(r2s, abs=1e-10)
    assert w.sum() == pytest.approx(r2, abs=1e-10)
    assert phi.sum() == pytest.approx(r2, abs=1e-10)
    assert (w >= 0).all()
    assert (phi >= -1e-12).all()  # LMG shares of an OLS R² are non-negative
    perm = rng.permutation(p)
    np.testing.assert_allclose(relative_weights(X[:, perm], y)[0], w[perm], atol=1e-10)
    np.testing.assert_allclose(shapley_r2(X[:, perm], y)[0], phi[perm], atol=1e-10)
    rows = rng.permutation(n)  # row order does not matter
    np.testing.assert_allclose(relative_weights(X[rows], y[rows])[0], w, atol=1e-10)


def test_bootstrap_is_seeded_and_intervals_contain_estimates(mtcars):
    X = mtcars[["cyl", "disp", "hp", "gear"]].to_numpy()
    y = mtcars["mpg"].to_numpy()
    a = driver_analysis(X, y, ["cyl", "disp", "hp", "gear"], n_boot=400, seed=11)
    b = driver_analysis(X, y, ["cyl", "disp", "hp", "gear"], n_boot=400, seed=11)
    c = driver_analysis(X, y, ["cyl", "disp", "hp", "gear"], n_boot=400, seed=12)
    np.testing.assert_array_equal(a.shapley["ci_low"], b.shapley["ci_low"])
    assert not np.array_equal(a.shapley["ci_low"], c.shapley["ci_low"])
    for res in (a.relative_weights, a.shapley):
        assert (res["ci_low"] <= res["estimate"]).all() and (res["estimate"] <= res["ci_high"]).all()
        assert res["share"].sum() == pytest.approx(1.0)
    assert a.r2_ci[0] <= a.r2 <= a.r2_ci[1]


def test_bootstrap_matches_explicit_resampling_loop():
    # the vectorised multinomial-weight bootstrap equals refitting on explicitly resampled rows
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, 0.3, 0.0]) + rng.normal(size=60)
    res = driver_analysis(X, y, n_boot=200, seed=99, confidence=0.9)
    g = np.random.default_rng(99)
    w = g.multinomial(60, np.full(60, 1 / 60), size=200)
    boots = np.array([relative_weights(np.repeat(X, w[i], axis=0), np.repeat(y, w[i]))[0] for i in range(200)])
    lo, hi = np.percentile(boots, [5, 95], axis=0)
    np.testing.assert_allclose(res.relative_weights["ci_low"], lo, atol=1e-10)
    np.testing.assert_allclose(res.relative_weights["ci_high"], hi, atol=1e-10)


def test_simulation_recovers_known_weights():
    # independent drivers: the true R² shares are beta_j² / (sum beta² + noise variance)
    rng = np.random.default_rng(2024)
    beta = np.array([0.8, 0.5, 0.3, 0.0])
    X = rng.normal(size=(20_000, 4))
    y = X @ beta + rng.normal(size=20_000)
    truth = beta**2 / (beta @ beta + 1.0)
    res = driver_analysis(X, y, n_boot=200, seed=1)
    np.testing.assert_allclose(res.shapley["estimate"], truth, atol=0.01)
    np.testing.assert_allclose(res.relative_weights["estimate"], truth, atol=0.01)
    assert (res.shapley["ci_low"] <= truth + 0.005).all() and (truth - 0.005 <= res.shapley["ci_high"]).all()


def test_errors_name_the_problem():
    X = np.ones((10, 2))
    with pytest.raises(ValueError, match="zero variance"):
        relative_weights(X, np.arange(10.0))
    with pytest.raises(ValueError, match="more observations"):
        relative_weights(np.random.default_rng(0).normal(size=(3, 2)), np.arange(3.0))
    with pytest.raises(ValueError, match="finite"):
        relative_weights(np.array([[1.0], [np.nan], [2.0], [3.0]]), np.arange(4.0))
    big = np.random.default_rng(0).normal(size=(100, MAX_SHAPLEY_PREDICTORS + 1))
    with pytest.raises(ValueError, match="at most"):
        shapley_r2(big, big.sum(axis=1))
    res = driver_analysis(big, big.sum(axis=1) + 1, n_boot=0)
    assert res.shapley is None and any("Shapley skipped" in w for w in res.warnings)


def test_importance_performance_quadrants():
    q = importance_performance([0.3, 0.3, 0.05, 0.05], [40, 90, 40, 90])
    assert q == ["concentrate here", "keep up the good work", "low priority", "possible overkill"]
