"""RFM quintile scores and the segment rule table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import CxlensInputError
from cxlens.lifetime import RFM_SEGMENT_RULES, quintile_scores, rfm_scores, rfm_segment


def test_rule_table_covers_each_cell_once() -> None:
    cells: dict[tuple[int, int], str] = {}
    for name, rs, fs, description in RFM_SEGMENT_RULES:
        assert description
        for r in rs:
            for f in fs:
                assert (r, f) not in cells, f"{(r, f)} in {cells.get((r, f))} and {name}"
                cells[(r, f)] = name
    assert set(cells) == {(r, f) for r in range(1, 6) for f in range(1, 6)}
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    assert all(isinstance(s, str) for s in rfm_segment(r.ravel(), f.ravel()))
    assert rfm_segment([5], [5])[0] == "champions" and rfm_segment([1], [1])[0] == "lost"
    with pytest.raises(CxlensInputError):
        rfm_segment([0], [3])


def test_quintiles_distinct_values_split_evenly() -> None:
    s = quintile_scores(np.arange(100.0))
    assert np.bincount(s)[1:].tolist() == [20, 20, 20, 20, 20]
    assert s[0] == 1 and s[-1] == 5
    assert quintile_scores(np.arange(100.0), higher_is_better=False)[0] == 5


def test_quintiles_ties_share_a_score_and_order_does_not_matter() -> None:
    v = np.array([1.0] * 60 + [2.0] * 20 + [3.0] * 20)
    s = quintile_scores(v)
    assert set(s[:60]) == {1} and set(s[60:80]) == {4} and set(s[80:]) == {5}  # 60 % beaten -> score 4
    rng = np.random.default_rng(0)
    perm = rng.permutation(100)
    np.testing.assert_array_equal(quintile_scores(v[perm]), s[perm])


def test_rfm_scores_end_to_end() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    cust = rng.integers(0, 300, n)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    amt = rng.gamma(2.0, 20.0, n)
    out = rfm_scores(cust, ts, amt, as_of="2024-12-31")
    assert len(out) == len(np.unique(cust))
    assert out[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # recency score falls as days since the last purchase grow
    assert out.groupby("r_score")["recency_days"].max().is_monotonic_decreasing
    assert out.groupby("f_score")["frequency"].min().is_monotonic_increasing
    assert (
        out["rfm"] == out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    ).all()
    hand = pd.DataFrame({"c": cust, "a": amt}).groupby("c")["a"].sum()
    np.testing.assert_allclose(out["monetary"].to_numpy(), hand.to_numpy())
    mean = rfm_scores(cust, ts, amt, monetary="mean")
    np.testing.assert_allclose(mean["monetary"], out["monetary"] / out["frequency"])
    with pytest.raises(CxlensInputError, match="monetary"):
        rfm_scores(cust, ts, amt, monetary="median")
