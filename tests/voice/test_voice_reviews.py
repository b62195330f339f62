"""Query kind ``reviews``: Maalej golden star counts, intervals cross-checked with scipy, change tests."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import stats as st

import cxlens
from cxlens.errors import QueryError

MAALEJ = "app_reviews/maalej_app_review_classification"


@pytest.fixture
def maalej(shared_data):
    ws = cxlens.Workspace()
    ws.import_file("reviews", sorted((shared_data / MAALEJ).glob("*.json")), preset="maalej")
    yield ws
    ws.close()


def test_maalej_star_distribution(maalej):
    res = maalej.query({"kind": "reviews"})
    row = res["rows"][0]
    # golden-figures.md, Maalej: stars 1/2/3/4/5 = 344 / 214 / 273 / 641 / 2,262 over all 3,734 rows
    assert row["n"] == 3734
    assert row["stars"] == {"1": 344, "2": 214, "3": 273, "4": 641, "5": 2262}
    mean = (344 + 2 * 214 + 3 * 273 + 4 * 641 + 5 * 2262) / 3734
    assert row["mean"] == pytest.approx(mean)
    assert row["top2_share"] == pytest.approx((641 + 2262) / 3734)
    # t interval cross-checked with scipy on the expanded ratings
    x = np.repeat([1, 2, 3, 4, 5], [344, 214, 273, 641, 2262])
    lo, hi = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert (row["mean_ci_low"], row["mean_ci_high"]) == pytest.approx((lo, hi))
    assert row["top2_ci_low"] < row["top2_share"] < row["top2_ci_high"]


def test_maalej_mean_stars_by_label(maalej):
    res = maalej.query({"kind": "reviews", "by": ["label"]})
    means = {r["label"]: round(r["mean"], 2) for r in res["rows"]}
    counts = {r["label"]: r["n"] for r in res["rows"]}
    # golden-figures.md: Bug 2.15, Feature 2.88, Rating 4.48, UserExperience 4.61; 370 / 295 / 2,462 / 607
    assert means == {"Bug": 2.15, "Feature": 2.88, "Rating": 4.48, "UserExperience": 4.61}
    assert counts == {"Bug": 370, "Feature": 295, "Rating": 2462, "UserExperience": 607}


def _reviews(ws: cxlens.Workspace, app: str, month: str, ratings: list[int]) -> None:
    ws.add("reviews", [{"review_id": f"{app}-{month}-{i}", "app": app, "rating": r,
                        "timestamp": f"{month}-10T12:00:00Z", "text": f"review {i}"} for i, r in enumerate(ratings)])


def test_significant_change_flagged_after_holm():
    ws = cxlens.Workspace()
    rng = np.random.default_rng(1)
    _reviews(ws, "stable", "2024-01", list(rng.choice([4, 5], 200)))
    _reviews(ws, "stable", "2024-02", list(rng.choice([4, 5], 200)))
    _reviews(ws, "broken", "2024-01", list(rng.choice([4, 5], 200)))
    _reviews(ws, "broken", "2024-02", list(rng.choice([1, 2], 200)))
    res = ws.query({"kind": "reviews", "by": ["app"], "period": "month", "compare": "previous_period"})
    feb = {r["app"]: r for r in res["rows"] if r["period"] == "2024-02-01"}
    assert feb["broken"]["significant"] and feb["broken"]["mean_change"] < -2
    assert not feb["stable"]["significant"]
    assert feb["broken"]["mean_p_value_adjusted"] >= feb["broken"]["mean_p_value"]
    # the Welch p-value equals scipy's
    jan = [r for r in ws.sql("SELECT rating FROM reviews WHERE app = 'broken' AND timestamp < '2024-02-01'")
           .column("rating").to_pylist()]
    febr = ws.sql("SELECT rating FROM reviews WHERE app = 'broken' AND timestamp >= '2024-02-01'").column(
        "rating").to_pylist()
    assert feb["broken"]["mean_p_value"] == pytest.approx(st.ttest_ind(febr, jan, equal_var=False).pvalue,
                                                          rel=1e-6, abs=1e-300)


def test_row_order_does_not_matter():
    a, b = cxlens.Workspace(), cxlens.Workspace()
    ratings = [1, 5, 5, 4, 3, 2, 5, 5, 4, 1]
    _reviews(a, "x", "2024-01", ratings)
    _reviews(b, "x", "2024-01", ratings[::-1])
    assert a.query({"kind": "reviews", "by": ["app"]})["rows"] == b.query({"kind": "reviews", "by": ["app"]})["rows"]


def test_compare_needs_a_period():
    with pytest.raises(QueryError, match="period"):
        cxlens.Workspace().query({"kind": "reviews", "compare": "previous_period"})


def test_class_shares_from_classify_reviews(monkeypatch):
    text = pytest.importorskip("cxlens.text")

    def fake(texts, titles=None, method="tfidf"):
        return ["bug_report" if "crash" in t else "praise" for t in texts]

    monkeypatch.setattr(text, "classify_reviews", fake, raising=False)
    ws = cxlens.Workspace()
    ws.add("reviews", [{"review_id": str(i), "app": "a", "rating": 1 if i < 3 else 5,
                        "text": "it crashes" if i < 3 else "love it"} for i in range(10)])
    res = ws.query({"kind": "reviews", "classify": True})
    rows = {r["class"]: r for r in res["classes"]["rows"]}
    assert rows["bug_report"]["count"] == 3 and rows["praise"]["count"] == 7
    assert rows["praise"]["share"] == pytest.approx(0.7)
    assert rows["praise"]["ci_low"] < 0.7 < rows["praise"]["ci_high"]


def test_maalej_classes_with_the_text_model(maalej):
    text = importlib.import_module("cxlens.text")
    if not hasattr(text, "classify_reviews"):
        pytest.skip("cxlens.text.classify_reviews is not built yet (text engineer)")
    res = maalej.query({"kind": "reviews", "classify": True})
    # 3,734 reviews (golden-figures.md), of which 2 have no text
    assert res["classes"]["texts"] == maalej.sql("SELECT count(text) AS n FROM reviews").column("n")[0].as_py()
    assert res["classes"]["texts"] == 3732
    assert {r["class"] for r in res["classes"]["rows"]} <= {"bug_report", "feature_request", "praise",
                                                            "user_experience"}
    assert sum(r["share"] for r in res["classes"]["rows"]) == pytest.approx(1.0)
    by = maalej.query({"kind": "reviews", "by": ["label"], "classify": True})["classes"]["rows"]
    plurality = {}
    for r in by:  # rows come sorted by group, largest class first
        plurality.setdefault(r["label"], r["class"])
    assert plurality["Bug"] == "bug_report" and plurality["Rating"] == "praise"
