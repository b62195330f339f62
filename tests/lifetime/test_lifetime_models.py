"""Property and behaviour tests of the CLV fitters (no shared data needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlens.errors import CxlensError, CxlensInputError
from cxlens.lifetime import (
    BetaGeoBetaBinomFitter,
    BetaGeoFitter,
    ConvergenceError,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
    customer_lifetime_value,
)

# Parameter sets: CDNOW estimates (golden-figures.md) and a few far from them.
BG_SETS = [
    {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    {"r": 2.0, "alpha": 1.0, "a": 3.0, "b": 0.5},
    {"r": 0.05, "alpha": 50.0, "a": 0.2, "b": 20.0},
]
PNBD_SETS = [
    {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    {"r": 2.0, "alpha": 1.0, "s": 3.0, "beta": 40.0},  # alpha < beta
    {"r": 0.3, "alpha": 30.0, "s": 1.0, "beta": 2.0},  # alpha > beta, s = 1 branch
    {"r": 1.0, "alpha": 5.0, "s": 0.5, "beta": 5.0},  # alpha == beta
]
MODELS = (
    [BetaGeoFitter.from_params(p) for p in BG_SETS]
    + [ModifiedBetaGeoFitter.from_params(p) for p in BG_SETS]
    + [ParetoNBDFitter.from_params(p) for p in PNBD_SETS]
)
IDS = [f"{type(m).__name__}-{i}" for i, m in enumerate(MODELS)]


@st.composite
def histories(draw):
    T = draw(st.floats(0.5, 200.0))
    x = draw(st.integers(0, 60))
    tx = 0.0 if x == 0 else draw(st.floats(0.0, 1.0)) * T
    return float(x), tx, T


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int):
    """Simulate BG/NBD histories: Poisson purchases at rate lambda; after each, drop out with prob p."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, tx, np.full(n, T)


# --- predictions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(h=histories())
def test_probability_alive_is_a_probability(model, h) -> None:
    x, tx, T = h
    p = float(model.conditional_probability_alive(x, tx, T))
    assert 0.0 <= p <= 1.0


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(h=histories())
def test_conditional_expectation_increases_from_zero(model, h) -> None:
    x, tx, T = h
    t = np.array([0.0, 0.5, 1.0, 5.0, 20.0, 100.0, 500.0])
    e = np.asarray(model.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T))
    assert np.all(np.isfinite(e))
    assert e[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(e) >= -1e-10)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_unconditional_expectation_increases_from_zero(model) -> None:
    t = np.linspace(0, 300, 61)
    e = model.expected_number_of_purchases_up_to_time(t)
    assert e[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(e) > 0)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_alive_probability_falls_with_silence(model) -> None:
    # same purchases, longer silence since the last one -> less likely alive
    T = np.linspace(20, 200, 10)
    p = model.conditional_probability_alive(5, 10.0, T)
    assert np.all(np.diff(p) < 0)
    # same age, later last purchase -> more likely alive
    q = model.conditional_probability_alive(5, np.linspace(5, 50, 10), 50.0)
    assert np.all(np.diff(q) > 0)


def test_bgnbd_alive_is_one_without_repeat_but_mbg_is_not() -> None:
    assert float(BetaGeoFitter.from_params(BG_SETS[0]).conditional_probability_alive(0, 0, 30)) == 1.0
    assert float(ModifiedBetaGeoFitter.from_params(BG_SETS[0]).conditional_probability_alive(0, 0, 30)) < 1.0


def test_predictions_broadcast_over_a_grid() -> None:
    bg = BetaGeoFitter.from_params(BG_SETS[0])
    x = np.array([0.0, 1, 2, 5])
    tx = np.array([0.0, 3, 10, 30])
    T = np.full(4, 39.0)
    grid = bg.conditional_expected_number_of_purchases_up_to_time(np.arange(1, 11)[:, None], x, tx, T)
    assert grid.shape == (10, 4)
    np.testing.assert_allclose(grid[4], bg.predict(5, x, tx, T))


def test_pareto_nbd_s_equal_one_is_continuous() -> None:
    base = {"r": 0.5, "alpha": 10.0, "beta": 12.0}
    t = np.array([1.0, 10.0, 100.0])
    at_one = ParetoNBDFitter.from_params({**base, "s": 1.0})
    near = ParetoNBDFitter.from_params({**base, "s": 1.0 + 1e-7})
    np.testing.assert_allclose(
        at_one.expected_number_of_purchases_up_to_time(t),
        near.expected_number_of_purchases_up_to_time(t),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        at_one.conditional_expected_number_of_purchases_up_to_time(t, 3, 20.0, 30.0),
        near.conditional_expected_number_of_purchases_up_to_time(t, 3, 20.0, 30.0),
        rtol=1e-6,
    )


