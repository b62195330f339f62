"""The lifetime query kinds against independent computations on CDNOW_sample (pandas, lifelines, scipy,
and the pure functions of cxlens.lifetime run on the raw file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

import cxlens
from cxlens.lifetime import (
    cohort_table,
    customer_retention,
    durations_from_activity,
    repeat_purchase_rate,
    revenue_retention,
    rfm_scores,
)

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def sample_ws(cdnow_dir: Path) -> cxlens.Workspace:
    ws = cxlens.Workspace()
    ws.import_file("transactions", cdnow_dir / "CDNOW_sample.txt", preset="cdnow_sample")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def tx(cdnow_sample_tx: pd.DataFrame) -> pd.DataFrame:
    """Raw sample with the master id as text, as the preset stores it (distinct_id)."""
    out = cdnow_sample_tx.copy()
    out["cid"] = out["master_id"].map(lambda v: f"{v:05d}")
    return out


def test_churn_activity_matches_pure_function_and_lifelines(sample_ws, tx) -> None:
    from lifelines import KaplanMeierFitter

    r = sample_ws.query({"kind": "churn", "inactivity_days": 120, "unit": "week", "at": [13, 26, 52],
                         "max_points": 100_000})
    d = durations_from_activity(tx["cid"], tx["date"], 120, unit="week")
    assert r["customers"] == len(d) == 2357
    assert r["churned"] == int(d["event"].sum())
    kmf = KaplanMeierFitter().fit(d["duration"], d["event"])
    assert r["survival"]["median"] == pytest.approx(float(kmf.median_survival_time_))
    for row in r["survival"]["survival_at"]:
        assert row["survival"] == pytest.approx(float(kmf.survival_function_at_times(row["time"]).iloc[0]))
        assert row["lower"] <= row["survival"] <= row["upper"]
        assert row["churned"] == pytest.approx(1 - row["survival"])


def test_customer_retention_matches_pure_functions(sample_ws, tx) -> None:
    r = sample_ws.query({"kind": "customer_retention", "period": "month", "active_window": 2})
    ref = customer_retention(tx["cid"], tx["date"], period="M", active_window=2)
    got = pd.DataFrame(r["periods"])
    assert list(got["period"]) == list(ref["period"])
    np.testing.assert_array_equal(got["end_customers"], ref["end_customers"])
    np.testing.assert_allclose(got["retention_rate"].astype(float), ref["retention_rate"], equal_nan=True)
    rev = revenue_retention(tx["cid"], tx["date"], tx["amount"], period="M")
    np.testing.assert_allclose(got["net_revenue_retention"].iloc[1:].astype(float), rev["net_revenue_retention"])
    rep = repeat_purchase_rate(tx["cid"], tx["date"])
    assert r["repeat_purchase"] == rep
    # repeat buyers: 2357 customers of whom those with >= 2 purchase days, counted with pandas
    assert rep["repeat_customers"] == int((tx.groupby("cid")["date"].nunique() > 1).sum())


def test_cohorts_match_pure_function(sample_ws, tx) -> None:
    r = sample_ws.query({"kind": "cohorts", "period": "month", "value": "orders_per_customer"})
    ref = cohort_table(tx["cid"], tx["date"], tx["amount"], period="M")
    got = pd.DataFrame(r["rows"])
    np.testing.assert_array_equal(got["orders"], ref["orders"])
    np.testing.assert_allclose(got["revenue"], ref["revenue"])
    assert [c["size"] for c in r["cohorts"]] == [781, 857, 719]  # first purchases Jan, Feb, Mar 1997
    assert sum(c["size"] for c in r["cohorts"]) == 2357
    assert r["matrix"]["values"][0][0] == pytest.approx(ref["orders_per_customer"].iloc[0])


def test_rfm_matches_pure_function(sample_ws, tx) -> None:
    r = sample_ws.query({"kind": "rfm", "as_of": "1997-09-30"})
    cal = tx[tx["date"] <= "1997-09-30"]
    ref = rfm_scores(cal["cid"], cal["date"], cal["amount"], as_of="1997-09-30")
    got = pd.DataFrame(r["customers"])
    assert list(got["customer"]) == list(ref["customer"])
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score", "segment"):
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(got["monetary"], ref["monetary"])
    assert sum(s["customers"] for s in r["segments"]) == 2357


def test_bgbb_from_transactions_matches_pandas_indicators(sample_ws, tx) -> None:
    # Independent build of the per-quarter purchase indicators with pandas.
    r = sample_ws.query({"kind": "clv", "model": "bgbb", "opportunity_period": "quarter",
                         "calibration_end": "1998-06-30", "horizon": 4, "penalizer": 0.001})
    q = tx.assign(p=tx["date"].dt.to_period("Q").astype("int64"))
    first = q.groupby("cid")["p"].min()
    per = q.drop_duplicates(["cid", "p"]).assign(k=lambda d: d["p"] - d["cid"].map(first))
    x = per[per["k"] > 0].groupby("cid").size().reindex(first.index, fill_value=0)
    t_x = per.groupby("cid")["k"].max()
    n = pd.Period("1998Q2").ordinal - first
    got = pd.DataFrame(r["customers"]).set_index("customer")
    np.testing.assert_array_equal(got["frequency"].to_numpy(), x.to_numpy())
    np.testing.assert_array_equal(got["recency"].to_numpy(), t_x.to_numpy())
    np.testing.assert_array_equal(got["periods"].to_numpy(), n.to_numpy())
    assert all(0 <= p <= 1 for p in got["p_alive"])
    capped = sample_ws.query({"kind": "clv", "model": "bgbb", "opportunity_period": "quarter",
                              "calibration_end": "1998-06-30", "opportunities": 2, "penalizer": 0.001})
    c = pd.DataFrame(capped["customers"])
    assert c["periods"].max() == 2 and (c["recency"] <= 2).all() and (c["frequency"] <= c["recency"]).all()


def test_nps_segments_compare_clv_like_scipy(cdnow_dir) -> None:
    # Attitude x value on real purchases with NPS answers attached to persons (a seeded synthetic survey).
    ws = cxlens.Workspace()
    ws.import_file("transactions", cdnow_dir / "CDNOW_sample.txt")
    ids = ws.sql("SELECT DISTINCT distinct_id FROM transactions ORDER BY 1").column(0).to_pylist()
    rng = np.random.default_rng(7)
    ws.add("persons", pd.DataFrame({"id": [f"p{i}" for i in range(len(ids))],
                                    "distinct_ids": [[d] for d in ids],
                                    "account_id": rng.choice(["acme", "globex"], len(ids))}))
    scores = rng.integers(0, 11, 1500)
    ws.add("responses", pd.DataFrame({"survey": "rel", "question": "nps", "question_type": "nps",
                                      "distinct_id": ids[:1500], "timestamp": "1997-10-15", "score": scores,
                                      "status": "answered"}))
    r = ws.query({"kind": "clv", "calibration_end": "1997-09-30", "by": "nps"})
    cust = pd.DataFrame(r["customers"])
    assert cust["customer"].str.startswith("p").all()  # customers are persons now
    seg = {s["segment"]: s for s in r["segments"]["segments"]}
    assert list(seg) == ["promoter", "passive", "detractor", "no_answer"]
    assert seg["no_answer"]["customers"] == len(ids) - 1500
    assert seg["promoter"]["customers"] == int((scores >= 9).sum())
    pro = cust.loc[cust["segment"] == "promoter", "clv"]
    det = cust.loc[cust["segment"] == "detractor", "clv"]
    assert seg["promoter"]["clv"]["mean"] == pytest.approx(pro.mean())
    assert seg["promoter"]["clv"]["ci_low"] < pro.mean() < seg["promoter"]["clv"]["ci_high"]
    pair = next(p for p in r["segments"]["comparisons"]["clv"] if (p["a"], p["b"]) == ("promoter", "detractor"))
    assert pair["p_value"] == pytest.approx(st.ttest_ind(pro, det, equal_var=False).pvalue)
    assert pair["p_value_adjusted"] >= pair["p_value"]
    kw = st.kruskal(*[cust.loc[cust["segment"] == g, "clv"] for g in seg])
    assert r["segments"]["tests"]["clv"]["p_value"] == pytest.approx(kw.pvalue)
    churn = ws.query({"kind": "churn", "inactivity_days": 120, "by": "account"})
    assert set(churn["groups"]) == {"acme", "globex"} and churn["logrank"]["test"] == "logrank"
    ws.close()


def test_churn_repeat_customers_only(sample_ws, tx) -> None:
    # min_active_days = 2 keeps the customers with at least two purchase days (counted with pandas).
    r = sample_ws.query({"kind": "churn", "inactivity_days": 180, "min_active_days": 2, "unit": "week"})
    assert r["customers"] == int((tx.groupby("cid")["date"].nunique() >= 2).sum())
    assert r["survival"]["median"] > 0
