"""Holm and Benjamini-Hochberg corrections."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from statsmodels.stats.multitest import multipletests

from cxlens.stats import NpsCounts, StatResult, adjust_pvalues, adjust_results, nps, nps_difference

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)
FEW = settings(max_examples=15, deadline=None, database=None, derandomize=True)
P = [0.01, 0.04, 0.03, 0.005]


def test_holm_by_hand() -> None:
    """Holm: sorted p x (m - rank + 1), running maximum: .005x4=.02, .01x3=.03, .03x2=.06, max(.04x1, .06)."""
    assert adjust_pvalues(P, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_benjamini_hochberg_by_hand() -> None:
    """BH: sorted p x m / rank, running minimum from the top: .02, .02, .04, .04."""
    assert adjust_pvalues(P, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_pvalues(P, "fdr_bh") == pytest.approx(adjust_pvalues(P, "benjamini-hochberg"))


def test_nan_is_left_out_of_the_family() -> None:
    out = adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(out[1]) and out[[0, 2]] == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_pvalues(P, "bonferonni")
    with pytest.raises(ValueError):
        adjust_pvalues([1.2])


def test_adjust_results_keeps_estimates_and_records_raw() -> None:
    segments = [NpsCounts(60, 20, 20), NpsCounts(40, 30, 30), NpsCounts(45, 25, 30)]
    base = NpsCounts(50, 25, 25)
    raw = [nps_difference(s, base) for s in segments]
    plain = nps(base)  # no p-value: passed through
    adjusted = adjust_results([*raw, plain], "holm")
    assert adjusted[-1] is plain
    for r, a in zip(raw, adjusted, strict=False):
        assert isinstance(a, StatResult)
        assert a.estimate == r.estimate and a.ci == r.ci
        assert a.extra["p_value_raw"] == r.p_value and a.extra["family_size"] == 3
        assert a.p_value >= r.p_value and a.extra["p_adjust"] == "Holm"


@FAST
@given(hst.lists(hst.floats(0, 1), min_size=1, max_size=30))
def test_adjusted_at_least_raw_and_holm_at_least_bh(p: list[float]) -> None:
    holm, bh = adjust_pvalues(p, "holm"), adjust_pvalues(p, "bh")
    raw = np.asarray(p)
    assert (holm >= raw - 1e-12).all() and (bh >= raw - 1e-12).all()
    assert (holm >= bh - 1e-12).all() and (holm <= 1).all()


@FEW  # statsmodels' holm runs gc.collect() per call (~50 ms)
@given(hst.lists(hst.floats(0, 1), min_size=1, max_size=30))
def test_holm_equals_statsmodels(p: list[float]) -> None:
    assert adjust_pvalues(p, "holm") == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)