def test_pareto_nbd_loglik_matches_high_precision_reference() -> None:
    # Reference: Fader & Hardie (2005, note 009) closed form evaluated with mpmath at 50 digits, always with
    # the alpha-branch of A0 (negative hypergeometric argument when alpha < beta), so the reference does not
    # share our branch choice nor our log-space difference of the two A0 terms.
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50

    def ref(r, alpha, s, beta, x, tx, T):
        r, alpha, s, beta, x, tx, T = (mpmath.mpf(v) for v in (r, alpha, s, beta, x, tx, T))
        rsx = r + s + x

        def term(t):
            return mpmath.hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** rsx

        a0 = term(tx) - term(T)
        lik = (
            mpmath.gamma(r + x)
            * alpha**r
            * beta**s
            / mpmath.gamma(r)
            * (1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / rsx * a0)
        )
        return float(mpmath.log(lik))

    cases = [
        (0.553, 10.578, 0.606, 11.669, 2, 30.43, 38.86),
        (0.553, 10.578, 0.606, 11.669, 0, 0.0, 38.86),
        (0.553, 10.578, 0.606, 11.669, 29, 38.43, 38.86),
        (0.553, 10.578, 0.606, 11.669, 5, 38.86 - 1e-7, 38.86),  # t_x just below T: cancellation in A0
        (2.0, 1.0, 3.0, 40.0, 12, 20.0, 52.0),  # alpha < beta
        (0.3, 30.0, 1.0, 2.0, 50, 100.0, 150.0),  # alpha > beta, many purchases
        (1.0, 5.0, 0.5, 5.0, 3, 7.0, 9.0),  # alpha == beta
    ]
    for *params, x, tx, T in cases:
        got = float(
            ParetoNBDFitter._loglik(np.array(params), np.array([x]), np.array([tx]), np.array([T]))[0]
        )
        assert got == pytest.approx(ref(*params, x, tx, T), rel=1e-9, abs=1e-9), (params, x, tx, T)


# --- fitting --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated():
    return simulate_bgnbd(4000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=52.0, seed=11)


def test_bgnbd_recovers_simulated_parameters_within_intervals(simulated) -> None:
    x, tx, T = simulated
    bg = BetaGeoFitter().fit(x, tx, T)
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    for k, v in truth.items():
        lo, hi = bg.confidence_intervals_[k]
        # 99.9 % check built from the 95 % log-scale interval: widen by 3.29 / 1.96 in log space
        f = 3.29 / 1.96
        lo3 = bg.params_[k] * (lo / bg.params_[k]) ** f
        hi3 = bg.params_[k] * (hi / bg.params_[k]) ** f
        assert lo3 < v < hi3, (k, bg.params_[k], (lo, hi))
        assert bg.standard_errors_[k] > 0 and lo < bg.params_[k] < hi


def test_weights_equal_duplicated_rows(simulated) -> None:
    x, tx, T = (v[:600] for v in simulated)
    w = np.tile([1.0, 2.0, 3.0], 200)
    weighted = BetaGeoFitter().fit(x, tx, T, weights=w)
    rep = np.repeat(np.arange(600), w.astype(int))
    duplicated = BetaGeoFitter().fit(x[rep], tx[rep], T[rep])
    for k in weighted.params_:
        assert weighted.params_[k] == pytest.approx(duplicated.params_[k], rel=1e-5)
    assert weighted.log_likelihood_ == pytest.approx(duplicated.log_likelihood_, rel=1e-9)
    assert weighted.n_ == 1200


def test_fit_outputs_are_json_safe(simulated) -> None:
    x, tx, T = simulated
    m = ParetoNBDFitter().fit(x, tx, T)
    d = json.loads(json.dumps(m.to_dict()))
    assert d["model"] == "Pareto/NBD" and set(d["params"]) == {"r", "alpha", "s", "beta"}
    assert d["converged"] is True and d["n"] == 4000
    assert list(m.summary.columns) == ["coef", "se(coef)", "lower 95%", "upper 95%"]
    assert "Pareto" in repr(m) or "ParetoNBDFitter" in repr(m)


def test_boundary_solution_raises_convergence_error_with_advice() -> None:
    # identical customers: no heterogeneity, so the shape parameters run off to 0 / infinity
    x, tx, T = np.full(50, 3.0), np.full(50, 10.0), np.full(50, 10.0)
    with pytest.raises(ConvergenceError) as err:
        BetaGeoFitter().fit(x, tx, T)
    assert "penalizer_coef" in str(err.value)
    assert isinstance(err.value, CxlensError) and err.value.to_dict()["error"]["code"] == "convergence_failed"


def test_penalizer_keeps_small_sample_fit_finite(simulated) -> None:
    x, tx, T = (v[:150] for v in simulated)
    m = ModifiedBetaGeoFitter(penalizer_coef=0.01).fit(x, tx, T)
    assert all(0 < v < 100 for v in m.params_.values())


