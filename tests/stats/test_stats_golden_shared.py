"""Golden tests on the real files in ``../shared/data`` (skipped with a reason when the folder is absent).

Figures from ../shared/docs/golden-figures.md; each test names the dataset and the source of the figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlens.stats import (
    LogMeanStat,
    MeanStat,
    NpsCounts,
    ProportionStat,
    completion_rate,
    geometric_mean_ci,
    mean_ci,
    nps,
    sus,
    sus_scores,
)

pytestmark = pytest.mark.shared

OPENSHIFT = "usability/openshift_sum_benchmark/final-combined-data.csv"
VR_SUS = "usability/vr_queue_sus/sus.csv"
NPS_CSV = "surveys/nps_verbatims_textsummary/text_data_verbatim.csv"


@pytest.fixture
def openshift(shared_data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data_dir / OPENSHIFT)


# golden-figures.md, Usability, OpenShift: published in carljpearson/openshift-sum docs/index.html
GEOMEAN_TIME = {1: (62.4, 83.7, 394.7, 364.9), 2: (50.8, 52.7, 269.2, 248.4)}
COMPLETED = {1: ((20, 20), (20, 20), (4, 20), (11, 20)), 2: ((13, 13), (13, 13), (4, 13), (6, 13))}
MEAN_SAT = {1: (4.70, 4.43, 2.38, 3.38), 2: (4.87, 4.77, 3.44, 3.62)}


def test_openshift_shape(openshift: pd.DataFrame) -> None:
    """132 rows = 33 participants x 4 tasks; version 1 has 20 participants, version 2 has 13."""
    assert len(openshift) == 132
    assert openshift.groupby("group")["par"].nunique().to_dict() == {1: 20, 2: 13}


@pytest.mark.parametrize("group", [1, 2])
def test_openshift_completion_and_geometric_mean_time(openshift: pd.DataFrame, group: int) -> None:
    """golden-figures.md: OpenShift, from carljpearson/openshift-sum docs/index.html: completion counts and
    geometric-mean time of completed tasks (s) per task and version, one decimal."""
    for task in (1, 2, 3, 4):
        rows = openshift[(openshift["group"] == group) & (openshift["task"] == task)]
        comp = ProportionStat.from_values(rows["comp"])
        assert (comp.successes, comp.n) == COMPLETED[group][task - 1]
        times = rows.loc[rows["comp"] == 1, "time"]
        r = geometric_mean_ci(times)
        assert round(r.estimate, 1) == GEOMEAN_TIME[group][task - 1]
        assert r.ci_low < r.estimate < r.ci_high


def test_openshift_geometric_mean_from_merged_sufficient_statistics(openshift: pd.DataFrame) -> None:
    """The same published figure computed from per-participant LogMeanStats merged afterwards
    (what a database GROUP BY would return): version 1, task 3 -> 394.7 s."""
    rows = openshift[(openshift["group"] == 1) & (openshift["task"] == 3) & (openshift["comp"] == 1)]
    parts = [LogMeanStat.from_values([t]) for t in rows["time"]]
    assert round(geometric_mean_ci(LogMeanStat.merge(parts)).estimate, 1) == 394.7


def test_openshift_adjusted_wald_from_file(openshift: pd.DataFrame) -> None:
    """golden-figures.md: OpenShift adjusted-Wald with z = 1.64: 11/20 -> 0.544 (lower bound 0.373)."""
    rows = openshift[(openshift["group"] == 1) & (openshift["task"] == 4)]
    r = completion_rate(rows["comp"], z=1.64, point="adjusted")
    assert (round(r.estimate, 3), round(r.ci_low, 3)) == (0.544, 0.373)


@pytest.mark.parametrize("group", [1, 2])
def test_openshift_mean_satisfaction(openshift: pd.DataFrame, group: int) -> None:
    """golden-figures.md: OpenShift mean satisfaction per task, all participants of the group, two decimals;
    sd with n - 1: v1 task 1 sd 0.445 (n 20), v2 task 1 sd 0.256 (n 13)."""
    for task in (1, 2, 3, 4):
        rows = openshift[(openshift["group"] == group) & (openshift["task"] == task)]
        r = mean_ci(MeanStat.from_values(rows["sat"]))
        assert round(r.estimate, 2) == MEAN_SAT[group][task - 1]
        if task == 1:
            assert round(r.extra["sd"], 3) == {1: 0.445, 2: 0.256}[group]
            assert r.n == {1: 20, 2: 13}[group]


def test_vr_sus_from_text_labels(shared_data_dir: Path) -> None:
    """golden-figures.md, Usability, vr_queue_sus (Count): SUS mean 71.67, sd 15.19, median 75.0,
    min 37.5, max 97.5, 95% t-interval 66.0-77.3, from the text answers as distributed."""
    df = pd.read_csv(shared_data_dir / VR_SUS)
    items = [c for c in df.columns if c != "Participant ID"]
    r = sus(df, items=items)
    assert r.n == 30
    assert round(r.estimate, 2) == 71.67
    assert round(r.extra["sd"], 2) == 15.19
    assert (r.extra["median"], r.extra["min"], r.extra["max"]) == (75.0, 37.5, 97.5)
    assert (round(r.ci_low, 1), round(r.ci_high, 1)) == (66.0, 77.3)
    scores = sus_scores(df.set_index("Participant ID"))
    assert list(scores.columns) == ["sus", "usability", "learnability"]
    assert scores.index.name == "Participant ID"


@pytest.fixture
def nps_rows(shared_data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data_dir / NPS_CSV)


def test_nps_from_raw_scores(nps_rows: pd.DataFrame) -> None:
    """golden-figures.md, Surveys, nps_verbatims_textsummary (Count): 2,385 rows, 32 missing scores;
    690 / 392 / 1,271 -> NPS -24.7."""
    assert len(nps_rows) == 2385
    counts = NpsCounts.from_scores(nps_rows["NPS_SCORE"])
    assert counts == NpsCounts(promoters=690, passives=392, detractors=1271)
    assert round(nps(counts).estimate, 1) == -24.7


def test_nps_by_stage_and_merge(nps_rows: pd.DataFrame) -> None:
    """golden-figures.md (Count): NPS by SURVEY_SUB_TYPE: Order -10.0, First Payment -29.3,
    Equipment Received -56.7, Service in Use -76.7; the stage counts merge back to the overall counts."""
    expected = {"Order": -10.0, "First Payment": -29.3, "Equipment Received": -56.7, "Service in Use": -76.7}
    per_stage = {
        stage: NpsCounts.from_scores(g["NPS_SCORE"]) for stage, g in nps_rows.groupby("SURVEY_SUB_TYPE")
    }
    assert {k: round(nps(v).estimate, 1) for k, v in per_stage.items()} == expected
    assert NpsCounts.merge(per_stage.values()) == NpsCounts(690, 392, 1271)
    # the bands agree with the file's own NPS_RATING labels on every scored row
    scored = nps_rows.dropna(subset=["NPS_SCORE"])
    band = np.select(
        [scored["NPS_SCORE"] >= 9, scored["NPS_SCORE"] >= 7], ["Promoter", "Passive"], "Detractor"
    )
    assert (band == scored["NPS_RATING"].to_numpy()).all()
