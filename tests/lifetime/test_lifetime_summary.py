"""rfm_summary conventions on small hand-made transaction sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cxlens.errors import CxlensInputError
from cxlens.lifetime import rfm_summary

# customer a: 2024-01-01 twice (same day -> one occasion, 10 + 5), 2024-01-08 (20), 2024-01-15 (40)
# customer b: 2024-01-03 only; customer c: first purchase after the calibration end
TX = pd.DataFrame(
    {
        "customer": ["a", "a", "a", "b", "a", "c", "a"],
        "time": pd.to_datetime(
            [
                "2024-01-01 09:00",
                "2024-01-01 18:30",
                "2024-01-08",
                "2024-01-03",
                "2024-01-15 23:59",
                "2024-01-20",
                "2024-01-25",
            ],
            format="mixed",
        ),
        "amount": [10.0, 5.0, 20.0, 7.0, 40.0, 3.0, 100.0],
    }
)


def test_daily_conventions_match_hand_computation() -> None:
    s = rfm_summary(TX["customer"], TX["time"], TX["amount"], "2024-01-15", time_unit="day")
    assert s["customer"].tolist() == ["a", "b"]  # c starts after the calibration end
    a, b = s.iloc[0], s.iloc[1]
    assert (a["frequency"], a["recency"], a["T"]) == (2.0, 14.0, 14.0)  # whole end day included
    assert a["monetary_value"] == pytest.approx((20 + 40) / 2)  # first occasion (10 + 5) excluded
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0.0, 0.0, 12.0, 0.0)


def test_weeks_are_days_divided_by_seven() -> None:
    d = rfm_summary(TX["customer"], TX["time"], TX["amount"], "2024-01-20", time_unit="day")
    w = rfm_summary(TX["customer"], TX["time"], TX["amount"], "2024-01-20", time_unit="week")
    np.testing.assert_allclose(w[["recency", "T"]].to_numpy(), d[["recency", "T"]].to_numpy() / 7)
    np.testing.assert_array_equal(w["frequency"], d["frequency"])


def test_default_calibration_end_is_last_transaction_day_and_order_does_not_matter() -> None:
    shuffled = TX.sample(frac=1.0, random_state=3)
    s1 = rfm_summary(TX["customer"], TX["time"], TX["amount"])
    s2 = rfm_summary(shuffled["customer"], shuffled["time"], shuffled["amount"], "2024-01-25")
    pd.testing.assert_frame_equal(s1, s2)
    assert s1["T"].max() == pytest.approx(24 / 7)


def test_holdout_columns() -> None:
    s = rfm_summary(
        TX["customer"], TX["time"], TX["amount"], "2024-01-15", "day", observation_end="2024-01-31"
    )
    a = s.iloc[0]
    assert (a["frequency_holdout"], a["monetary_value_holdout"], a["duration_holdout"]) == (1.0, 100.0, 16.0)
    assert s.iloc[1]["frequency_holdout"] == 0.0 and s.iloc[1]["monetary_value_holdout"] == 0.0
    with pytest.raises(CxlensInputError, match="after calibration_end"):
        rfm_summary(TX["customer"], TX["time"], TX["amount"], "2024-01-15", observation_end="2024-01-10")


def test_inputs_numpy_pyarrow_strings_and_timezones() -> None:
    ref = rfm_summary(TX["customer"], TX["time"], TX["amount"], "2024-01-20")
    arrow = rfm_summary(
        pa.array(TX["customer"].tolist()),
        pa.array(TX["time"]),
        pa.chunked_array([pa.array(TX["amount"].tolist())]),
        "2024-01-20",
    )
    pd.testing.assert_frame_equal(ref, arrow)
    as_text = TX["time"].dt.strftime("%Y-%m-%d %H:%M").tolist()
    as_text[2] = "2024-01-08"  # mixed formats are accepted
    strings = rfm_summary(TX["customer"].to_numpy(), as_text, TX["amount"], "2024-01-20")
    pd.testing.assert_frame_equal(ref, strings)
    # a time zone keeps the local calendar day (23:59 in New York is the same day, not the next UTC day)
    tz = rfm_summary(
        TX["customer"], TX["time"].dt.tz_localize("America/New_York"), TX["amount"], "2024-01-20"
    )
    pd.testing.assert_frame_equal(ref, tz)
    no_money = rfm_summary(TX["customer"], TX["time"], None, "2024-01-20")
    assert "monetary_value" not in no_money.columns


def test_input_errors() -> None:
    with pytest.raises(CxlensInputError, match="time_unit"):
        rfm_summary(TX["customer"], TX["time"], TX["amount"], time_unit="month")  # type: ignore[arg-type]
    with pytest.raises(CxlensInputError, match="same length"):
        rfm_summary(TX["customer"][:3], TX["time"], TX["amount"])
    with pytest.raises(CxlensInputError, match="no transactions on or before"):
        rfm_summary(TX["customer"], TX["time"], TX["amount"], "2023-12-31")
    with pytest.raises(CxlensInputError, match="missing"):
        rfm_summary(["a", None], ["2024-01-01", "2024-01-02"], [1.0, 2.0])
    with pytest.raises(CxlensInputError, match="amounts"):
        rfm_summary(["a", "b"], ["2024-01-01", "2024-01-02"], [1.0, "x"])


def test_large_input_is_vectorised() -> None:
    rng = np.random.default_rng(0)
    n = 300_000
    cust = rng.integers(0, 50_000, n)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    s = rfm_summary(cust, days, rng.gamma(2.0, 10.0, n), "2024-12-30")
    assert len(s) == len(np.unique(cust))
    occ = pd.DataFrame({"c": cust, "d": days}).drop_duplicates().groupby("c").size()
    np.testing.assert_array_equal(s["frequency"].to_numpy(), occ.to_numpy() - 1)
