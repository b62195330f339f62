"""Task metrics: completion rate, task time (geometric mean / median), errors per attempt."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st

from cxlens.stats import (
    LogMeanStat,
    MeanStat,
    ProportionStat,
    completion_rate,
    errors_per_attempt,
    geometric_mean_ci,
    median_ci,
    task_time,
)

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)
times = hst.lists(hst.floats(1.0, 3600.0), min_size=2, max_size=60)


def test_completion_rate_is_adjusted_wald() -> None:
    r = completion_rate(ProportionStat(5, 4))
    assert r.metric == "completion_rate" and r.method.startswith("adjusted-Wald")
    assert completion_rate([1, 1, 0, 1, 1]).to_dict() == r.to_dict()


def test_geometric_mean_from_log_stat_equals_from_times() -> None:
    t = [55, 65, 75, 62, 45, 135]
    a = geometric_mean_ci(t)
    b = geometric_mean_ci(LogMeanStat.merge([LogMeanStat.from_values(t[:2]), LogMeanStat.from_values(t[2:])]))
    assert a.estimate == pytest.approx(b.estimate) and a.ci == pytest.approx(b.ci)
    assert a.estimate == pytest.approx(st.gmean(t))


def test_median_ci_order_statistics_n25() -> None:
    """Distribution-free interval for the median, n = 25 at 95%: the 8th and 18th order statistics with
    coverage 1 - 2·P(Binomial(25, 1/2) <= 7) = 0.957 (the standard binomial table)."""
    r = median_ci(np.arange(1, 26))
    assert r.estimate == 13 and r.ci == (8, 18)
    assert r.extra["ranks"] == (8, 18)
    assert r.extra["coverage"] == pytest.approx(1 - 2 * st.binom.cdf(7, 25, 0.5))


def test_median_ci_too_small() -> None:
    r = median_ci([3, 1, 2, 5, 4])
    assert r.ci == (1, 5) and r.extra["coverage"] < 0.95 and "too small" in r.warnings[0]


@pytest.mark.parametrize("n", [6, 10, 25, 51, 200])
def test_median_ci_coverage_is_at_least_nominal(n: int) -> None:
    r = median_ci(np.random.default_rng(n).lognormal(4, 1, n))
    assert r.extra["coverage"] >= 0.95
    k = r.extra["ranks"][0]
    assert 1 - 2 * st.binom.cdf(k, n, 0.5) < 0.95  # one rank narrower would fall short


def test_task_time_switches_at_25() -> None:
    rng = np.random.default_rng(5)
    assert task_time(rng.lognormal(4, 0.5, 24)).method.startswith("geometric mean")
    r25 = task_time(rng.lognormal(4, 0.5, 25))
    assert r25.method.startswith("median") and r25.metric == "task_time"
    forced = task_time(rng.lognormal(4, 0.5, 40), method="geometric")
    assert any("median is the recommended" in w for w in forced.warnings)
    forced_median = task_time([10, 20, 30, 40, 50, 60], method="median")
    assert any("geometric mean" in w for w in forced_median.warnings)
    with pytest.raises(ValueError, match="positive"):
        task_time([10, 0, 5])
    with pytest.raises(ValueError, match="unknown task-time method"):
        task_time([10, 20], method="mean")


def test_errors_per_attempt() -> None:
    errors = [0, 2, 1, 0, 0, 3, 1, 0, 0, 1]
    t = errors_per_attempt(errors)
    assert t.estimate == pytest.approx(0.8) and t.ci_low >= 0 and t.extra["errors"] == 8
    p = errors_per_attempt(MeanStat.from_values(errors), method="poisson")
    # exact (Garwood) Poisson interval: chi-square quantiles with 2E and 2E + 2 degrees of freedom
    assert p.ci == pytest.approx((st.chi2.ppf(0.025, 16) / 2 / 10, st.chi2.ppf(0.975, 18) / 2 / 10))
    with pytest.raises(ValueError, match="negative"):
        errors_per_attempt([-1, 2])


@FAST
@given(times, hst.floats(0.8, 0.99))
def test_time_intervals_contain_estimate(t: list[float], conf: float) -> None:
    g = geometric_mean_ci(t, conf)
    assert g.ci_low <= g.estimate * (1 + 1e-9) and g.estimate <= g.ci_high * (1 + 1e-9)
    m = median_ci(t, conf)
    assert m.ci_low <= m.estimate <= m.ci_high
