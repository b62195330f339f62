"""Kaplan-Meier / log-rank wrappers and duration helpers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import CxlensInputError
from cxlens.lifetime import (
    compare_survival,
    durations_from_activity,
    durations_from_subscriptions,
    kaplan_meier,
)

# Remission times (weeks) of the leukemia trial of Freireich et al. (1963), as analysed by Gehan (1965) and
# in Kleinbaum & Klein, "Survival Analysis: A Self-Learning Text" (Springer, 3rd ed. 2012), chapter 2.
SIX_MP = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_kaplan_meier_matches_textbook_table() -> None:
    # Source: Kleinbaum & Klein (2012), ch. 2: KM estimates for the 6-MP group
    # S(6) = 0.857, S(7) = 0.807, S(10) = 0.753, S(13) = 0.690, S(16) = 0.627, S(22) = 0.538, S(23) = 0.448.
    km = kaplan_meier(SIX_MP, SIX_MP_EVENT, at=[6, 7, 10, 13, 16, 22, 23])
    got = km["survival_at"]["survival"]
    for g, want in zip(got, [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448], strict=True):
        assert abs(g - want) <= 0.0005
    assert (km["n"], km["events"], km["censored"]) == (21, 9, 12)
    assert km["median"] == 23.0  # same source: median remission 23 weeks (6-MP), 8 weeks (placebo)
    assert km["median_ci"][1] is None  # upper bound not reached: JSON null, not inf
    curve = km["curve"]
    assert curve["time"][0] == 0.0 and curve["survival"][0] == 1.0
    assert all(
        lo <= s <= hi for lo, s, hi in zip(curve["lower"], curve["survival"], curve["upper"], strict=True)
    )
    json.dumps(km, allow_nan=False)


def test_log_rank_matches_textbook() -> None:
    # Source: Kleinbaum & Klein (2012), ch. 2: log-rank statistic 16.79 (1 df), p < 0.0001,
    # for 6-MP vs placebo.
    res = compare_survival(SIX_MP + PLACEBO, SIX_MP_EVENT + [1] * 21, ["6-MP"] * 21 + ["placebo"] * 21)
    lr = res["logrank"]
    assert lr["test"] == "logrank" and lr["degrees_of_freedom"] == 1
    assert abs(lr["test_statistic"] - 16.79) <= 0.005
    assert lr["p_value"] < 0.0001
    assert res["groups"]["placebo"]["median"] == 8.0
    json.dumps(res, allow_nan=False)


def test_multi_group_log_rank_and_thinning() -> None:
    groups = ["a"] * 10 + ["b"] * 11 + ["c"] * 21
    res = compare_survival(SIX_MP + PLACEBO, SIX_MP_EVENT + [1] * 21, groups, max_points=5)
    assert res["logrank"]["test"] == "multivariate_logrank" and res["logrank"]["degrees_of_freedom"] == 2
    assert all(len(g["curve"]["time"]) <= 5 for g in res["groups"].values())
    with pytest.raises(CxlensInputError, match="at least two groups"):
        compare_survival([1, 2], [1, 1], ["a", "a"])


def test_kaplan_meier_input_errors() -> None:
    with pytest.raises(CxlensInputError, match="0 \\(censored\\) or 1"):
        kaplan_meier([1, 2], [1, 2])
    with pytest.raises(CxlensInputError, match=">= 0"):
        kaplan_meier([-1, 2])
    with pytest.raises(CxlensInputError, match="same length"):
        kaplan_meier([1, 2], [1])


def test_durations_from_subscriptions() -> None:
    d = durations_from_subscriptions(
        ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-01"],
        ["2024-01-31", None, "2024-12-01", pd.NaT],
        observation_end="2024-06-30",
    )
    assert d["duration"].tolist() == [30.0, 150.0, 121.0, 181.0]
    assert d["event"].tolist() == [1, 0, 0, 0]  # the December end is after the observation end
    w = durations_from_subscriptions(["2024-01-01"], ["2024-01-15"], unit="week")
    assert w["duration"].tolist() == [2.0] and w["event"].tolist() == [1]
    with pytest.raises(CxlensInputError, match="end before they start"):
        durations_from_subscriptions(["2024-02-01"], ["2024-01-01"])


def test_durations_from_activity_inactivity_rule() -> None:
    ids = ["a", "a", "b", "c", "c", "d"]
    ts = ["2024-01-01", "2024-01-10", "2024-01-05", "2024-03-01", "2024-06-20", "2024-06-01"]
    d = durations_from_activity(ids, ts, inactivity_days=60, observation_end="2024-06-30").set_index(
        "customer"
    )
    # a: last activity 172 days before the end -> churned, lifetime 9 days; b: churned, 0 days
    assert (d.loc["a", "duration"], d.loc["a", "event"]) == (9.0, 1)
    assert (d.loc["b", "duration"], d.loc["b", "event"]) == (0.0, 1)
    # c: active 10 days before the end -> censored at the end; d: started 29 days before the end -> censored
    assert (d.loc["c", "duration"], d.loc["c", "event"]) == (121.0, 0)
    assert (d.loc["d", "duration"], d.loc["d", "event"]) == (29.0, 0)
    km = kaplan_meier(d["duration"], d["event"])
    assert km["events"] == 2 and km["n"] == 4
    with pytest.raises(CxlensInputError, match="inactivity_days"):
        durations_from_activity(ids, ts, inactivity_days=0)


def test_durations_from_activity_ignores_activity_after_end() -> None:
    d = durations_from_activity(["a", "a"], ["2024-01-01", "2024-12-01"], 30, observation_end="2024-06-30")
    assert d["last_activity"].iloc[0] == np.datetime64("2024-01-01")
    assert d["event"].iloc[0] == 1