def test_input_errors() -> None:
    with pytest.raises(CxlensInputError, match="recency is larger than T"):
        BetaGeoFitter().fit([1, 2], [5.0, 3.0], [4.0, 10.0])
    with pytest.raises(CxlensInputError, match="whole numbers"):
        BetaGeoFitter().fit([1.5, 2], [1.0, 3.0], [4.0, 10.0])
    with pytest.raises(CxlensInputError, match="negative"):
        ParetoNBDFitter().fit([1, -2], [1.0, 3.0], [4.0, 10.0])
    with pytest.raises(CxlensInputError, match="same length"):
        BetaGeoFitter().fit([1, 2], [1.0], [4.0, 10.0])
    with pytest.raises(CxlensInputError, match="repeat purchases"):
        BetaGeoFitter().fit([0, 0], [0.0, 0.0], [4.0, 10.0])
    with pytest.raises(CxlensInputError, match="not fitted"):
        BetaGeoFitter().conditional_probability_alive(1, 1, 2)
    with pytest.raises(CxlensInputError, match="exactly the keys"):
        GammaGammaFitter.from_params({"p": 1, "q": 2, "gamma": 3})
    with pytest.raises(CxlensInputError, match="initial_params"):
        BetaGeoFitter().fit([1, 2], [1.0, 3.0], [4.0, 10.0], initial_params=[1, 1])


# --- Gamma-Gamma and CLV --------------------------------------------------------------------------

GG = GammaGammaFitter.from_params({"p": 6.25, "q": 3.74, "v": 15.44})


def test_gamma_gamma_shrinks_towards_population_mean() -> None:
    pop = GG.conditional_expected_average_profit()
    assert pop == pytest.approx(6.25 * 15.44 / 2.74)
    x = np.array([1.0, 2, 5, 20, 100])
    for z in (5.0, 200.0):
        e = GG.conditional_expected_average_profit(x, np.full(5, z))
        assert np.all((np.minimum(pop, z) < e) & (e < np.maximum(pop, z)))
        assert np.all(np.diff(np.abs(e - z)) < 0)  # more purchases -> closer to the customer's own mean
    assert float(GG.conditional_expected_average_profit(0, 0.0)) == pytest.approx(pop)
    assert GG.params_paper_ == {"p": 6.25, "q": 3.74, "gamma": 15.44}


def test_gamma_gamma_input_errors() -> None:
    with pytest.raises(CxlensInputError, match="repeat customers only"):
        GammaGammaFitter().fit([0, 1], [0.0, 10.0])
    with pytest.raises(CxlensInputError, match="> 0"):
        GammaGammaFitter().fit([1, 1], [0.0, 10.0])


@pytest.mark.parametrize(
    "tm", [BetaGeoFitter.from_params(BG_SETS[0]), ParetoNBDFitter.from_params(PNBD_SETS[0])]
)
def test_clv_identities(tm) -> None:
    x, tx, T = np.array([0.0, 2, 7]), np.array([0.0, 30.43, 35.0]), np.array([38.86] * 3)
    spend = GG.conditional_expected_average_profit(x, np.array([0.0, 22.35, 40.0]))
    undiscounted = customer_lifetime_value(tm, x, tx, T, spend, time=12, discount_rate=0.0, margin=0.3)
    direct = 0.3 * spend * tm.conditional_expected_number_of_purchases_up_to_time(12 * 4.345, x, tx, T)
    np.testing.assert_allclose(undiscounted, direct, rtol=1e-12)
    assert np.all(customer_lifetime_value(tm, x, tx, T, spend, time=0) == 0)
    lo = customer_lifetime_value(tm, x, tx, T, spend, discount_rate=0.05)
    hi = customer_lifetime_value(tm, x, tx, T, spend, discount_rate=0.01)
    assert np.all(lo < hi)
    via_gg = GG.customer_lifetime_value(tm, x, tx, T, np.array([0.0, 22.35, 40.0]), margin=0.3)
    np.testing.assert_allclose(via_gg, 0.3 * hi, rtol=1e-12)


# --- BG/BB ----------------------------------------------------------------------------------------

BGBB = BetaGeoBetaBinomFitter.from_params({"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})


@pytest.mark.parametrize("n", [1, 6, 20])
def test_bgbb_pmf_sums_to_one_and_matches_mean(n) -> None:
    x = np.arange(n + 1)
    pmf = BGBB.probability_of_n_purchases_up_to_time(n, x)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(np.dot(x, pmf)) == pytest.approx(
        float(BGBB.expected_number_of_purchases_up_to_time(n)), rel=1e-10
    )


def test_bgbb_predictions_are_coherent() -> None:
    n = 6
    hist = [(x, tx) for tx in range(n + 1) for x in range(tx + 1) if (x == 0) == (tx == 0)]
    x = np.array([h[0] for h in hist], dtype=float)
    tx = np.array([h[1] for h in hist], dtype=float)
    p1 = BGBB.conditional_probability_alive(x, tx, n)
    p5 = BGBB.conditional_probability_alive(x, tx, n, m_periods_in_future=5)
    assert np.all((p1 > 0) & (p1 <= 1)) and np.all(p5 < p1)
    e = BGBB.conditional_expected_number_of_purchases_up_to_time(np.arange(0, 11)[:, None], x, tx, n)
    assert np.all(e[0] == 0) and np.all(np.diff(e, axis=0) > 0)
    with pytest.raises(CxlensInputError, match="cannot exceed recency"):
        BetaGeoBetaBinomFitter().fit([3], [2], [6])
