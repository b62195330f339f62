"""Lifetime query kinds on small synthetic data: contract, errors, hand-computed values and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import cxlens
from cxlens.errors import CxlensError, QueryError
from cxlens.lifetime import BetaGeoFitter, customer_lifetime_value, rfm_summary
from cxlens.lifetime.value import discounted_value
from cxlens.query.lifetime_source import TransactionSource, parse_day, rft_summary


def synthetic_tx(seed: int = 0, n: int = 300) -> pd.DataFrame:
    """Customers simulated from BG/NBD (r = 0.5, alpha = 20 days, a = 1, b = 3) over 2023-01-01 .. 2024-06-30,
    first purchases in Q1 2023, spend Gamma(4, scale) with a customer-specific scale (seeded)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 1 / 20, n)
    drop = rng.beta(1, 3, n)
    scale = rng.gamma(3, 4, n)
    horizon = (pd.Timestamp("2024-06-30") - pd.Timestamp("2023-01-01")).days
    rows = []
    for i in range(n):
        t = float(rng.integers(0, 90))
        first = True
        while t <= horizon:
            rows.append({"distinct_id": f"c{i:03d}", "timestamp": pd.Timestamp("2023-01-01") + pd.Timedelta(days=t),
                         "amount": float(np.round(rng.gamma(4, scale[i]), 2)) + 0.01})
            if not first and rng.random() < drop[i]:  # BG/NBD: drop-out after a repeat purchase
                break
            first = False
            t += rng.exponential(1 / lam[i])
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return synthetic_tx()


@pytest.fixture(scope="module")
def ws(tx: pd.DataFrame) -> cxlens.Workspace:
    w = cxlens.Workspace()
    w.add("transactions", tx)
    yield w
    w.close()


def test_kinds_are_registered() -> None:
    kinds = cxlens.Workspace().query_kinds
    assert {"clv", "churn", "customer_retention", "cohorts", "rfm", "retention"} <= set(kinds)


def test_sql_summary_equals_pandas_summary(ws, tx) -> None:
    s = rft_summary(ws, TransactionSource(), parse_day("2023-09-30", "c"), parse_day("2024-06-30", "o"), "week")
    ref = rfm_summary(tx["distinct_id"], tx["timestamp"], tx["amount"], "2023-09-30", "week", "2024-06-30")
    assert list(s["customer"]) == list(ref["customer"])
    for col in ("frequency", "recency", "T", "monetary_value", "frequency_holdout", "monetary_value_holdout"):
        np.testing.assert_allclose(s[col], ref[col].to_numpy(), atol=1e-9, err_msg=col)


def test_clv_contract(ws) -> None:
    r = ws.query({"kind": "clv", "model": "bgnbd", "calibration_end": "2023-09-30", "time_unit": "day",
                  "horizon": 180, "discount_rate": 0.01, "margin": 0.3, "sort": "clv", "limit": 5})
    assert set(r["params"]) == {"r", "alpha", "a", "b"}
    assert len(r["customers"]) == 5
    clv = [c["clv"] for c in r["customers"]]
    assert clv == sorted(clv, reverse=True)
    assert r["holdout"]["duration"] == (pd.Timestamp(r["observation_end"]) - pd.Timestamp("2023-09-30")).days
    assert r["totals"]["customers"] == r["n_customers"]
    assert set(r["timings"]) >= {"summary", "fit", "predict", "total"}
    for c in r["customers"]:
        assert 0 <= c["p_alive"] <= 1 and c["clv"] >= 0 and c["expected_purchases"] >= 0


def test_clv_margin_scales_and_discount_lowers(ws) -> None:
    base = {"kind": "clv", "calibration_end": "2023-09-30", "horizon": 52, "limit": 0}
    a = ws.query({**base, "discount_rate": 0.0, "margin": 1.0})["totals"]["clv"]
    b = ws.query({**base, "discount_rate": 0.0, "margin": 0.25})["totals"]["clv"]
    c = ws.query({**base, "discount_rate": 0.05, "margin": 1.0})["totals"]["clv"]
    assert b == pytest.approx(0.25 * a)
    assert c < a


