"""SUS, SEQ, UMUX-Lite / UX-Lite: scoring, labels, error messages, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as st

from cxlens.stats import parse_likert, seq, sus, sus_scores, umux_lite, ux_lite

FAST = settings(max_examples=50, deadline=None, database=None, derandomize=True)
ITEMS = [f"Q{i}" for i in range(1, 11)]


def test_sus_scoring_rule() -> None:
    """Brooke (1996): odd items r - 1, even items 5 - r, sum x 2.5; subscales after Lewis & Sauro (2009):
    Usability items 1-3, 5-9 (x 3.125), Learnability items 4 and 10 (x 12.5)."""
    best = [5, 1] * 5
    worst = [1, 5] * 5
    neutral = [3] * 10
    mixed = [4, 1, 5, 2, 5, 1, 4, 2, 3, 1]  # contributions 3,4,4,3,4,4,3,3,2,4 = 34
    s = sus_scores([best, worst, neutral, mixed])
    assert s["sus"].tolist() == [100.0, 0.0, 50.0, 85.0]
    assert s["usability"].tolist() == [100.0, 0.0, 50.0, (3 + 4 + 4 + 4 + 4 + 3 + 3 + 2) * 3.125]
    assert s["learnability"].tolist() == [100.0, 0.0, 50.0, (3 + 4) * 12.5]


def test_sus_text_labels_any_case_and_spacing() -> None:
    labels = ["Strongly agree", " strongly  DISAGREE", "Agree", "disagree", "Somewhat agree",
              "Somewhat-disagree", "Neither agree nor disagree", "Strongly Disagree", "4", 1]  # fmt: skip
    numbers = [5, 1, 4, 2, 4, 2, 3, 1, 4, 1]
    assert sus_scores([labels])["sus"].iloc[0] == sus_scores([numbers])["sus"].iloc[0]
    assert parse_likert([labels]).iloc[0].tolist() == numbers


def test_sus_errors_name_row_and_column() -> None:
    df = pd.DataFrame([[3] * 10, [3] * 10], index=["p1", "p2"], columns=ITEMS)
    bad_label = df.astype(object)
    bad_label.loc["p2", "Q3"] = "Totally agree"
    with pytest.raises(ValueError, match=r"row 'p2', column 'Q3': unknown answer 'Totally agree'"):
        sus(bad_label)
    out_of_range = df.copy()
    out_of_range.loc["p1", "Q7"] = 6
    with pytest.raises(ValueError, match=r"row 'p1', column 'Q7'.*outside the 1-5 scale"):
        sus(out_of_range)
    with pytest.raises(ValueError, match=r"row 1, column 'item 4'.*outside"):
        sus([[3] * 10, [3, 3, 3, 0, 3, 3, 3, 3, 3, 3]])
    with pytest.raises(ValueError, match="needs 10 item columns"):
        sus([[3] * 9])


def test_sus_missing_answers() -> None:
    df = pd.DataFrame([[3] * 10, [5, 1] * 5, [4] * 10], index=["a", "b", "c"], columns=ITEMS, dtype=float)
    df.loc["c", "Q10"] = np.nan
    with pytest.raises(ValueError, match=r"row 'c', column 'Q10': missing answer"):
        sus(df)
    r = sus(df, missing="drop")
    assert r.n == 2 and r.extra["dropped"] == 1 and any("dropped" in w for w in r.warnings)


def test_sus_result_details_and_benchmark() -> None:
    answers = [[4, 2, 4, 2, 4, 2, 4, 2, 4, 2], [5, 1, 5, 2, 5, 1, 4, 1, 5, 1], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]]
    scores = sus_scores(answers)["sus"].to_numpy()
    r = sus(answers, benchmark=68)
    assert r.metric == "sus" and r.estimate == pytest.approx(scores.mean())
    assert r.p_value == pytest.approx(st.ttest_1samp(scores, 68).pvalue)
    assert {"grade", "percentile", "median", "usability", "learnability", "grade_range"} <= set(r.extra)
    assert 0 <= r.ci_low <= r.ci_high <= 100


def test_seq_labels_and_benchmark() -> None:
    r = seq(["Very easy", 6, "5", 7, "very difficult", 6], benchmark=5.5)
    values = np.array([7, 6, 5, 7, 1, 6], dtype=float)
    assert r.metric == "seq" and r.estimate == pytest.approx(values.mean())
    assert r.p_value == pytest.approx(st.ttest_1samp(values, 5.5).pvalue)
    assert r.extra["reference_average"] == 5.5
    with pytest.raises(ValueError, match="outside the 1-7 scale"):
        seq([8])


def test_umux_lite_and_ux_lite_scoring() -> None:
    """UMUX-Lite (i1 + i2 - 2) x 100/12 (Lewis, Utesch & Maher 2013); UX-Lite with 5-point items x 100/8."""
    r = umux_lite([[7, 7], [1, 1], [4, 4], ["Strongly agree", "Agree"]])
    assert r.metric == "umux_lite"
    assert r.estimate == pytest.approx(np.mean([100, 0, 50, 11 * 100 / 12]))
    u = ux_lite([[5, 5], [3, 3], [1, None]])
    assert u.metric == "ux_lite" and u.n == 2 and u.estimate == pytest.approx(75.0)
    adj = umux_lite([[7, 7], [4, 4]], sus_equivalent=True)
    assert adj.estimate == pytest.approx(0.65 * 75 + 22.9) and any("regression" in w for w in adj.warnings)
    with pytest.raises(ValueError, match=r"5 .*or 7"):
        umux_lite([[1, 1]], points=6)


@FAST
@given(hst.lists(hst.lists(hst.integers(1, 5), min_size=10, max_size=10), min_size=1, max_size=30))
def test_sus_properties(rows: list[list[int]]) -> None:
    s = sus_scores(rows)
    assert ((s >= 0) & (s <= 100)).all().all()
    assert (s["sus"] % 2.5 == 0).all()
    r = sus(rows)
    assert r.n == len(rows)
    if r.n >= 2:
        assert 0 <= r.ci_low <= r.estimate <= r.ci_high <= 100
