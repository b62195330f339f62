"""StatResult: summary DataFrame, JSON-safe dict, HTML and text representations."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest

from cxlens.stats import NpsCounts, StatResult, mean_ci, nps, two_proportion_test
from cxlens.stats.sufficient import ProportionStat


def test_summary_is_one_row_dataframe() -> None:
    r = nps(NpsCounts(690, 392, 1271))
    s = r.summary
    assert isinstance(s, pd.DataFrame) and s.shape[0] == 1
    assert list(s.columns) == [
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "confidence",
        "p_value",
        "method",
        "warnings",
    ]
    assert s.index.name == "metric" and s.index[0] == "nps"
    assert s.loc["nps", "estimate"] == pytest.approx(r.estimate)
    assert math.isnan(s.loc["nps", "p_value"])
    combined = pd.concat(
        [r.summary, two_proportion_test(ProportionStat(10, 8), ProportionStat(10, 3)).summary]
    )
    assert list(combined.index) == ["nps", "difference_in_proportions"]


def test_to_dict_is_json_safe() -> None:
    r = mean_ci([5.0])  # NaN interval
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["ci_low"] is None and d["ci_high"] is None and d["p_value"] is None
    assert json.loads(text)["estimate"] == 5.0
    assert isinstance(d["warnings"], list)
    full = two_proportion_test(ProportionStat(3, 3), ProportionStat(3, 0)).to_dict()
    json.dumps(full, allow_nan=False)
    assert set(full) >= {"estimate", "ci_low", "ci_high", "n", "method", "confidence", "p_value", "warnings"}


def test_html_and_text() -> None:
    r = StatResult(0.5, 0.2, 0.8, 10, "adjusted-Wald", metric="csat", warnings=("n < 30 <small>",))
    html = r._repr_html_()
    assert "csat" in html and "adjusted-Wald" in html and "&lt;small&gt;" in html and "<table" in html
    text = str(r)
    assert text.startswith("csat = 0.5 (95% CI 0.2 to 0.8), n = 10") and "warning: n < 30" in text


def test_frozen_and_hashable() -> None:
    r = nps(NpsCounts(5, 3, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.estimate = 1.0  # type: ignore[misc]
    assert hash(r) == hash(nps(NpsCounts(5, 3, 2)))
    assert r.ci == (r.ci_low, r.ci_high)
