"""NPS: the adjusted-Wald formula step by step, bootstrap agreement, comparisons, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st

from cxlens.stats import NpsCounts, RatingCounts, nps, nps_difference

FAST = settings(max_examples=100, deadline=None, database=None, derandomize=True)
counts = hst.builds(NpsCounts, hst.integers(0, 300), hst.integers(0, 300), hst.integers(0, 300)).filter(
    lambda c: c.n > 0
)


def test_adjusted_wald_steps() -> None:
    """MeasuringU (measuringu.com/nps-confidence-intervals/, after Rocks 2016): n' = n + 3,
    p' = (P + 3/4)/n', d' = (D + 3/4)/n', Var = p' + d' - (p' - d')², interval (p' - d') ± z·sqrt(Var/n')."""
    r = nps(NpsCounts(promoters=30, passives=20, detractors=10), 0.90)
    n_adj = 63
    p, d = 30.75 / n_adj, 10.75 / n_adj
    se = math.sqrt((p + d - (p - d) ** 2) / n_adj)
    z = st.norm.ppf(0.95)
    assert r.estimate == pytest.approx(100 * 20 / 60)
    assert r.ci == pytest.approx((100 * (p - d - z * se), 100 * (p - d + z * se)))
    assert r.extra["interval_centre"] == pytest.approx(100 * (p - d))
    assert r.metric == "nps" and r.confidence == 0.90


def test_nps_inputs_agree() -> None:
    scores = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5]
    a = nps(scores)
    b = nps(NpsCounts.from_scores(scores))
    c = nps(RatingCounts.from_values(scores, 0, 10))
    assert a == b == c
    assert a.estimate == pytest.approx(100 * (4 - 4) / 10)
    assert any("small sample" in w for w in a.warnings)


def test_wald_variance_is_the_trinomial_variance() -> None:
    """The unadjusted interval uses the variance of the -1/0/+1 scores (population form)."""
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 11, size=250)
    trinomial = np.select([scores >= 9, scores >= 7], [1, 0], -1)
    r = nps(scores, method="wald")
    assert r.estimate == pytest.approx(100 * trinomial.mean())
    assert r.extra["standard_error"] == pytest.approx(100 * trinomial.std(ddof=0) / math.sqrt(250))


@pytest.mark.parametrize(
    ("n", "shares", "tol"), [(400, (0.45, 0.30, 0.25), 0.5), (100, (0.3, 0.3, 0.4), 1.5)]
)
def test_interval_agrees_with_bootstrap(n: int, shares: tuple[float, float, float], tol: float) -> None:
    """Percentile bootstrap of the raw scores (10,000 resamples, seeded), MeasuringU's third method. The
    adjustment moves the centre by about NPS·3/(n + 3), ~0.2 points at n = 400 and ~0.5 at n = 100; the
    bootstrap's Monte Carlo error is ~0.1-0.3 points."""
    rng = np.random.default_rng(2016)
    c = NpsCounts(*(round(s * n) for s in shares))
    trinomial = np.r_[np.ones(c.promoters), np.zeros(c.passives), -np.ones(c.detractors)]
    boot = 100 * rng.choice(trinomial, size=(10_000, c.n), replace=True).mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    r = nps(c)
    assert r.ci_low == pytest.approx(lo, abs=tol)
    assert r.ci_high == pytest.approx(hi, abs=tol)


def test_difference_agrees_with_bootstrap_and_is_antisymmetric() -> None:
    rng = np.random.default_rng(2021)
    a, b = NpsCounts(180, 70, 50), NpsCounts(150, 70, 80)

    def trinomial(c: NpsCounts) -> np.ndarray:
        return np.r_[np.ones(c.promoters), np.zeros(c.passives), -np.ones(c.detractors)]

    ta, tb = trinomial(a), trinomial(b)
    boot = 100 * (
        rng.choice(ta, size=(10_000, a.n)).mean(axis=1) - rng.choice(tb, size=(10_000, b.n)).mean(axis=1)
    )
    lo, hi = np.quantile(boot, [0.025, 0.975])
    r = nps_difference(a, b)
    assert r.estimate == pytest.approx(a.nps - b.nps)
    assert r.ci_low == pytest.approx(lo, abs=1.0) and r.ci_high == pytest.approx(hi, abs=1.0)
    assert r.p_value == pytest.approx(2 * st.norm.sf(abs(r.extra["z"]))) and r.p_value < 0.01
    back = nps_difference(b, a)
    assert back.p_value == pytest.approx(r.p_value)
    assert back.ci == pytest.approx((-r.ci_high, -r.ci_low))
    same = nps_difference(a, a)
    assert same.estimate == 0 and same.p_value == pytest.approx(1.0)


def test_single_respondent_estimate_outside_interval_is_flagged() -> None:
    """With n = 1 the adjustment pulls the interval to [-48, 98] while the observed NPS is 100: the result
    says so instead of hiding it. The same happens for two groups each entirely in one band."""
    r = nps(NpsCounts(1, 0, 0))
    assert r.estimate == 100 and r.ci_high < 100
    assert any("outside the adjusted-Wald interval" in w for w in r.warnings)
    d = nps_difference(NpsCounts(50, 0, 0), NpsCounts(0, 0, 50))
    assert d.estimate == 200 and d.ci_high < 200
    assert any("outside" in w for w in d.warnings)


def test_bad_method_and_empty() -> None:
    with pytest.raises(ValueError, match="unknown NPS method"):
        nps(NpsCounts(1, 1, 1), method="bootstrap")
    empty = nps(NpsCounts(0, 0, 0))
    assert math.isnan(empty.estimate) and empty.n == 0
    with pytest.raises(ValueError):
        nps_difference(NpsCounts(0, 0, 0), NpsCounts(1, 0, 0))


@FAST
@given(counts, hst.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]), hst.sampled_from(["adjusted-wald", "wald"]))
def test_nps_bounds_and_containment(c: NpsCounts, conf: float, method: str) -> None:
    """NPS and its interval stay in [-100, 100]. The interval contains the observed NPS whenever
    n >= 2 at 95% or more (checked exhaustively for n <= 60) and always for Wald; otherwise (n = 1, or
    all answers in one band at low confidence) the result carries the "outside" warning."""
    r = nps(c, conf, method)
    assert -100.0 <= r.estimate <= 100.0
    assert -100.0 <= r.ci_low <= r.ci_high <= 100.0
    contained = r.ci_low <= r.estimate <= r.ci_high
    if method == "wald" or (c.n >= 2 and conf >= 0.95):
        assert contained
    assert contained or any("outside" in w for w in r.warnings)


@FAST
@given(counts, counts)
def test_nps_difference_bounds(a: NpsCounts, b: NpsCounts) -> None:
    r = nps_difference(a, b)
    assert -200.0 <= r.estimate <= 200.0
    assert -200.0 <= r.ci_low <= r.ci_high <= 200.0
    assert 0.0 <= r.p_value <= 1.0
    assert (r.ci_low <= r.estimate <= r.ci_high) or any("outside" in w for w in r.warnings)
