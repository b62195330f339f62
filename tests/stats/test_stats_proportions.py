"""Proportions: agreement with statsmodels and scipy, a bootstrap check, two-proportion tests, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from cxlens.stats import (
    PairedProportionStat,
    ProportionStat,
    RatingCounts,
    best_point_estimate,
    csat,
    mcnemar_exact,
    proportion_ci,
    two_proportion_test,
)

FAST = settings(max_examples=80, deadline=None, database=None, derandomize=True)
GRID = [(n, x) for n in (1, 2, 3, 5, 8, 13, 20, 40, 150) for x in sorted({0, 1, n // 3, n // 2, n - 1, n})]


@pytest.mark.parametrize(("n", "x"), GRID)
@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_adjusted_wald_equals_statsmodels_agresti_coull(n: int, x: int, confidence: float) -> None:
    r = proportion_ci(ProportionStat(n, x), confidence, "adjusted-wald")
    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="agresti_coull")
    assert r.ci == pytest.approx((lo, hi), abs=1e-12)


@pytest.mark.parametrize(("n", "x"), GRID)
@pytest.mark.parametrize(("method", "scipy_method"), [("wilson", "wilson"), ("exact", "exact")])
def test_wilson_and_exact_equal_scipy(n: int, x: int, method: str, scipy_method: str) -> None:
    r = proportion_ci(ProportionStat(n, x), 0.95, method)
    ci = st.binomtest(x, n).proportion_ci(0.95, method=scipy_method)
    assert r.ci == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize(("n", "x"), [(40, 12), (300, 90), (1000, 50)])
def test_intervals_agree_with_bootstrap_of_raw_data(n: int, x: int) -> None:
    """Percentile bootstrap (10,000 resamples of the raw 0/1 data, seeded) agrees with the score-type
    intervals to within 0.015 at n = 40 and 0.006 from n = 300 (Monte Carlo error < 0.003)."""
    rng = np.random.default_rng(20240501)
    raw = np.r_[np.ones(x), np.zeros(n - x)]
    boot = rng.choice(raw, size=(10_000, n), replace=True).mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    tol = 0.015 if n < 100 else 0.006
    for method in ("adjusted-wald", "wilson"):
        r = proportion_ci(raw, 0.95, method)
        assert r.ci_low == pytest.approx(lo, abs=tol)
        assert r.ci_high == pytest.approx(hi, abs=tol)


def test_z_overrides_confidence_and_method_aliases() -> None:
    a = proportion_ci(ProportionStat(20, 11), method="agresti-coull", z=1.64)
    b = proportion_ci(ProportionStat(20, 11), method="adjusted-wald", z=1.64)
    assert a == b and a.extra["z"] == 1.64
    with pytest.raises(ValueError, match="unknown proportion method"):
        proportion_ci(ProportionStat(2, 1), method="bayes")
    with pytest.raises(ValueError, match="confidence"):
        proportion_ci(ProportionStat(2, 1), confidence=95)


def test_wald_warns_and_empty_is_undefined() -> None:
    r = proportion_ci(ProportionStat(10, 9), method="wald")
    assert any("adjusted-Wald is recommended" in w for w in r.warnings)
    assert r.ci_high == 1.0 and r.extra["clipped"]
    empty = proportion_ci(ProportionStat(0, 0))
    assert np.isnan(empty.estimate) and empty.n == 0 and empty.warnings


def test_best_point_estimate_rule() -> None:
    """Lewis & Sauro (2006), "When 100% really isn't 100%" (anchors.md §2): Laplace without a prior
    expectation; with rates expected in .5-1: Wilson below .5, Laplace above .9, MLE otherwise."""
    assert best_point_estimate(ProportionStat(5, 5)) == pytest.approx(6 / 7)
    assert best_point_estimate(ProportionStat(5, 3)) == pytest.approx(4 / 7)
    z2 = st.norm.ppf(0.975) ** 2
    assert best_point_estimate(ProportionStat(5, 1), expected_high=True) == pytest.approx(
        (1 + z2 / 2) / (5 + z2)
    )
    assert best_point_estimate(ProportionStat(5, 3), expected_high=True) == pytest.approx(0.6)
    assert best_point_estimate(ProportionStat(10, 10), expected_high=True) == pytest.approx(11 / 12)
    r = proportion_ci(ProportionStat(10, 10), point="best")
    assert r.extra["point_rule"] == "Laplace" and r.estimate == pytest.approx(11 / 12)


def test_csat_top_two_box() -> None:
    r = csat([5, 4, 3, 2, 1, 5, 4, 4])
    assert r.metric == "csat" and r.n == 8 and r.estimate == pytest.approx(5 / 8)
    assert r.extra["scale"] == 5 and r.extra["top_box"] == 2
    assert csat([7, 6, 1], scale=7, top=2).estimate == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="1-5"):
        csat([7, 6, 1])
    with pytest.raises(ValueError, match="1-5"):
        csat(RatingCounts.from_values([1, 7], 1, 7))
    counts = RatingCounts.from_values([5, 4, 3, 2, 1, 5, 4, 4], 1, 5)
    assert csat(counts) == r


@pytest.mark.parametrize(("xa", "na", "xb", "nb"), [(11, 12, 5, 10), (20, 20, 4, 20), (40, 100, 55, 120)])
def test_n_minus_1_test_equals_scaled_pearson_chi_square(xa: int, na: int, xb: int, nb: int) -> None:
    """N-1 chi-square = Pearson chi-square x (N - 1)/N (Campbell 2007); Pearson's from scipy."""
    r = two_proportion_test(ProportionStat(na, xa), ProportionStat(nb, xb))
    table = [[xa, na - xa], [xb, nb - xb]]
    chi2 = st.chi2_contingency(table, correction=False)[0]
    big_n = na + nb
    assert r.p_value == pytest.approx(st.chi2.sf(chi2 * (big_n - 1) / big_n, 1), rel=1e-9)
    assert r.estimate == pytest.approx(xa / na - xb / nb)
    assert r.ci_low <= r.estimate <= r.ci_high


