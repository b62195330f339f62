"""Query kind ``tickets``: golden CFPB figures, spike tests, clusters, timeliness, resolution, intents."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import rates as sm_rates

import cxlens
from cxlens.errors import QueryError
from cxlens.query._voice import poisson_rise_test
from cxlens.query.ticket_clusters import recurring_clusters
from cxlens.stats import median_ci

CFPB = "support_tickets/cfpb_complaints"


_CACHE: dict[str, tuple[cxlens.Workspace, pd.DataFrame]] = {}


@pytest.fixture
def cfpb_2023(shared_data):
    """The CFPB 2023-04 sample imported once per test session (and the raw file for cross-checks)."""
    if "2023" not in _CACHE:
        path = shared_data / CFPB / "cfpb_complaints_2023-04_sample.csv"
        ws = cxlens.Workspace()
        ws.import_file("tickets", path, preset="cfpb")
        _CACHE["2023"] = (ws, pd.read_csv(path, dtype=str))
    return _CACHE["2023"]


def test_cfpb_2023_golden_counts(cfpb_2023):
    ws, raw = cfpb_2023
    # golden-figures.md, CFPB 2023-04 sample: 3,999 rows; 59 distinct issues; Web 3,888, Phone 75;
    # timely responses 99.8%
    res = ws.query({"kind": "tickets", "by": ["category"], "top": None, "include": ["volume", "timely"]})
    assert res["total"] == 3999
    assert len(res["volume"]) == 59
    ch = ws.query({"kind": "tickets", "by": ["channel"], "include": ["volume"]})
    counts = {r["channel"]: r["count"] for r in ch["volume"]}
    assert counts["Web"] == 3888 and counts["Phone"] == 75
    tm = res["timely"]
    assert round(100 * tm["rate"], 1) == 99.8
    assert tm["ci_low"] < tm["rate"] < tm["ci_high"]
    # independent count with pandas on the raw file
    assert tm["timely"] == int((raw["Timely_response?"] == "Yes").sum())


def test_cfpb_2023_top_products_and_issues_match_pandas(cfpb_2023):
    ws, raw = cfpb_2023
    for by, col in (("product", "Product"), ("category", "Issue")):
        res = ws.query({"kind": "tickets", "by": [by], "top": 5, "include": ["volume"]})
        expected = raw[col].value_counts().head(5)
        assert [r[by] for r in res["volume"]] == list(expected.index)
        assert [r["count"] for r in res["volume"]] == list(expected.to_numpy())
        for r in res["volume"]:
            assert r["share"] == pytest.approx(r["count"] / 3999)
            assert r["share_ci_low"] < r["share"] < r["share_ci_high"]
    top = ws.query({"kind": "tickets", "by": ["product"], "top": 1, "include": ["volume"]})["volume"][0]
    assert top["product"].startswith("Credit reporting")


def test_cfpb_2023_company_is_a_property_group(cfpb_2023):
    ws, raw = cfpb_2023
    res = ws.query({"kind": "tickets", "by": ["company"], "top": None, "include": ["volume"]})
    # golden-figures.md: 229 companies
    assert len(res["volume"]) == 229
    assert res["volume"][0]["count"] == raw["Company"].value_counts().iloc[0]


def test_cfpb_2023_recurring_clusters_with_example_narratives(cfpb_2023):
    ws, raw = cfpb_2023
    res = ws.query({"kind": "tickets", "include": ["clusters"], "cluster_threshold": 0.4, "example_chars": 100_000})
    cl = res["clusters"]
    # golden-figures.md: 141 narratives
    assert cl["texts"] == 141
    assert cl["clusters"] >= 2
    narratives = {" ".join(t.split()) for t in raw["Consumer_complaint_narrative"].dropna()}
    for c in cl["rows"]:
        assert c["count"] >= 3
        assert c["first_seen"] <= c["last_seen"]
        assert c["examples"] and all(e in narratives for e in c["examples"])
        assert c["top_terms"]
    # the templated "multiple addresses" letters of 2023-04-13 form one cluster
    addr = [c for c in cl["rows"] if any("multiple addresses" in e for e in c["examples"])]
    assert addr and addr[0]["first_seen"] == addr[0]["last_seen"] == "2023-04-13"


def test_cfpb_2016_2020_response_categories(shared_data):
    ws = cxlens.Workspace()
    ws.import_file("tickets", shared_data / CFPB / "cfpb_complaints_2016-2020_sample.csv", preset="cfpb")
    res = ws.query({"kind": "tickets", "include": ["timely"], "period": "year"})
    # golden-figures.md, 2016-2020 sample: 268 rows; 215 "Closed with explanation", 40 "Closed with
    # non-monetary relief", 10 with monetary relief, 2 "Untimely response"
    assert res["total"] == 268
    assert (res["first"], res["last"]) == ("2016-07-13", "2020-06-29")
    resp = {r["response"]: r["count"] for r in res["timely"]["responses"]}
    assert resp["Closed with explanation"] == 215
    assert resp["Closed with non-monetary relief"] == 40
    assert resp["Closed with monetary relief"] == 10
    assert resp["Untimely response"] == 2


# -- synthetic ------------------------------------------------------------------------------------------


def _tickets(rows: list[dict]) -> cxlens.Workspace:
    ws = cxlens.Workspace()
    ws.add("tickets", rows)
    return ws


def _daily(product: str, per_day: list[int], start: datetime) -> list[dict]:
    out = []
    for d, k in enumerate(per_day):
        for i in range(k):
            out.append({"ticket_id": f"{product}-{d}-{i}", "product": product,
                        "opened_at": (start + timedelta(days=d, hours=i % 24)).isoformat() + "Z"})
    return out


def test_spike_flagged_only_where_the_rate_rises():
    start = datetime(2024, 1, 1)  # a Monday
    rows = _daily("steady", [10] * 21, start) + _daily("spiky", [10] * 14 + [30] * 7, start)
    ws = _tickets(rows)
    res = ws.query({"kind": "tickets", "period": "week", "include": ["trend"]})
    spikes = {(r["product"], r["period"]) for r in res["spikes"]}
    assert spikes == {("spiky", "2024-01-15")}
    row = next(r for r in res["trend"] if r["product"] == "spiky" and r["period"] == "2024-01-15")
    assert row["previous_count"] == 70 and row["count"] == 210
    assert row["rate_ratio"] == pytest.approx(3.0)
    assert row["p_value_adjusted"] >= row["p_value"]


def test_partial_last_period_is_compared_per_observed_day():
    start = datetime(2024, 1, 1)
    # same rate (10/day) but the last week has only 2 observed days: raw counts would look like a drop
    rows = _daily("a", [10] * 16, start)
    res = ws_q = _tickets(rows).query({"kind": "tickets", "period": "week", "include": ["trend"]})
    last = res["trend"][-1]
    assert last["exposure"] == 2 and last["count"] == 20
    assert last["rate_ratio"] == pytest.approx(1.0)
    assert not res["spikes"]
    del ws_q


def test_quiet_period_counts_as_zero():
    start = datetime(2024, 1, 1)
    rows = _daily("a", [5] * 7 + [0] * 7 + [5] * 7, start)
    res = _tickets(rows).query({"kind": "tickets", "period": "week", "include": ["trend"]})
    assert [r["count"] for r in res["trend"]] == [35, 0, 35]


@settings(max_examples=40, deadline=None)
@given(k1=st.integers(0, 60), k0=st.integers(0, 60), e1=st.integers(1, 31), e0=st.integers(1, 31))
def test_poisson_rise_test_equals_statsmodels_exact_conditional(k1, k0, e1, e0):
    p = poisson_rise_test(np.array([k1]), np.array([k0]), np.array([e1]), np.array([e0]))[0]
    if k1 + k0 == 0:
        assert np.isnan(p)
        return
    ref = sm_rates.test_poisson_2indep(k1, e1, k0, e0, method="exact-cond", alternative="larger").pvalue
    assert p == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_per_1000_active_persons_when_events_exist():
    ws = cxlens.Workspace()
    events = [{"distinct_id": f"u{i}", "event": "open", "timestamp": "2024-03-05T10:00:00Z"} for i in range(40)]
    ws.add("events", [*events, {"distinct_id": "u0", "event": "open", "timestamp": "2024-03-06T10:00:00Z"}])
    ws.add("tickets", [{"ticket_id": str(i), "product": "app" if i < 3 else "web", "distinct_id": f"u{i}",
                        "opened_at": "2024-03-05T12:00:00Z"} for i in range(4)])
    res = ws.query({"kind": "tickets", "include": ["volume"]})
    assert res["active_persons"] == 40
    app = next(r for r in res["volume"] if r["product"] == "app")
    assert app["per_1000_active"] == pytest.approx(3 / 40 * 1000)
    assert app["per_1000_ci_low"] < app["per_1000_active"] < app["per_1000_ci_high"]


def test_resolution_time_median_with_interval():
    rng = np.random.default_rng(4)
    hours = rng.gamma(2.0, 10.0, size=60)
    t0 = datetime(2024, 2, 1)
    rows = [{"ticket_id": str(i), "product": "p", "opened_at": t0.isoformat() + "Z",
             "closed_at": (t0 + timedelta(seconds=int(h * 3600))).isoformat() + "Z"} for i, h in enumerate(hours)]
    res = _tickets(rows).query({"kind": "tickets", "include": ["resolution"]})
    d = res["resolution"]["to_close"]
    exact = np.floor(hours * 3600) / 3600
    ref = median_ci(exact)
    assert d["n"] == 60
    assert d["median_hours"] == pytest.approx(np.median(exact))
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    assert res["resolution"]["to_first_response"] is None


def test_clusters_group_templates_and_ignore_row_order():
    templates = [
        "The app crashes every time I open the payment screen on my phone",
        "I was charged twice for the same order and nobody refunds the duplicate charge",
        "Password reset email never arrives so I cannot log in to my account",
    ]
    rng = np.random.default_rng(0)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    texts = [f"{t} {w}" for t in templates for w in words[:6]]
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    texts += [" ".join("".join(rng.choice(letters, 7)) for _ in range(8)) for _ in range(10)]
    seen = np.array(["2024-01-01"] * len(texts), dtype="datetime64[us]")
    import pyarrow as pa

    rows, info = recurring_clusters(pa.array(texts), seen, threshold=0.5, min_size=3)
    assert sorted(r["count"] for r in rows)[-3:] == [6, 6, 6]
    assert info["clustered_texts"] >= 18
    perm = rng.permutation(len(texts))
    rows2, _ = recurring_clusters(pa.array([texts[i] for i in perm]), seen[perm], threshold=0.5, min_size=3)
    assert sorted(r["count"] for r in rows2) == sorted(r["count"] for r in rows)
    agg, _ = recurring_clusters(pa.array(texts), seen, threshold=0.5, min_size=3, method="agglomerative")
    assert sorted(r["count"] for r in agg)[-3:] == [6, 6, 6]


def test_errors_name_fields():
    ws = _tickets([{"ticket_id": "1", "product": "a", "opened_at": "2024-01-01T00:00:00Z"}])
    with pytest.raises(QueryError, match="period"):
        ws.query({"kind": "tickets", "include": ["trend"]})
    with pytest.raises(QueryError, match="unknown field"):
        ws.query({"kind": "tickets", "bogus": 1})
    with pytest.raises(QueryError, match=r"cluster_threshold|less than 1"):
        ws.query({"kind": "tickets", "include": ["clusters"], "cluster_threshold": 1.5})
    empty = cxlens.Workspace().query({"kind": "tickets"})
    assert empty["total"] == 0 and empty["notes"]


def test_intents_aggregate_route_intents_output(monkeypatch):
    import pyarrow as pa

    text = pytest.importorskip("cxlens.text")

    def fake_route(texts, method="tfidf"):
        intent = ["refund" if "money" in t else "cancel_order" for t in texts]
        return pa.table({"intent": intent, "category": ["REFUND" if i == "refund" else "ORDER" for i in intent],
                         "confidence": [0.9] * len(texts)})

    monkeypatch.setattr(text, "route_intents", fake_route, raising=False)
    ws = _tickets([{"ticket_id": str(i), "text": "I want my money back" if i % 3 else "cancel it",
                    "opened_at": "2024-01-01T00:00:00Z"} for i in range(9)])
    res = ws.query({"kind": "tickets", "include": ["intents"]})
    rows = {r["intent"]: r for r in res["intents"]["rows"]}
    assert rows["refund"]["count"] == 6 and rows["cancel_order"]["count"] == 3
    assert rows["refund"]["share"] == pytest.approx(6 / 9)


def test_intents_with_the_text_model_on_bitext(shared_data):
    text = importlib.import_module("cxlens.text")
    if not hasattr(text, "route_intents"):
        pytest.skip("cxlens.text.route_intents is not built yet (text engineer)")
    ws = cxlens.Workspace()
    ws.import_file("tickets", shared_data / "support_tickets/bitext_intent_detection/"
                   "Bitext_Sample_Customer_Service_Testing_Dataset.csv", preset="bitext")
    res = ws.query({"kind": "tickets", "include": ["intents"]})
    assert res["intents"]["texts"] == 810  # golden-figures.md: 810 test utterances
    assert sum(r["count"] for r in res["intents"]["rows"]) == 810
    assert all(0 <= r["mean_confidence"] <= 1 for r in res["intents"]["rows"])


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 40)), min_size=1, max_size=60),
       st.randoms(use_true_random=False))
def test_volume_and_trend_do_not_depend_on_row_order(items, rnd):
    rows = [{"ticket_id": str(i), "product": p, "opened_at": (datetime(2024, 1, 1) + timedelta(days=d)).isoformat()}
            for i, (p, d) in enumerate(items)]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    q = {"kind": "tickets", "period": "week", "include": ["volume", "trend"], "top": None}
    a, b = _tickets(rows).query(q), _tickets(shuffled).query(q)
    assert a["volume"] == b["volume"] and a["trend"] == b["trend"]
    assert sum(r["count"] for r in a["volume"]) == len(rows) == sum(r["count"] for r in a["trend"])
    for r in a["volume"]:
        assert r["share_ci_low"] <= r["share"] <= r["share_ci_high"]