def test_discounted_value_equals_customer_lifetime_value_on_whole_periods() -> None:
    # Independent computation: lifetimes' whole-period CLV formula written out as a plain loop,
    # sum_k margin * spend * (E[Y(k u)] - E[Y((k - 1) u)]) / (1 + d)^k; customer_lifetime_value delegates to
    # discounted_value, so it must match the loop too.
    bg = BetaGeoFitter.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    x, tx, T = np.array([0, 2, 5.0]), np.array([0, 30.43, 20.0]), np.array([38.86, 38.86, 30.0])
    spend = np.array([30.0, 35.0, 50.0])
    e = bg.conditional_expected_number_of_purchases_up_to_time
    ref = sum(0.3 * spend * (e(k * 4.345, x, tx, T) - e((k - 1) * 4.345, x, tx, T)) / 1.01 ** k
              for k in range(1, 13))
    np.testing.assert_allclose(customer_lifetime_value(bg, x, tx, T, spend, time=12, discount_rate=0.01,
                                                       margin=0.3, time_units_per_period=4.345), ref, rtol=1e-12)
    got, purchases = discounted_value(bg, x, tx, T, spend, horizon=12 * 4.345, step=4.345, discount_rate=0.01,
                                      margin=0.3)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(purchases, bg.conditional_expected_number_of_purchases_up_to_time(52.14, x, tx, T))


def test_clv_by_rfm_and_account(ws) -> None:
    r = ws.query({"kind": "clv", "calibration_end": "2023-09-30", "by": "rfm", "limit": 0})
    segs = r["segments"]["segments"]
    assert sum(s["customers"] for s in segs) == r["n_customers"]
    assert r["segments"]["tests"]["clv"]["test"] == "kruskal-wallis"
    for s in segs:
        if s["clv"]["n"] >= 2:
            assert s["clv"]["ci_low"] <= s["clv"]["mean"] <= s["clv"]["ci_high"]
    r2 = ws.query({"kind": "clv", "calibration_end": "2023-09-30", "by": "account", "limit": 0})
    assert [s["segment"] for s in r2["segments"]["segments"]] == ["no_person"]  # no persons added


def test_churn_subscriptions_hand_computed() -> None:
    w = cxlens.Workspace()
    w.add("persons", [
        {"id": "a", "plan": "pro", "start": "2024-01-01", "end": "2024-01-31"},
        {"id": "b", "plan": "pro", "start": "2024-01-01", "end": None},
        {"id": "c", "plan": "free", "start": "2024-01-01", "end": "2024-01-11"},
        {"id": "d", "plan": "free", "start": "2024-01-01", "end": "2024-01-21"},
    ])
    r = w.query({"kind": "churn", "source": "subscriptions", "table": "persons", "start": "start", "end": "end",
                 "observation_end": "2024-03-01", "by": "plan", "at": [10, 20, 30, 60]})
    assert (r["customers"], r["churned"], r["censored"]) == (4, 3, 1)
    # KM by hand: deaths at 10, 20, 30 days with 4, 3, 2 at risk: S = 3/4, 1/2, 1/4; b censored at 60 days
    s = [row["survival"] for row in r["survival"]["survival_at"]]
    assert s == pytest.approx([0.75, 0.5, 0.25, 0.25])
    assert r["survival"]["median"] == 20
    assert set(r["groups"]) == {"pro", "free"}
    assert r["groups"]["free"]["median"] == 10  # deaths at 10 and 20 days of 2: S(10) = 0.5
    assert 0 <= r["logrank"]["p_value"] <= 1
    w.close()


def test_customer_retention_hand_computed() -> None:
    w = cxlens.Workspace()
    w.add("transactions", [
        {"distinct_id": "a", "timestamp": "2024-01-05", "amount": 10},
        {"distinct_id": "b", "timestamp": "2024-01-06", "amount": 10},
        {"distinct_id": "a", "timestamp": "2024-02-01", "amount": 5},
        {"distinct_id": "c", "timestamp": "2024-02-02", "amount": 7},
        {"distinct_id": "a", "timestamp": "2024-02-03", "amount": 5},
    ])
    r = w.query({"kind": "customer_retention", "period": "month"})
    feb = r["periods"][1]
    # S = 2 (a, b), E = 2 (a, c), N = 1 (c): CRR = (2 - 1) / 2
    assert (feb["start_customers"], feb["end_customers"], feb["new_customers"]) == (2, 2, 1)
    assert feb["retention_rate"] == 0.5 and feb["churn_rate"] == 0.5
    assert feb["net_revenue_retention"] == pytest.approx(10 / 20)
    assert r["repeat_purchase"]["repeat_customers"] == 1
    c = w.query({"kind": "cohorts", "period": "month"})
    assert c["matrix"]["values"] == [[1.0, 0.5], [1.0, None]]
    w.close()


