"""Golden tests against published figures, with the numbers embedded (no ../shared needed).

Each test names its source. Tolerances are the printed precision of the published figure.
"""

from __future__ import annotations

import pytest

from cxlens.stats import (
    NpsCounts,
    ProportionStat,
    completion_rate,
    nps,
    proportion_ci,
    sus,
    sus_grade,
    sus_percentile,
    task_time,
)


def test_adjusted_wald_4_of_5() -> None:
    """4 of 5 users complete, 95% adjusted-Wald -> 36% to 98%.

    Source: Sauro & Lewis, "Estimating completion rates from small samples using binomial confidence
    intervals", HFES 2005; measuringu.com/wald.htm (anchors.md §2 "Completion rate CI").
    """
    r = proportion_ci(ProportionStat(n=5, successes=4), 0.95, "adjusted-wald")
    assert round(r.ci_low * 100) == 36
    assert round(r.ci_high * 100) == 98
    assert r.estimate == pytest.approx(0.8)
    assert r.method.startswith("adjusted-Wald")


def test_geometric_mean_task_time_example() -> None:
    """Times 55, 65, 75, 62, 45, 135 s -> geometric mean 68 s, 95% CI 46-101 s.

    Source: Sauro & Lewis, "Average task times in usability tests: what to report?" (CHI 2010);
    measuringusability.com/time_intervals.php; QUX 2e ch. 3 (anchors.md §2 "Task time").
    """
    r = task_time([55, 65, 75, 62, 45, 135])
    assert r.method == "geometric mean, log-t interval"
    assert round(r.estimate) == 68
    assert round(r.ci_low) == 46
    assert round(r.ci_high) == 101


# golden-figures.md, Usability, OpenShift: from carljpearson/openshift-sum docs/index.html
# (rendered from openshift-sum-benchmarkdown.Rmd). Adjusted-Wald point estimate p' and the lower bound of
# the 90% interval with z = 1.64 exactly, as printed (z = 1.645 moves the third or fourth decimal).
OPENSHIFT_ADJUSTED_WALD = [
    # (successes, n, point estimate, lower bound, printed decimals of the bound)
    (20, 20, 0.941, 0.859, 3),
    (4, 20, 0.236, 0.0895, 4),
    (11, 20, 0.544, 0.373, 3),
    (13, 13, 0.914, 0.798, 3),
]


@pytest.mark.parametrize(("x", "n", "point", "lower", "digits"), OPENSHIFT_ADJUSTED_WALD)
def test_openshift_adjusted_wald_lower_bounds(
    x: int, n: int, point: float, lower: float, digits: int
) -> None:
    """golden-figures.md: OpenShift benchmark, from carljpearson/openshift-sum docs/index.html."""
    r = completion_rate(ProportionStat(n, x), z=1.64, point="adjusted")
    assert round(r.estimate, 3) == pytest.approx(point)
    assert round(r.ci_low, digits) == pytest.approx(lower)
    assert r.extra["z"] == 1.64
    assert r.confidence == pytest.approx(0.899, abs=5e-4)  # z = 1.64 is a 89.9% two-sided interval


def test_openshift_completion_counts_as_published() -> None:
    """golden-figures.md: OpenShift completion v1 20/20, 20/20, 4/20, 11/20; v2 13/13, 13/13, 4/13, 6/13."""
    v1 = [ProportionStat(20, x) for x in (20, 20, 4, 11)]
    v2 = [ProportionStat(13, x) for x in (13, 13, 4, 6)]
    assert [round(completion_rate(s).estimate, 2) for s in v1] == [1.0, 1.0, 0.2, 0.55]
    assert [round(completion_rate(s).estimate, 2) for s in v2] == [1.0, 1.0, 0.31, 0.46]
    # merged over versions: task 3 is 8 of 33
    assert ProportionStat.merge([v1[2], v2[2]]) == ProportionStat(33, 8)


