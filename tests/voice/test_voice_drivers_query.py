"""Query kind ``drivers``: pivot of responses, seeded simulation with known weights, NHS FFT themes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import cxlens
from cxlens.errors import QueryError

TRUE_BETA = {"price": 0.2, "support": 0.6, "ease": 0.4, "design": 0.0}


def _simulated_survey(n: int = 3000, seed: int = 42, missing: int = 0) -> tuple[cxlens.Workspace, pd.DataFrame]:
    """A relationship survey: four independent 1-5 attribute ratings and a 0-10 likelihood to recommend."""
    rng = np.random.default_rng(seed)
    attrs = {k: rng.integers(1, 6, n).astype(float) for k in TRUE_BETA}
    y = sum(b * attrs[k] for k, b in TRUE_BETA.items()) + rng.normal(0, 0.8, n)
    nps = np.clip(np.round(y - y.mean() + 7), 0, 10)
    rows = []
    for i in range(n):  # building the fixture, not product code
        rid = f"r{i}"
        rows.append({"survey": "rel", "question": "nps", "question_type": "nps", "response_id": rid,
                     "score": float(nps[i]), "timestamp": "2024-05-01T00:00:00Z"})
        for k in TRUE_BETA:
            if i < missing and k == "price":
                continue
            rows.append({"survey": "rel", "question": k, "question_type": "rating", "response_id": rid,
                         "score": attrs[k][i], "scale_min": 1, "scale_max": 5, "timestamp": "2024-05-01T00:00:00Z"})
    ws = cxlens.Workspace()
    ws.add("responses", rows)
    return ws, pd.DataFrame({"nps": nps, **attrs})


@pytest.fixture(scope="module")
def survey():
    return _simulated_survey(missing=25)


def test_simulation_recovers_known_weights(survey):
    ws, df = survey
    res = ws.query({"kind": "drivers", "survey": "rel", "outcome": "nps", "n_boot": 300, "seed": 3})
    assert res["n_submissions"] == 3000 and res["n"] == 2975 and res["n_dropped_incomplete"] == 25
    order = [r["driver"] for r in res["rows"]]
    assert order == ["support", "ease", "price", "design"]  # true betas 0.6 > 0.4 > 0.2 > 0
    full = df.iloc[25:]
    fit = sm.OLS(full["nps"], sm.add_constant(full[list(TRUE_BETA)])).fit()
    assert res["r2"] == pytest.approx(fit.rsquared, abs=1e-10)
    rows = {r["driver"]: r for r in res["rows"]}
    # independent uniform drivers: true R² shares are proportional to beta² (var of each rating is equal)
    b2 = np.array([TRUE_BETA[k] ** 2 for k in ("price", "support", "ease", "design")])
    truth = b2 / b2.sum()
    got = np.array([rows[k]["shapley"]["share"] for k in ("price", "support", "ease", "design")])
    np.testing.assert_allclose(got, truth, atol=0.04)
    for r in res["rows"]:
        for key in ("shapley", "relative_weight"):
            assert r[key]["ci_low"] <= r[key]["estimate"] <= r[key]["ci_high"]
        assert r["performance"] == pytest.approx(100 * (full[r["driver"]].mean() - 1) / 4)
        assert r["quadrant"] in {"concentrate here", "keep up the good work", "low priority", "possible overkill"}
    assert sum(r["shapley"]["estimate"] for r in res["rows"]) == pytest.approx(res["r2"])
    again = ws.query({"kind": "drivers", "survey": "rel", "outcome": "nps", "n_boot": 300, "seed": 3})
    assert again["rows"] == res["rows"]


def test_named_drivers_and_errors(survey):
    ws, _ = survey
    res = ws.query({"kind": "drivers", "outcome": "nps", "drivers": ["support", "ease"], "n_boot": 0})
    assert [r["driver"] for r in res["rows"]] == ["support", "ease"]
    assert res["rows"][0]["shapley"]["ci_low"] is None
    with pytest.raises(QueryError, match="no answered score for outcome"):
        ws.query({"kind": "drivers", "outcome": "csat"})
    with pytest.raises(QueryError, match="'speed'"):
        ws.query({"kind": "drivers", "outcome": "nps", "drivers": ["speed"]})
    with pytest.raises(QueryError, match="themes must name a property"):
        ws.query({"kind": "drivers", "outcome": "nps", "themes": "x'); drop table responses; --"})


def test_nhs_fft_themes_as_drivers(shared_data):
    path = shared_data / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv"
    ws = cxlens.Workspace()
    ws.import_file("responses", path, preset="nhs_fft")
    res = ws.query({"kind": "drivers", "outcome": "fft", "themes": "topics", "max_themes": 6,
                    "min_theme_count": 50, "n_boot": 100, "higher_is_better": False})
    assert res["higher_is_better"] is False  # FFT: 1 = very good ... 5 = very poor
    # independent: pandas one-hot of the raw topic columns per respondent with a comment, statsmodels OLS
    raw = pd.read_csv(path, keep_default_na=False, na_values=[""])  # the answer "None" is text, not missing
    raw = raw[raw["FFT answer"].fillna("").astype(str).str.strip() != ""]
    raw["Respondent ID"] = raw["Respondent ID"].fillna(raw["Comment ID"]).astype(str)
    themes = [r["driver"] for r in res["rows"]]
    raw[themes] = raw[themes].fillna(0)  # topic flags are 1 or blank
    per = raw.groupby("Respondent ID").agg({**{t: "max" for t in themes}, "FFT categorical answer": "first"})
    per = per[per["FFT categorical answer"].between(1, 5)]
    assert res["n"] == len(per)
    fit = sm.OLS(per["FFT categorical answer"].astype(float), sm.add_constant(per[themes].astype(float))).fit()
    assert res["r2"] == pytest.approx(fit.rsquared, abs=1e-9)
    for r in res["rows"]:
        assert r["mentions"] == int(per[r["driver"]].sum())
        assert r["mentions"] >= 50
    top = res["rows"][0]
    assert top["driver"] == "Positive experience & gratitude" and top["direction"] == "better"
