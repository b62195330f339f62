"""Golden figures THROUGH THE QUERY PATH: raw CDNOW_sample.txt imported into a workspace (preset cdnow_sample),
then ``ws.query({"kind": "clv", ...})`` with weeks and calibration end 1997-09-30.

Comparisons are at the printed precision of the source (half a unit of the last printed digit), as in
test_lifetime_golden.py. Sources: ../shared/docs/golden-figures.md ("Transactions") and
../shared/data/transactions/SOURCE.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens.lifetime import BetaGeoFitter

pytestmark = pytest.mark.shared

Q = {"kind": "clv", "calibration_end": "1997-09-30", "time_unit": "week", "horizon": 39, "customer": "sample_id"}


def printed(got: float, value: str) -> bool:
    decimals = len(value.split(".")[1]) if "." in value else 0
    return abs(got - float(value)) <= 0.5 * 10.0**-decimals + 1e-12


def check_params(params: dict[str, float], expected: dict[str, str]) -> None:
    bad = {k: (round(params[k], 6), v) for k, v in expected.items() if not printed(params[k], v)}
    assert not bad, f"(got, printed) mismatches: {bad}"


@pytest.fixture(scope="module")
def sample_ws(cdnow_dir: Path) -> cxlens.Workspace:
    ws = cxlens.Workspace()
    ws.import_file("transactions", cdnow_dir / "CDNOW_sample.txt")  # preset detected: cdnow_sample
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def bg_result(sample_ws: cxlens.Workspace) -> dict:
    return sample_ws.query({**Q, "model": "bgnbd"})


def by_sample_id(result: dict) -> pd.DataFrame:
    df = pd.DataFrame(result["customers"])
    df["ID"] = df["customer"].astype(int)
    return df.sort_values("ID").reset_index(drop=True)


def test_query_summary_equals_published_summary(bg_result, cdnow_summary_csv, cdnow_summary_zbar_csv) -> None:
    # Source: cdnow_customers_summary.csv and cdnow_customers_summary_with_transactions.csv (lifetimes 0.11.3
    # datasets, SOURCE.md): 2,357 customers, 946 repeaters, recency/T in weeks and zbar printed with 2 decimals.
    ours = by_sample_id(bg_result)
    pub, pubz = cdnow_summary_csv, cdnow_summary_zbar_csv
    assert bg_result["n_customers"] == len(ours) == len(pub) == 2357
    assert bg_result["repeat_customers"] == 946
    np.testing.assert_array_equal(ours["ID"].to_numpy(), pub["ID"].to_numpy())
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), pub["frequency"].to_numpy())
    for col in ("recency", "T"):
        assert np.abs(ours[col].to_numpy() - pub[col].to_numpy()).max() <= 0.005 + 1e-9, col
    assert np.abs(ours["monetary_value"].to_numpy() - pubz["zbar"].to_numpy()).max() <= 0.005 + 1e-9


def test_query_summary_equals_python_summary_exactly(bg_result, cdnow_summary_raw) -> None:
    # Independent computation: the pandas implementation cxlens.lifetime.rfm_summary on the raw file
    # (its sample ids order the same way as the master ids).
    ours = by_sample_id(bg_result)
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(), cdnow_summary_raw[col].to_numpy(), rtol=0, atol=1e-9)


def test_query_bgnbd_params_match_paper(bg_result) -> None:
    # Source: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2):
    # r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (summary rebuilt from the raw file, golden-figures.md).
    assert set(bg_result["params"]) == {"r", "alpha", "a", "b"}
    check_params(bg_result["params"], {"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"})
    assert bg_result["converged"]


def test_query_conditional_expectation_hardie(bg_result) -> None:
    # Source: Hardie's BG/NBD spreadsheet (golden-figures.md): E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226
    # (lifetimes: 1.2259). Customer 1 of the sample is that customer; the query's horizon is 39 weeks.
    c1 = by_sample_id(bg_result).iloc[0]
    assert (c1["ID"], c1["frequency"], round(c1["recency"], 2), round(c1["T"], 2)) == (1, 2, 30.43, 38.86)
    assert printed(float(c1["expected_purchases"]), "1.226")
    bg = BetaGeoFitter.from_params(bg_result["params"])
    got = float(bg.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86))
    assert printed(got, "1.226") and printed(got, "1.2259")


def test_query_pareto_nbd_params(sample_ws) -> None:
    # Source: golden-figures.md, published Pareto/NBD values on CDNOW: r = 0.553, alpha = 10.578, s = 0.606,
    # beta = 11.669.
    r = sample_ws.query({**Q, "model": "pareto_nbd", "limit": 0})
    check_params(r["params"], {"r": "0.553", "alpha": "10.578", "s": "0.606", "beta": "11.669"})


def test_query_mbgnbd_params(sample_ws) -> None:
    # Source: golden-figures.md, MBG/NBD with BTYDplus on CDNOW: r = 0.525, alpha = 6.183, a = 0.891, b = 1.614.
    r = sample_ws.query({**Q, "model": "mbgnbd", "limit": 0})
    check_params(r["params"], {"r": "0.525", "alpha": "6.183", "a": "0.891", "b": "1.614"})


def test_query_gamma_gamma_params(sample_ws) -> None:
    # Source: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com note 025):
    # p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeaters.
    r = sample_ws.query({**Q, "model": "gamma_gamma", "limit": 0})
    assert r["n"] == 946
    check_params(r["params"], {"p": "6.25", "q": "3.74", "gamma": "15.44"})
    assert r["transaction_model"]["model"] == "bgnbd"


def test_query_bgbb_on_donations(sample_ws, donations) -> None:
    # Source: Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual Setting",
    # Marketing Science 29(6): alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783 (donations.csv).
    r = sample_ws.query({"kind": "clv", "model": "bgbb", "histories": donations.to_dict(orient="list"),
                         "horizon": 5, "limit": 0})
    check_params(r["params"], {"alpha": "1.204", "beta": "0.750", "gamma": "0.657", "delta": "2.783"})
    assert r["totals"]["customers"] == 11104


def test_query_holdout_actuals_match_raw_count(bg_result, cdnow_sample_tx) -> None:
    # Independent count with pandas: purchase days per customer in (1997-09-30, 1998-06-30].
    tx = cdnow_sample_tx
    hold = tx[tx["date"] > "1997-09-30"].drop_duplicates(["customer", "date"])
    assert bg_result["holdout"]["actual_purchases"] == len(hold)
    assert bg_result["holdout"]["duration"] == pytest.approx(39.0)
    per = hold.groupby("customer").size().reindex(range(1, 2358), fill_value=0).to_numpy()
    np.testing.assert_array_equal(by_sample_id(bg_result)["frequency_holdout"].to_numpy(), per)
    rows = bg_result["holdout"]["by_calibration_frequency"]
    assert sum(r["customers"] for r in rows) == 2357


def test_cdnow_master_end_to_end_through_the_query(cdnow_dir, cdnow_master_tx) -> None:
    # Source: SOURCE.md: CDNOW_master has 69,659 transactions by 23,570 customers. The query's BG/NBD fit
    # equals the pure-package fit on the pandas summary of the same raw file (independent summary path).
    from cxlens.lifetime import rfm_summary

    ws = cxlens.Workspace()
    rep = ws.import_file("transactions", cdnow_dir / "CDNOW_master.txt")
    assert "69,659" in str(rep)
    r = ws.query({**Q, "customer": None, "model": "bgnbd", "margin": 0.3, "limit": None})
    ws.close()
    assert r["n_customers"] == 23570 and r["transactions"] == 69659
    tx = cdnow_master_tx
    s = rfm_summary(tx["customer_id"], tx["date"], tx["dollar_value"], "1997-09-30")
    ref = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]).params_
    for k, v in ref.items():
        assert r["params"][k] == pytest.approx(v, rel=1e-6)
    clv = np.array([c["clv"] for c in r["customers"]])
    assert clv.shape == (23570,) and np.all(np.isfinite(clv)) and np.all(clv >= 0)
    assert r["timings"]["total"] < 30  # "in seconds" (about 0.5 s on the 2-core machine, bench_lifetime.py)
