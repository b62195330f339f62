"""Golden tests on CDNOW and the donations data, each against a published (cited) figure.

Comparisons are at the printed precision of the source: a value printed with d decimals must lie within
half a unit of its last digit (``abs(got - printed) <= 0.5 * 10**-d``). Sources are summarised in
../shared/docs/golden-figures.md ("Transactions") and ../shared/data/transactions/SOURCE.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlens.lifetime import (
    BetaGeoBetaBinomFitter,
    BetaGeoFitter,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
)

pytestmark = pytest.mark.shared


def printed(got: float, value: str) -> bool:
    """True when ``got`` rounds to ``value`` as printed (half a unit of its last decimal)."""
    decimals = len(value.split(".")[1]) if "." in value else 0
    return abs(got - float(value)) <= 0.5 * 10.0**-decimals + 1e-12


def check_params(params: dict[str, float], expected: dict[str, str]) -> None:
    bad = {k: (round(params[k], 6), v) for k, v in expected.items() if not printed(params[k], v)}
    assert not bad, f"(got, printed) mismatches: {bad}"


# --- summary from raw transactions ----------------------------------------------------------------


def test_summary_from_raw_equals_published_summary(cdnow_summary_raw, cdnow_summary_csv) -> None:
    # Source: cdnow_customers_summary.csv (lifetimes 0.11.3 datasets; SOURCE.md): 2,357 customers,
    # 946 repeaters, recency and T in weeks printed with 2 decimals, calibration end 1997-09-30.
    ours, pub = cdnow_summary_raw, cdnow_summary_csv
    assert len(ours) == len(pub) == 2357
    assert int((ours["frequency"] > 0).sum()) == 946
    np.testing.assert_array_equal(ours["customer"].to_numpy(), pub["ID"].to_numpy())
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), pub["frequency"].to_numpy())
    for col in ("recency", "T"):
        diff = np.abs(ours[col].to_numpy() - pub[col].to_numpy())
        assert diff.max() <= 0.005 + 1e-9, col
    assert printed(float(ours["T"].max()), "38.86")


def test_summary_monetary_equals_published_zbar(cdnow_summary_raw, cdnow_summary_zbar_csv) -> None:
    # Source: cdnow_customers_summary_with_transactions.csv, zbar printed with 2 decimals.
    diff = np.abs(cdnow_summary_raw["monetary_value"].to_numpy() - cdnow_summary_zbar_csv["zbar"].to_numpy())
    assert diff.max() <= 0.005 + 1e-9


def test_calibration_repeat_spend_matches_iso_value_paper(cdnow_summary_raw) -> None:
    # Source: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-value Curves for Customer Base
    # Analysis", JMR 42(4): repeat-spend summary of the 946 calibration repeaters in CDNOW_sample:
    # mean 35, sd 30, median 27, max 300 (golden-figures.md also lists 35.08, 30.28, 27.5 reproduced).
    z = cdnow_summary_raw.loc[cdnow_summary_raw["frequency"] > 0, "monetary_value"]
    assert len(z) == 946
    assert printed(z.mean(), "35") and printed(z.std(), "30") and printed(z.median(), "27")
    assert printed(z.max(), "300")
    assert printed(z.mean(), "35.08") and printed(z.std(), "30.28") and printed(z.median(), "27.50")


# --- BG/NBD ---------------------------------------------------------------------------------------


def test_bgnbd_params_from_raw_match_paper(bg_raw) -> None:
    # Source: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science
    # 24(2): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (summary rebuilt from raw, golden-figures.md).
    check_params(bg_raw.params_, {"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"})
    assert bg_raw.converged_


def test_bgnbd_params_on_published_summary(cdnow_summary_csv) -> None:
    # Source: golden-figures.md, BG/NBD fitted on cdnow_customers_summary.csv with lifetimes 0.11.3:
    # 0.2426, 4.4135, 0.7929, 2.4258 (2-decimal recency/T shift the 4th decimal).
    s = cdnow_summary_csv
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    check_params(bg.params_, {"r": "0.2426", "alpha": "4.4135", "a": "0.7929", "b": "2.4258"})


def test_bgnbd_conditional_expectation_hardie_spreadsheet(bg_raw) -> None:
    # Source: Hardie's BG/NBD spreadsheet (via golden-figures.md): E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226;
    # lifetimes reproduces 1.2259.
    got = float(bg_raw.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86))
    assert printed(got, "1.226") and printed(got, "1.2259")


def test_bgnbd_unconditional_expectation(bg_raw) -> None:
    # Source: golden-figures.md, "BG/NBD reference results": E[X(1)] = 0.0532 (4 decimals);
    # E[X(78)] published 1.8576, reproduced by lifetimes 0.11.3 as 1.858 (3 decimals): see the xfail below.
    e1, e78 = bg_raw.expected_number_of_purchases_up_to_time(np.array([1.0, 78.0]))
    assert printed(float(e1), "0.0532")
    assert printed(float(e78), "1.858")


@pytest.mark.xfail(
    strict=True,
    reason=(
        "published E[X(78)] = 1.8576 is not reproduced at 4 decimals: the maximum-likelihood parameters give "
        "1.85796 (raw and csv summaries alike; lifetimes 0.11.3 gives the same 1.858), the rounded published "
        "parameters give 1.8605, and 1.8576 would need t = 77.97 weeks. Source of the 4th decimal unknown."
    ),
)
def test_bgnbd_unconditional_expectation_78_weeks_at_4_decimals(bg_raw) -> None:
    # Source: golden-figures.md, "Unconditional E[X(t)] ... 1.8576 (t = 78 weeks)".
    assert printed(float(bg_raw.expected_number_of_purchases_up_to_time(78.0)), "1.8576")


# --- Pareto/NBD and MBG/NBD -----------------------------------------------------------------------


def test_pareto_nbd_params_from_raw_match_published(pnbd_raw) -> None:
    # Source: golden-figures.md, published Pareto/NBD reference values on CDNOW:
    # r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669.
    check_params(pnbd_raw.params_, {"r": "0.553", "alpha": "10.578", "s": "0.606", "beta": "11.669"})


def test_pareto_nbd_params_on_published_summary(cdnow_summary_csv) -> None:
    # Source: golden-figures.md, lifetimes 0.11.3 on cdnow_customers_summary.csv: 0.553, 10.578, 0.606, 11.668
    # (the 2-decimal rounding of recency/T moves beta, which sits on a flat ridge: se about 6).
    s = cdnow_summary_csv
    p = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
    check_params(p.params_, {"r": "0.553", "alpha": "10.578", "s": "0.606", "beta": "11.668"})


@pytest.mark.parametrize("which", ["raw", "csv"])
def test_mbgnbd_params_match_btydplus(which, cdnow_summary_raw, cdnow_summary_csv) -> None:
    # Source: golden-figures.md, MBG/NBD with BTYDplus on CDNOW:
    # r = 0.525, alpha = 6.183, a = 0.891, b = 1.614.
    s = cdnow_summary_raw if which == "raw" else cdnow_summary_csv
    m = ModifiedBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    check_params(m.params_, {"r": "0.525", "alpha": "6.183", "a": "0.891", "b": "1.614"})


# --- Gamma-Gamma ----------------------------------------------------------------------------------


def test_gamma_gamma_params_from_raw_match_hardie_note(cdnow_summary_raw) -> None:
    # Source: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com note 025):
    # p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeaters, zbar from the raw transactions.
    r = cdnow_summary_raw[cdnow_summary_raw["frequency"] > 0]
    assert len(r) == 946
    gg = GammaGammaFitter().fit(r["frequency"], r["monetary_value"])
    check_params(gg.params_paper_, {"p": "6.25", "q": "3.74", "gamma": "15.44"})


def test_gamma_gamma_params_on_published_rounded_zbar(cdnow_summary_zbar_csv) -> None:
    # Source: golden-figures.md, lifetimes 0.11.3 on cdnow_customers_summary_with_transactions.csv:
    # 6.249, 3.745, 15.448. zbar there is rounded to cents, which moves gamma from 15.4435 (raw) to 15.4477,
    # hence 15.45 instead of the note's 15.44 at 2 decimals.
    s = cdnow_summary_zbar_csv
    r = s[s["x"] > 0]
    gg = GammaGammaFitter().fit(r["x"], r["zbar"])
    check_params(gg.params_, {"p": "6.249", "q": "3.745", "v": "15.448"})


# --- BG/BB ----------------------------------------------------------------------------------------


def test_bgbb_params_on_donations_match_paper(donations) -> None:
    # Source: Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual
    # Setting", Marketing Science 29(6): alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783.
    d = donations
    assert int(d["weights"].sum()) == 11104
    f = BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    check_params(f.params_, {"alpha": "1.204", "beta": "0.750", "gamma": "0.657", "delta": "2.783"})


# --- CDNOW master end to end ----------------------------------------------------------------------


def test_cdnow_master_end_to_end(cdnow_master_tx: pd.DataFrame) -> None:
    # Source: SOURCE.md: CDNOW_master has 69,659 transactions by 23,570 customers, total $2,500,315.63.
    from cxlens.lifetime import customer_lifetime_value, rfm_summary

    tx = cdnow_master_tx
    assert len(tx) == 69659
    assert printed(float(tx["dollar_value"].sum()), "2500315.63")
    s = rfm_summary(tx["customer_id"], tx["date"], tx["dollar_value"], "1997-09-30")
    assert len(s) == 23570
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    spend = gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    clv = customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"], spend, time=12, margin=0.3)
    assert clv.shape == (23570,) and np.all(np.isfinite(clv)) and np.all(clv >= 0)
