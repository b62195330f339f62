"""Optional cross-check against the (unmaintained) ``lifetimes`` package, when it happens to be installed.

cxlens does not depend on ``lifetimes`` (see cxlens.lifetime.base for why); these tests only run where it
is installed, e.g. ``pip install lifetimes==0.11.3`` in a scratch environment. At equal parameters the
predictions must agree to floating-point accuracy, and the fitted parameters to the optimisers' tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxlens.lifetime as cl

lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is not installed (optional cross-check only)")

pytestmark = pytest.mark.shared


def _as_lifetimes(ours, theirs_cls):
    theirs = theirs_cls()
    theirs.params_ = pd.Series(ours.params_)
    if hasattr(theirs, "conditional_expected_number_of_purchases_up_to_time"):
        theirs.predict = (
            theirs.conditional_expected_number_of_purchases_up_to_time
        )  # lifetimes sets it in fit()
    return theirs


@pytest.mark.parametrize(
    ("ours_cls", "theirs_name"),
    [
        (cl.BetaGeoFitter, "BetaGeoFitter"),
        (cl.ModifiedBetaGeoFitter, "ModifiedBetaGeoFitter"),
        (cl.ParetoNBDFitter, "ParetoNBDFitter"),
    ],
)
def test_transaction_models_agree(ours_cls, theirs_name, cdnow_summary_zbar_csv) -> None:
    s = cdnow_summary_zbar_csv
    x, tx, T = s["x"], s["t_x"], s["T"]
    ours = ours_cls().fit(x, tx, T)
    fitted = getattr(lifetimes, theirs_name)().fit(x, tx, T)
    np.testing.assert_allclose(
        list(ours.params_.values()), fitted.params_[list(ours.params_)].to_numpy(), rtol=1e-3
    )
    theirs = _as_lifetimes(ours, getattr(lifetimes, theirs_name))
    np.testing.assert_allclose(
        ours.conditional_expected_number_of_purchases_up_to_time(10, x, tx, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(10, x, tx, T),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        ours.conditional_probability_alive(x, tx, T),
        theirs.conditional_probability_alive(x, tx, T),
        rtol=1e-10,
    )


def test_gamma_gamma_and_clv_agree(cdnow_summary_zbar_csv) -> None:
    s = cdnow_summary_zbar_csv
    x, tx, T, z = s["x"], s["t_x"], s["T"], s["zbar"]
    rep = s[s["x"] > 0]
    gg = cl.GammaGammaFitter().fit(rep["x"], rep["zbar"])
    bg = cl.BetaGeoFitter().fit(x, tx, T)
    lgg = _as_lifetimes(gg, lifetimes.GammaGammaFitter)
    lbg = _as_lifetimes(bg, lifetimes.BetaGeoFitter)
    ours = gg.customer_lifetime_value(
        bg, x, tx, T, z, time=12, discount_rate=0.01, time_units_per_period=4.345
    )
    theirs = lgg.customer_lifetime_value(lbg, x, tx, T, z, time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-10)


def test_bgbb_agrees(donations) -> None:
    d = donations
    ours = cl.BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    theirs = _as_lifetimes(ours, lifetimes.BetaGeoBetaBinomFitter)
    for m in (1, 5):
        np.testing.assert_allclose(
            ours.conditional_probability_alive(d["frequency"], d["recency"], d["periods"], m),
            theirs.conditional_probability_alive(m, d["frequency"], d["recency"], d["periods"]),
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            ours.conditional_expected_number_of_purchases_up_to_time(
                m, d["frequency"], d["recency"], d["periods"]
            ),
            theirs.conditional_expected_number_of_purchases_up_to_time(
                m, d["frequency"], d["recency"], d["periods"]
            ),
            rtol=1e-10,
        )


def test_summary_agrees(cdnow_master_tx) -> None:
    tx = cdnow_master_tx
    ours = cl.rfm_summary(tx["customer_id"], tx["date"], tx["dollar_value"], "1997-09-30").set_index(
        "customer"
    )
    theirs = lifetimes.utils.summary_data_from_transaction_data(
        tx,
        "customer_id",
        "date",
        monetary_value_col="dollar_value",
        observation_period_end="1997-09-30",
        freq="D",
        freq_multiplier=7,
    ).loc[ours.index]
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-12, atol=1e-9)