@pytest.mark.parametrize("q, words", [
    ({"kind": "clv", "model": "nope"}, "model"),
    ({"kind": "clv", "horizon": -1}, "horizon"),
    ({"kind": "clv", "histories": {"frequency": [1], "recency": [1], "periods": [2]}}, "bgbb"),
    ({"kind": "clv", "calibration_end": "30/09/1997"}, "calibration_end"),
    ({"kind": "churn", "source": "subscriptions", "table": "persons"}, "start"),
    ({"kind": "cohorts", "value": "x"}, "value"),
    ({"kind": "rfm", "monetary": "median"}, "monetary"),
])
def test_bad_queries_name_the_field(ws, q, words) -> None:
    with pytest.raises(QueryError, match=words):
        ws.query(q)


def test_empty_transactions_and_custom_customer_with_nps() -> None:
    w = cxlens.Workspace()
    with pytest.raises(QueryError, match="no transactions"):
        w.query({"kind": "clv"})
    w.add("transactions", [{"distinct_id": "a", "timestamp": "2024-01-05", "amount": 10, "shop": "x"},
                           {"distinct_id": "a", "timestamp": "2024-02-05", "amount": 10, "shop": "x"}])
    with pytest.raises(QueryError, match="customer"):
        w.query({"kind": "churn", "customer": "shop", "by": "nps"})
    with pytest.raises(CxlensError):  # one customer: nothing to estimate, but a clean error
        w.query({"kind": "clv", "calibration_end": "2024-01-31"})
    w.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=hs.integers(0, 10_000), n=hs.integers(2, 40))
def test_summary_row_order_free_and_equal_to_pandas(seed: int, n: int) -> None:
    tx = synthetic_tx(seed, n)
    shuffled = tx.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    w = cxlens.Workspace()
    w.add("transactions", shuffled)
    s = rft_summary(w, TransactionSource(), parse_day("2023-06-30", "c"), None, "day")
    ref = rfm_summary(tx["distinct_id"], tx["timestamp"], tx["amount"], "2023-06-30", "day")
    w.close()
    assert list(s["customer"]) == list(ref["customer"])
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(s[col], ref[col].to_numpy(), atol=1e-9)
    assert np.all(s["recency"] <= s["T"]) and np.all(s["frequency"] >= 0)


def test_too_long_horizon_is_a_clear_error(ws) -> None:
    with pytest.raises(CxlensError, match="horizon"):
        ws.query({"kind": "clv", "calibration_end": "2023-09-30", "time_unit": "day", "horizon": 1e9,
                  "discount_period": "day", "limit": 0})


def test_churn_from_events_and_subscriptions_by_account() -> None:
    w = cxlens.Workspace()
    w.add("events", [
        {"distinct_id": "u1", "event": "login", "timestamp": "2024-01-01"},
        {"distinct_id": "u1", "event": "login", "timestamp": "2024-01-05"},
        {"distinct_id": "u2", "event": "login", "timestamp": "2024-01-01"},
        {"distinct_id": "u2", "event": "login", "timestamp": "2024-03-01"},
    ])
    r = w.query({"kind": "churn", "table": "events", "inactivity_days": 30, "at": [4, 60]})
    # u1: last activity 2024-01-05, 56 days before the end (2024-03-01) -> churned at 4 days; u2 censored at 60
    assert (r["customers"], r["churned"], r["observation_end"]) == (2, 1, "2024-03-01")
    assert [x["survival"] for x in r["survival"]["survival_at"]] == [0.5, 0.5]
    w.add("persons", [{"id": "p1", "distinct_ids": ["u1"], "account_id": "acme", "start": "2024-01-01",
                       "end": "2024-02-01"},
                      {"id": "p2", "distinct_ids": ["u2"], "account_id": "globex", "start": "2024-01-01"}])
    s = w.query({"kind": "churn", "source": "subscriptions", "start": "start", "end": "end", "by": "account",
                 "observation_end": "2024-03-01"})
    assert set(s["groups"]) == {"acme", "globex"} and s["churned"] == 1
    w.close()
