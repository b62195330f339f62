"""Sufficient statistics: validation, merging, and the properties the SQL path relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from cxlens.stats import (
    LogMeanStat,
    MeanStat,
    NpsCounts,
    PairedProportionStat,
    ProportionStat,
    RatingCounts,
    geometric_mean_ci,
    mean_ci,
    nps,
    proportion_ci,
)

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)
scores = hst.lists(hst.integers(0, 10), min_size=0, max_size=60)
bits = hst.lists(hst.booleans(), max_size=60)
floats = hst.lists(hst.floats(-1e3, 1e3, allow_nan=False), max_size=60)


def test_proportion_validation() -> None:
    with pytest.raises(ValueError, match="cannot exceed"):
        ProportionStat(3, 4)
    with pytest.raises(ValueError, match="non-negative"):
        ProportionStat(-1, 0)
    with pytest.raises(ValueError, match="0/1"):
        ProportionStat.from_values([0, 1, 2])
    assert ProportionStat.from_values([1, 0, None, float("nan"), True]) == ProportionStat(3, 2)
    assert math.isnan(ProportionStat(0, 0).p)


def test_nps_counts_from_scores_and_validation() -> None:
    c = NpsCounts.from_scores([0, 6, 7, 8, 9, 10, None, np.nan])
    assert c == NpsCounts(promoters=2, passives=2, detractors=2)
    assert c.n == 6 and c.nps == 0.0
    for bad in ([11], [-1], [7.5]):
        with pytest.raises(ValueError, match="0-10"):
            NpsCounts.from_scores(bad)


def test_rating_counts_scale_is_kept_and_checked() -> None:
    five = RatingCounts.from_values([1, 2, 5, 5, 4], 1, 5)
    seven = RatingCounts.from_values([7, 1], 1, 7)
    assert five.counts == (1, 1, 0, 1, 2)
    assert five.top_box(2) == ProportionStat(5, 3)
    assert five.bottom_box(1) == ProportionStat(5, 1)
    with pytest.raises(ValueError, match="cannot merge a 1-5 scale with a 1-7 scale"):
        five + seven
    with pytest.raises(ValueError, match="1-5"):
        RatingCounts.from_values([6], 1, 5)
    assert RatingCounts.from_mapping({5: 2, 1: 1}, 1, 5).counts == (1, 0, 0, 0, 2)
    ltr = RatingCounts.from_values(range(11), 0, 10)
    assert ltr.to_nps() == NpsCounts(2, 2, 7)
    with pytest.raises(ValueError, match="0-10"):
        five.to_nps()


def test_log_mean_stat_is_not_a_plain_mean() -> None:
    log = LogMeanStat.from_values([10, 100])
    assert log.geometric_mean == pytest.approx(math.sqrt(1000))
    with pytest.raises(TypeError):
        log + MeanStat.from_values([1.0])
    with pytest.raises(TypeError, match="LogMeanStat"):
        geometric_mean_ci(MeanStat.from_values([1.0, 2.0]))
    with pytest.raises(ValueError, match="positive"):
        LogMeanStat.from_values([0, 1])


def test_paired_from_values() -> None:
    p = PairedProportionStat.from_values([1, 1, 0, 0, 1, None], [1, 0, 1, 0, 0, 1])
    assert p == PairedProportionStat(both=1, first_only=2, second_only=1, neither=1)
    assert p.first == ProportionStat(5, 3) and p.second == ProportionStat(5, 2)


@FAST
@given(scores, scores)
def test_nps_merge_equals_concatenation(a: list[int], b: list[int]) -> None:
    assert NpsCounts.from_scores(a) + NpsCounts.from_scores(b) == NpsCounts.from_scores(a + b)
    merged = RatingCounts.from_values(a, 0, 10) + RatingCounts.from_values(b, 0, 10)
    assert merged.to_nps() == NpsCounts.from_scores(a + b)


@FAST
@given(bits, bits)
def test_proportion_merge_equals_concatenation(a: list[bool], b: list[bool]) -> None:
    assert ProportionStat.from_values(a) + ProportionStat.from_values(b) == ProportionStat.from_values(a + b)
    assert sum([ProportionStat.from_values(a), ProportionStat.from_values(b)]) == ProportionStat.from_values(
        a + b
    )


@FAST
@given(floats, floats)
def test_mean_merge_equals_concatenation(a: list[float], b: list[float]) -> None:
    merged = MeanStat.from_values(a) + MeanStat.from_values(b)
    whole = MeanStat.from_values(a + b)
    assert merged.n == whole.n
    assert merged.sum == pytest.approx(whole.sum, rel=1e-9, abs=1e-6)
    assert merged.sum_sq == pytest.approx(whole.sum_sq, rel=1e-9, abs=1e-6)
    assert (merged.minimum, merged.maximum) == (whole.minimum, whole.maximum)
    if whole.n >= 2:
        assert merged.variance == pytest.approx(whole.variance, rel=1e-6, abs=1e-6)


@FAST
@given(hst.lists(hst.integers(1, 7), min_size=1, max_size=60), hst.randoms(use_true_random=False))
def test_row_order_does_not_matter(values: list[int], rnd) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert RatingCounts.from_values(values, 1, 7) == RatingCounts.from_values(shuffled, 1, 7)
    a, b = mean_ci(values), mean_ci(shuffled)
    assert a.estimate == pytest.approx(b.estimate)
    if len(values) >= 2:
        assert a.ci == pytest.approx(b.ci)
    ltr = [v + 3 for v in values]  # 4..10
    assert nps(ltr).to_dict() == nps(sorted(ltr)).to_dict()
    wins = [v > 4 for v in values]
    assert proportion_ci(wins).to_dict() == proportion_ci(wins[::-1]).to_dict()


@FAST
@given(hst.lists(hst.integers(1, 5), max_size=40), hst.lists(hst.integers(1, 5), max_size=40))
def test_rating_counts_mean_stat_matches_raw(a: list[int], b: list[int]) -> None:
    rc = RatingCounts.from_values(a, 1, 5) + RatingCounts.from_values(b, 1, 5)
    direct = MeanStat.from_values(a + b)
    ms = rc.mean_stat()
    assert (ms.n, ms.sum, ms.sum_sq) == (direct.n, direct.sum, direct.sum_sq)
    assert (ms.minimum, ms.maximum) == (direct.minimum, direct.maximum)