def test_n_minus_1_small_expected_counts_fall_back_to_fisher() -> None:
    r = two_proportion_test(ProportionStat(2, 2), ProportionStat(3, 0))  # expected successes in a: 0.8
    assert "fisher_p_value" in r.extra and any("Fisher" in w for w in r.warnings)
    assert r.extra["fisher_p_value"] == pytest.approx(st.fisher_exact([[2, 0], [0, 3]]).pvalue)
    assert "fisher_p_value" not in two_proportion_test(ProportionStat(3, 3), ProportionStat(3, 0)).extra
    with pytest.raises(ValueError):
        two_proportion_test(ProportionStat(0, 0), ProportionStat(3, 1))


@pytest.mark.parametrize("cells", [(10, 7, 1, 2), (5, 0, 0, 5), (3, 12, 4, 1), (0, 1, 0, 0)])
def test_mcnemar_exact_equals_statsmodels(cells: tuple[int, int, int, int]) -> None:
    both, first_only, second_only, neither = cells
    r = mcnemar_exact(PairedProportionStat(*cells))
    table = [[both, first_only], [second_only, neither]]
    assert r.p_value == pytest.approx(sm_mcnemar(table, exact=True).pvalue, rel=1e-9)
    assert r.estimate == pytest.approx((first_only - second_only) / sum(cells))
    assert -1 <= r.ci_low <= r.estimate <= r.ci_high <= 1


def test_mcnemar_from_paired_arrays() -> None:
    r = mcnemar_exact(([1, 1, 1, 0, 1, 1], [1, 0, 0, 0, 0, 1]))
    assert r.extra["first_only"] == 3 and r.extra["second_only"] == 0
    assert r.p_value == pytest.approx(0.25)


proportions = hst.integers(1, 200).flatmap(lambda n: hst.tuples(hst.just(n), hst.integers(0, n)))


@FAST
@given(
    proportions,
    hst.sampled_from(["adjusted-wald", "wilson", "exact"]),
    hst.sampled_from(["mle", "adjusted"]),
    hst.floats(0.5, 0.999),
)
def test_interval_contains_estimate(nx: tuple[int, int], method: str, point: str, conf: float) -> None:
    n, x = nx
    r = proportion_ci(ProportionStat(n, x), conf, method, point=point)
    assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0


@FAST
@given(
    proportions,
    hst.sampled_from(["adjusted-wald", "wilson", "exact"]),
    hst.sampled_from(["laplace", "best"]),
    hst.floats(0.9, 0.999),
)
def test_shrunk_point_estimates_inside_conventional_intervals(
    nx: tuple[int, int], method: str, point: str, conf: float
) -> None:
    """Laplace and the best-estimate rule shrink as much as a 95% interval does (the Wilson rule uses
    z = 1.96 whatever the interval), so they are inside intervals of 90% and more; a 50% interval can
    exclude them, which is why the property is stated from 90% on."""
    n, x = nx
    r = proportion_ci(ProportionStat(n, x), conf, method, point=point)
    assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0


@FAST
@given(proportions)
def test_wald_contains_mle_and_intervals_nest(nx: tuple[int, int]) -> None:
    n, x = nx
    stat = ProportionStat(n, x)
    wald = proportion_ci(stat, method="wald")
    assert wald.ci_low <= wald.estimate <= wald.ci_high
    narrow, wide = proportion_ci(stat, 0.90), proportion_ci(stat, 0.99)
    assert wide.ci_low <= narrow.ci_low <= narrow.ci_high <= wide.ci_high


@FAST
@given(proportions, proportions)
def test_two_proportion_interval_contains_difference(a: tuple[int, int], b: tuple[int, int]) -> None:
    r = two_proportion_test(ProportionStat(*a), ProportionStat(*b))
    assert -1.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0
    assert 0.0 <= r.p_value <= 1.0
    flipped = two_proportion_test(ProportionStat(*b), ProportionStat(*a))
    assert flipped.p_value == pytest.approx(r.p_value)
    assert flipped.ci == pytest.approx((-r.ci_high, -r.ci_low))
