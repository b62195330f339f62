"""Retention, churn, repeat-purchase, cohort and revenue-retention helpers on hand-computed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import CxlensInputError
from cxlens.lifetime import (
    cohort_matrix,
    cohort_table,
    customer_retention,
    repeat_purchase_rate,
    revenue_retention,
)

# Monthly activity (amount):
#          Jan   Feb   Mar   Apr
#   a      10    20     .    30
#   b      10     .    5     .
#   c       .    40    40    40
#   d       .     .    10     .
ROWS = [
    ("a", "2024-01-05", 10.0), ("a", "2024-02-10", 20.0), ("a", "2024-04-01", 30.0),
    ("b", "2024-01-20", 6.0), ("b", "2024-01-20", 4.0), ("b", "2024-03-03", 5.0),
    ("c", "2024-02-01", 40.0), ("c", "2024-03-01", 40.0), ("c", "2024-04-30", 40.0),
    ("d", "2024-03-15", 10.0),
]  # fmt: skip
TX = pd.DataFrame(ROWS, columns=["customer", "time", "amount"])
TX["time"] = pd.to_datetime(TX["time"])


def test_customer_retention_formula_by_hand() -> None:
    r = customer_retention(TX["customer"], TX["time"], period="M")
    assert r["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert r["start_customers"].tolist() == [0, 2, 2, 3]
    assert r["end_customers"].tolist() == [2, 2, 3, 2]
    assert r["new_customers"].tolist() == [2, 1, 1, 0]
    assert r["retained"].tolist() == [0, 1, 1, 1]  # a (Feb), c (Mar), c (Apr)
    assert r["reactivated"].tolist() == [0, 0, 1, 1]  # b in Mar, a in Apr
    # (E - N) / S: Feb (2 - 1) / 2, Mar (3 - 1) / 2, Apr (2 - 0) / 3
    np.testing.assert_allclose(r["retention_rate"].to_numpy()[1:], [0.5, 1.0, 2 / 3])
    # churn = lost / S = (S - retained) / S: Feb (2 - 1) / 2, Mar (2 - 1) / 2, Apr (3 - 1) / 3
    np.testing.assert_allclose(r["churn_rate"].to_numpy()[1:], [0.5, 0.5, 2 / 3])
    assert (r["churn_rate"].to_numpy()[1:] >= 0).all()
    np.testing.assert_allclose(r["strict_retention_rate"].to_numpy()[1:], [0.5, 0.5, 1 / 3])
    assert np.isnan(r["retention_rate"].iloc[0])


def test_active_window_counts_recent_buyers_as_active() -> None:
    r = customer_retention(TX["customer"], TX["time"], period="M", active_window=2)
    # active at end of month = bought this month or last: Jan {a,b}, Feb {a,b,c}, Mar {a,b,c,d}, Apr {a,b,c,d}
    assert r["end_customers"].tolist() == [2, 3, 4, 4]
    assert r["retained"].tolist() == [0, 2, 3, 4]
    np.testing.assert_allclose(r["retention_rate"].to_numpy()[1:], [(3 - 1) / 2, (4 - 1) / 3, (4 - 0) / 4])
    with pytest.raises(CxlensInputError):
        customer_retention(TX["customer"], TX["time"], active_window=0)


def test_repeat_purchase_rate() -> None:
    r = repeat_purchase_rate(TX["customer"], TX["time"])
    assert r == {"customers": 4, "repeat_customers": 3, "repeat_purchase_rate": 0.75, "within_days": None}
    # within 30 days of the first purchase: only c (Feb 1 -> Mar 1 = 29 days)
    assert repeat_purchase_rate(TX["customer"], TX["time"], within_days=30)["repeat_customers"] == 1


def test_cohort_table_and_matrix_by_hand() -> None:
    t = cohort_table(TX["customer"], TX["time"], TX["amount"], period="M")
    jan = t[t["cohort"] == "2024-01"].set_index("period_index")
    assert jan["cohort_size"].iloc[0] == 2
    assert jan["customers"].to_dict() == {0: 2, 1: 1, 2: 1, 3: 1}
    assert jan["revenue"].to_dict() == {0: 20.0, 1: 20.0, 2: 5.0, 3: 30.0}
    assert jan["orders"].to_dict() == {0: 2, 1: 1, 2: 1, 3: 1}  # b's two January lines are one purchase day
    assert jan.loc[3, "revenue_retention"] == pytest.approx(1.5)
    assert jan.loc[1, "period"] == "2024-02"

    m = cohort_matrix(TX["customer"], TX["time"], TX["amount"], value="customer_retention")
    assert m.index.tolist() == ["2024-01", "2024-02", "2024-03"]
    expected = np.array([[1.0, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, np.nan], [1.0, 0.0, np.nan, np.nan]])
    np.testing.assert_allclose(m.to_numpy(), expected)
    rev = cohort_matrix(TX["customer"], TX["time"], TX["amount"], value="revenue")
    assert rev.loc["2024-02"].tolist()[:3] == [40.0, 40.0, 40.0]
    with pytest.raises(CxlensInputError, match="value must be one of"):
        cohort_matrix(TX["customer"], TX["time"], value="nope")


def test_revenue_retention_by_hand() -> None:
    r = revenue_retention(TX["customer"], TX["time"], TX["amount"], period="M").set_index("period")
    # Feb: Jan payers a (10), b (10) -> in Feb a 20, b 0: NRR 20/20, GRR min(20,10)+0 / 20
    assert r.loc["2024-02", "start_revenue"] == 20.0
    assert r.loc["2024-02", "net_revenue_retention"] == pytest.approx(1.0)
    assert r.loc["2024-02", "gross_revenue_retention"] == pytest.approx(0.5)
    assert r.loc["2024-02", "new_revenue"] == 40.0
    # Mar: Feb payers a (20), c (40) -> a 0, c 40
    assert r.loc["2024-03", "net_revenue_retention"] == pytest.approx(40 / 60)
    # Apr: Mar payers b (5), c (40), d (10) -> c 40
    assert r.loc["2024-04", "net_revenue_retention"] == pytest.approx(40 / 55)
    assert r["total_revenue"].sum() == pytest.approx(TX["amount"].sum() - 20.0)  # January is the base


def test_weekly_and_quarterly_periods_and_row_order() -> None:
    shuffled = TX.sample(frac=1.0, random_state=1)
    a = customer_retention(TX["customer"], TX["time"], period="W")
    b = customer_retention(shuffled["customer"], shuffled["time"], period="W")
    pd.testing.assert_frame_equal(a, b)
    q = customer_retention(TX["customer"], TX["time"], period="Q")
    assert q["period"].tolist() == ["2024Q1", "2024Q2"]
    with pytest.raises(CxlensInputError, match="period alias"):
        customer_retention(TX["customer"], TX["time"], period="banana")
