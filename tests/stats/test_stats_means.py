"""Means, Welch and paired t, CES: agreement with scipy/statsmodels, a bootstrap check, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cxlens.stats import MeanStat, RatingCounts, ces, mean_ci, paired_t, welch_t

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)
samples = hst.lists(hst.floats(-100, 100, allow_nan=False), min_size=2, max_size=50)


def test_mean_ci_equals_scipy_t_interval() -> None:
    x = np.array([4.2, 3.1, 5.0, 4.4, 3.9, 4.8, 2.7])
    r = mean_ci(x, 0.9)
    lo, hi = st.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert r.ci == pytest.approx((lo, hi))
    assert r.estimate == pytest.approx(x.mean()) and r.extra["sd"] == pytest.approx(x.std(ddof=1))
    assert any("small sample" in w for w in r.warnings)


def test_mean_ci_from_merged_sufficient_statistics() -> None:
    x = np.arange(1, 41, dtype=float) ** 1.5
    parts = [MeanStat.from_values(x[i : i + 7]) for i in range(0, 40, 7)]
    assert mean_ci(MeanStat.merge(parts)).ci == pytest.approx(mean_ci(x).ci)


def test_mean_ci_agrees_with_bootstrap() -> None:
    """Percentile bootstrap, 10,000 resamples (seeded), of 200 normal draws: within 0.01 of the t-interval
    (half-width ~0.14; t vs z and n vs n - 1 account for ~0.001, Monte Carlo error ~0.003)."""
    rng = np.random.default_rng(11)
    x = rng.normal(4.0, 1.0, size=200)
    boot = rng.choice(x, size=(10_000, x.size)).mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    r = mean_ci(x)
    assert r.ci_low == pytest.approx(lo, abs=0.01) and r.ci_high == pytest.approx(hi, abs=0.01)


def test_mean_ci_degenerate() -> None:
    r = mean_ci([3.0])
    assert r.estimate == 3.0 and np.isnan(r.ci_low) and "at least 2" in r.warnings[0]
    assert mean_ci([2.0, 2.0]).ci == (2.0, 2.0)


def test_welch_equals_scipy_and_statsmodels() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(5.5, 1.0, 14), rng.normal(4.9, 1.8, 23)
    r = welch_t(a, b, 0.95)
    ref = st.ttest_ind(a, b, equal_var=False)
    assert r.p_value == pytest.approx(ref.pvalue) and r.extra["t"] == pytest.approx(ref.statistic)
    cm = CompareMeans(DescrStatsW(a), DescrStatsW(b))
    assert r.ci == pytest.approx(cm.tconfint_diff(alpha=0.05, usevar="unequal"))
    assert r.estimate == pytest.approx(a.mean() - b.mean()) and r.n == 37
    flipped = welch_t(b, a)
    assert flipped.p_value == pytest.approx(r.p_value) and flipped.ci == pytest.approx(
        (-r.ci_high, -r.ci_low)
    )


def test_welch_refuses_mixed_scales_and_tiny_groups() -> None:
    with pytest.raises(ValueError, match="1-5 scale with a 1-7 scale"):
        welch_t(RatingCounts.from_values([1, 5], 1, 5), RatingCounts.from_values([1, 7], 1, 7))
    with pytest.raises(ValueError, match="at least 2"):
        welch_t([1.0], [1.0, 2.0])


def test_paired_t_equals_scipy_and_statsmodels() -> None:
    before = np.array([62.0, 75, 48, 90, 55, 70, 81, 66])
    after = np.array([70.0, 78, 50, 88, 65, 77, 85, 70])
    r = paired_t(after, before)
    ref = st.ttest_rel(after, before)
    assert r.p_value == pytest.approx(ref.pvalue) and r.extra["t"] == pytest.approx(ref.statistic)
    assert r.ci == pytest.approx(DescrStatsW(after - before).tconfint_mean(alpha=0.05))
    assert paired_t(MeanStat.from_values(after - before)).to_dict() == r.to_dict()
    with pytest.raises(ValueError, match="equal lengths"):
        paired_t([1, 2], [1, 2, 3])


def test_ces_scale_is_explicit_and_checked() -> None:
    r = ces([1, 2, 2, 3, 7, 6, 5], scale=7)
    assert r.metric == "ces" and r.extra["scale"] == 7 and 1 <= r.ci_low <= r.ci_high <= 7
    with pytest.raises(ValueError, match="1-5"):
        ces([1, 6], scale=5)
    with pytest.raises(ValueError, match="5 or 7"):
        ces([1, 2], scale=10)
    with pytest.raises(ValueError, match="1-7 but the counts are on 1-5"):
        ces(RatingCounts.from_values([1, 2], 1, 5), scale=7)
    with pytest.raises(ValueError, match="outside the 1-5 scale"):
        ces(MeanStat.from_values([1, 7]), scale=5)
    unchecked = ces(MeanStat(10, 30.0, 100.0), scale=5)
    assert any("cannot verify" in w for w in unchecked.warnings)
    suspicious = ces([1, 2, 3, 4, 5] * 4, scale=7)
    assert any("no answer above 5" in w for w in suspicious.warnings)


@FAST
@given(samples, hst.floats(0.5, 0.999))
def test_mean_interval_contains_mean(x: list[float], conf: float) -> None:
    r = mean_ci(x, conf)
    assert r.ci_low <= r.estimate + 1e-9 and r.estimate <= r.ci_high + 1e-9


@FAST
@given(samples, samples)
def test_welch_interval_contains_difference(a: list[float], b: list[float]) -> None:
    r = welch_t(a, b)
    assert r.ci_low <= r.estimate + 1e-9 and r.estimate <= r.ci_high + 1e-9
    assert np.isnan(r.p_value) or 0.0 <= r.p_value <= 1.0
