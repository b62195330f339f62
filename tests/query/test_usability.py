"""Usability query kinds: tasks (OpenShift benchmark) and sus (VR queue study)."""

from __future__ import annotations

import pytest

import cxlens
from cxlens.stats import ProportionStat, completion_rate

OPENSHIFT = "usability/openshift_sum_benchmark/final-combined-data.csv"


@pytest.fixture
def openshift(ws: cxlens.Workspace, shared_data) -> cxlens.Workspace:
    ws.import_file("tasks", shared_data / OPENSHIFT,
                   mapping={"par": "participant", "group": "variant", "comp": "completed", "time": "time_s",
                            "sat": "satisfaction"}, constants={"study": "openshift"})
    return ws


def test_openshift_task_metrics(openshift: cxlens.Workspace) -> None:
    """golden-figures.md, usability/openshift_sum_benchmark (carljpearson/openshift-sum docs/index.html):
    completion g1 20/20, 20/20, 4/20, 11/20; g2 13/13, 13/13, 4/13, 6/13; geometric-mean time of completed
    tasks g1 62.4, 83.7, 394.7, 364.9 s; g2 50.8, 52.7, 269.2, 248.4 s; mean satisfaction g1 4.70 (task 1),
    g2 4.87 (task 1)."""
    res = openshift.query({"kind": "tasks", "study": "openshift", "confidence": 0.90})
    got = {(r["task"], r["variant"]): r for r in res["rows"]}
    successes = {("1", "1"): (20, 20), ("2", "1"): (20, 20), ("3", "1"): (4, 20), ("4", "1"): (11, 20),
                 ("1", "2"): (13, 13), ("2", "2"): (13, 13), ("3", "2"): (4, 13), ("4", "2"): (6, 13)}
    times = {("1", "1"): 62.4, ("2", "1"): 83.7, ("3", "1"): 394.7, ("4", "1"): 364.9,
             ("1", "2"): 50.8, ("2", "2"): 52.7, ("3", "2"): 269.2, ("4", "2"): 248.4}
    for key, (x, n) in successes.items():
        r = got[key]
        assert r["attempts"] == n
        assert r["completion"]["estimate"] == pytest.approx(x / n)
        ref = completion_rate(ProportionStat(n, x), 0.90)  # interval maths lives in cxlens.stats
        assert r["completion"]["ci_low"] == pytest.approx(ref.ci_low)
        assert round(r["time"]["estimate"], 1) == times[key]
        assert r["time"]["method"].startswith("geometric")
    assert round(got[("1", "1")]["satisfaction"]["estimate"], 2) == 4.70
    assert round(got[("1", "2")]["satisfaction"]["estimate"], 2) == 4.87


def test_openshift_version_comparison(openshift: cxlens.Workspace) -> None:
    res = openshift.query({"kind": "tasks", "compare": "variant"})
    v2 = [r for r in res["rows"] if r["variant"] == "2"]
    assert len(v2) == 4
    for r in v2:
        assert r["compared_with"] == "1"
        comp = r["comparison"]["completion"]
        assert comp["p_value_adjusted"] >= comp["p_value"]
        assert r["comparison"]["log_time"]["difference"] < 0  # version 2 was faster on every task


def test_sus_golden_vr_queue(ws: cxlens.Workspace, shared_data) -> None:
    """golden-figures.md, usability/vr_queue_sus: SUS mean 71.67, sd 15.19, median 75.0, min 37.5, max 97.5,
    n = 30; 95% t-interval 66.0-77.3 (Count)."""
    ws.import_file("responses", shared_data / "usability/vr_queue_sus/sus.csv")
    [r] = ws.query({"kind": "sus"})["rows"]
    assert r["n"] == 30
    assert round(r["estimate"], 2) == 71.67
    assert (round(r["sd"], 2), r["median"], r["min"], r["max"]) == (15.19, 75.0, 37.5, 97.5)
    assert (round(r["ci_low"], 1), round(r["ci_high"], 1)) == (66.0, 77.3)
    assert r["grade"] == "C+"


def test_cli_tasks_compare_prints_the_version_tests(tmp_path) -> None:
    from typer.testing import CliRunner

    from cxlens.cli.main import app

    lines = ["participant,task,completed,time,satisfaction,variant"]
    for p in range(12):
        lines += [f"p{p},{t},{1 if (p + t) % 3 else 0},{30 + p * 5 + t},{3 + p % 3},{'A' if p < 6 else 'B'}"
                  for t in (1, 2)]
    f = tmp_path / "tasks.csv"
    f.write_text("\n".join(lines) + "\n")
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    plain = CliRunner().invoke(app, ["tasks", str(f)], env=env)
    assert plain.exit_code == 0 and "time ratio" not in plain.output, plain.output
    r = CliRunner().invoke(app, ["tasks", str(f), "--compare"], env=env)
    assert r.exit_code == 0, r.output
    assert "Versions against the first version" in r.output and "time ratio" in r.output
    assert "+0.0 pts (-47.6 … +47.6), p 1" in r.output and "1.75x (1.25 … 2.47), p 0.0515" in r.output
