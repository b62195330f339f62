"""Sample sizes for a target margin, and problem discovery."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st

from cxlens.stats import (
    NpsCounts,
    ProportionStat,
    nps,
    problem_discovery,
    proportion_ci,
    sample_size_discovery,
    sample_size_mean,
    sample_size_nps,
    sample_size_proportion,
)

FAST = settings(max_examples=40, deadline=None, database=None, derandomize=True)


def test_problem_discovery() -> None:
    """1 - (1 - p)^n (Virzi 1992; anchors.md §2): a problem affecting 31% of users is seen by at least one
    of 5 users with probability 0.84 (Nielsen & Landauer's "about 85%")."""
    assert problem_discovery(0.31, 5) == pytest.approx(1 - 0.69**5)
    assert round(problem_discovery(0.31, 5), 2) == 0.84
    assert problem_discovery(0.5, 0) == 0.0
    assert sample_size_discovery(0.31, 0.84) == 5
    assert sample_size_discovery(0.31, 0.85) == 6
    assert sample_size_discovery(0.1, 0.9) == 22  # ln(0.1)/ln(0.9) = 21.85
    with pytest.raises(ValueError):
        sample_size_discovery(0.0, 0.9)


def test_sample_size_proportion_margin_10_points() -> None:
    """±10 points at 95%, p = .5: Wald needs z²/4/0.01 = 96.04 -> 97; adjusted-Wald subtracts z² -> 93."""
    assert sample_size_proportion(0.10, method="wald") == 97
    n = sample_size_proportion(0.10)
    assert n == 93
    half = lambda k: (lambda r: (r.ci_high - r.ci_low) / 2)(proportion_ci(ProportionStat(2 * k, k)))  # noqa: E731
    # with p' = 0.5 exactly (even n) the adjusted-Wald half-width is z·sqrt(0.25/(n + z²))
    z = st.norm.ppf(0.975)
    assert z * math.sqrt(0.25 / (n + z * z)) <= 0.10 < z * math.sqrt(0.25 / (n - 1 + z * z))
    assert half(47) <= 0.10  # 94 >= 93 respondents reach the target


def _nps_half_width(n: int, p: float, d: float) -> float:
    """MeasuringU adjusted-Wald half-width at the expected shares (n' = n + 3, 3/4 added to P and D)."""
    pa, da = (p * n + 0.75) / (n + 3), (d * n + 0.75) / (n + 3)
    return 100 * st.norm.ppf(0.975) * math.sqrt((pa + da - (pa - da) ** 2) / (n + 3))


@pytest.mark.parametrize(("p", "d"), [(0.5, 0.5), (0.4, 0.2), (0.7, 0.05), (0.0, 0.0)])
def test_sample_size_nps_is_the_smallest_n_reaching_the_margin(p: float, d: float) -> None:
    n = sample_size_nps(10, promoters=p, detractors=d)
    assert _nps_half_width(n, p, d) <= 10
    assert n == 1 or _nps_half_width(n - 1, p, d) > 10
    # the closed form z²Var/m² - 3 ignores that the 3/4 adjustments change Var; for extreme shares
    # (e.g. all passives, where it gives a negative n) the search is what makes the answer usable


def test_sample_size_nps_matches_nps_interval() -> None:
    n = sample_size_nps(10)  # conservative default shares 0.5 / 0.5
    assert n == 380  # z²/0.01 - 3 = 381.1, but the 3/4 adjustments lower the variance slightly
    r = nps(NpsCounts(n // 2, 0, n // 2))
    assert (r.ci_high - r.ci_low) / 2 <= 10
    r_less = nps(NpsCounts(189, 0, 189))
    assert (r_less.ci_high - r_less.ci_low) / 2 > 10
    assert sample_size_nps(10, promoters=0.4, detractors=0.2) < n
    with pytest.raises(ValueError):
        sample_size_nps(10, promoters=0.7, detractors=0.6)


@pytest.mark.parametrize("p", [0.02, 0.1, 0.3, 0.5, 0.9])
def test_sample_size_proportion_is_the_smallest_n(p: float) -> None:
    z = st.norm.ppf(0.975)

    def half(n: int) -> float:
        pa = (p * n + z * z / 2) / (n + z * z)
        return z * math.sqrt(pa * (1 - pa) / (n + z * z))

    n = sample_size_proportion(0.05, p)
    assert half(n) <= 0.05 and (n == 1 or half(n - 1) > 0.05)


@FAST
@given(hst.floats(0.1, 50), hst.floats(0.05, 20), hst.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_sample_size_mean_is_minimal(sd: float, margin: float, conf: float) -> None:
    n = sample_size_mean(sd, margin, conf)
    t = lambda k: st.t.ppf(0.5 + conf / 2, k - 1) * sd / math.sqrt(k)  # noqa: E731
    assert t(n) <= margin * (1 + 1e-12)
    if n > 2:
        assert t(n - 1) > margin