def test_nps_from_published_counts() -> None:
    """690 promoters, 392 passives, 1,271 detractors -> NPS -24.7 (n = 2,353).

    Source: golden-figures.md, Surveys, nps_verbatims_textsummary (Count; fahadshery/textsummary @81eca77d).
    """
    r = nps(NpsCounts(promoters=690, passives=392, detractors=1271))
    assert r.n == 2353
    assert round(r.estimate, 1) == -24.7
    assert r.ci_low < r.estimate < r.ci_high
    assert r.warnings == ()


# VR queue SUS (golden-figures.md, Usability, vr_queue_sus): the 30 participants' answers to items 1-10 in
# sus.csv of Terascale-All-sensing-Research-Studio/vr-queue-waiting-sound-dataset @ec1c68eb (Apache-2.0;
# Ibragimov et al., Data in Brief 2026, 112681), text labels mapped to 1-5, one string per participant.
VR_SUS_ANSWERS = [
    "5151514251", "5151515152", "4251435341", "3151514351", "3151514131", "2143425222",
    "2341434243", "4142525331", "5152425252", "3151235242", "5154514154", "1431424121",
    "4243425143", "4151455341", "5343515354", "3234424424", "3141515143", "2142434523",
    "3244424224", "1142414412", "1211422511", "3333333333", "2121415221", "2141425343",
    "1123224242", "4152424252", "2524345532", "4352523433", "3141415141", "3241414242",
]  # fmt: skip


def test_vr_sus_figures_embedded() -> None:
    """golden-figures.md, Usability, vr_queue_sus: mean 71.67, sd 15.19, median 75.0, min 37.5, max 97.5,
    95% t-interval 66.0-77.3 (n = 30)."""
    answers = [[int(c) for c in row] for row in VR_SUS_ANSWERS]
    r = sus(answers)
    assert r.n == 30
    assert round(r.estimate, 2) == 71.67
    assert round(r.extra["sd"], 2) == 15.19
    assert r.extra["median"] == 75.0
    assert (r.extra["min"], r.extra["max"]) == (37.5, 97.5)
    assert (round(r.ci_low, 1), round(r.ci_high, 1)) == (66.0, 77.3)
    assert r.extra["grade"] == "C+"  # 71.1-72.5 on the Sauro-Lewis CGS


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "A+"), (84.1, "A+"), (84.0, "A"), (80.8, "A"), (80.7, "A-"), (78.9, "A-"), (78.8, "B+"),
     (77.2, "B+"), (77.1, "B"), (74.1, "B"), (74.0, "B-"), (72.6, "B-"), (72.5, "C+"), (71.1, "C+"),
     (71.0, "C"), (68, "C"), (65.0, "C"), (64.9, "C-"), (62.7, "C-"), (62.6, "D"), (51.7, "D"),
     (51.6, "F"), (0, "F")],
)  # fmt: skip
def test_sus_curved_grading_scale(score: float, grade: str) -> None:
    """Sauro-Lewis curved grading scale, Sauro & Lewis, Quantifying the User Experience 2nd ed. (2016),
    as listed in anchors.md §2 "SUS": A+ 84.1-100, A 80.8-84.0, ..., D 51.7-62.6, F < 51.7."""
    assert sus_grade(score) == grade


def test_sus_percentile_anchors() -> None:
    """measuringu.com/interpret-sus-score/ (anchors.md §2): 68 is the 50th percentile, 75 about the 73rd;
    CGS percentile ranges A+ 96-100th, C 41-59th, F 0-14th."""
    assert round(sus_percentile(68)) == 50
    assert round(sus_percentile(75)) == 73
    assert sus_percentile(84.1) == pytest.approx(96)
    assert 41 <= sus_percentile(65.0) <= sus_percentile(71.0) <= 59.99
    assert sus_percentile(51.6) < 15
    assert sus_percentile(100) == 100 and sus_percentile(0) == 0
