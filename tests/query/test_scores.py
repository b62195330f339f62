"""Survey score query kinds (nps, csat, ces, rating): golden figures, independent checks, properties."""

from __future__ import annotations

import random

import numpy as np
import pytest

import cxlens
from cxlens.errors import QueryError
from cxlens.stats import NpsCounts, ProportionStat, csat, nps, nps_difference


def _nps_rows(scores: list[float | None], stage: str = "a", month: int = 1) -> list[dict]:
    return [{"survey": "s", "question": "nps", "question_type": "nps", "score": s,
             "timestamp": f"2024-{month:02d}-10T12:00:00Z", "stage": stage} for s in scores]


def test_nps_golden_textsummary_overall_and_by_stage(ws: cxlens.Workspace, shared_data) -> None:
    """golden-figures.md, surveys/nps_verbatims_textsummary: NPS -24.7 on n = 2,353 (690/392/1,271);
    by stage Order -10.0, First Payment -29.3, Equipment Received -56.7, Service in Use -76.7 (Count)."""
    ws.import_file("responses", shared_data / "surveys/nps_verbatims_textsummary/text_data_verbatim.csv")
    [row] = ws.query({"kind": "nps"})["rows"]
    assert (row["promoters"], row["passives"], row["detractors"]) == (690, 392, 1271)
    assert row["n"] == 2353 and row["skipped"] == 32
    assert round(row["estimate"], 1) == -24.7
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    by = {r["stage"]: round(r["estimate"], 1) for r in ws.query({"kind": "nps", "by": ["stage"]})["rows"]}
    assert by == {"Order": -10.0, "First Payment": -29.3, "Equipment Received": -56.7, "Service in Use": -76.7}


def test_nhs_fft_share_positive_golden(ws: cxlens.Workspace, shared_data) -> None:
    """golden-figures.md, surveys/nhs_fft_pxtextmining: 85.3% answered 1-2 (very good, good) of the n = 4,227
    respondents with an answer of 1-5; NEAS 86.7%, NHFT 82.2% (Count). Codes 6/7 are stored as skipped, so the
    answered denominator is exactly those 4,227. The interval is checked against statsmodels."""
    from statsmodels.stats.proportion import proportion_confint

    ws.import_file("responses", shared_data / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv")
    [row] = ws.query({"kind": "rating", "question": "fft", "box": [1, 2]})["rows"]
    assert row["n"] == 4227 and row["skipped"] == 239
    box = row["box"]
    assert round(100 * box["share"], 1) == 85.3
    lo, hi = proportion_confint(box["count"], row["n"], alpha=0.05, method="agresti_coull")
    assert box["ci_low"] == pytest.approx(lo, abs=1e-12) and box["ci_high"] == pytest.approx(hi, abs=1e-12)
    by = {r["trust"]: round(100 * r["box"]["share"], 1)
          for r in ws.query({"kind": "rating", "question": "fft", "box": [1, 2], "by": ["trust"]})["rows"]}
    assert by == {"NEAS": 86.7, "NHFT": 82.2}
    neg = ws.query({"kind": "rating", "question": "fft", "box": [4, 5]})["rows"][0]["box"]
    assert round(100 * neg["share"], 1) == 9.9


def test_box_share_on_ratings_and_csat(ws: cxlens.Workspace) -> None:
    rows = [{"survey": "s", "question": "q", "question_type": qt, "score": v, "scale_min": 1, "scale_max": 5,
             "timestamp": "2024-01-10T12:00:00Z"} for qt in ("rating", "csat") for v in (1, 1, 2, 3, 5)]
    ws.add("responses", rows)
    [r] = ws.query({"kind": "rating", "box": [1, 2]})["rows"]
    assert r["box"]["count"] == 3 and r["box"]["share"] == pytest.approx(0.6)
    assert r["box"]["ci_low"] < 0.6 < r["box"]["ci_high"]
    [c] = ws.query({"kind": "csat", "box": [1, 2]})["rows"]
    assert c["top_box"] == 3 and c["estimate"] == pytest.approx(0.6)
    [c2] = ws.query({"kind": "csat"})["rows"]
    assert c2["top_box"] == 1  # the default top-2 box (4-5) holds only the 5
    with pytest.raises(QueryError, match="box does not apply to nps"):
        ws.query({"kind": "nps", "box": [9, 10]})


def test_interval_comes_from_stats_on_database_counts(ws: cxlens.Workspace) -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 11, 500).tolist()
    ws.add("responses", _nps_rows(scores))
    [row] = ws.query({"kind": "nps", "confidence": 0.9})["rows"]
    expected = nps(NpsCounts.from_scores(scores), 0.9)
    assert row["estimate"] == pytest.approx(expected.estimate)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(expected.ci)


def test_denominator_excludes_skipped_seen_dismissed(ws: cxlens.Workspace) -> None:
    rows = _nps_rows([10, 10, 0, None])
    rows.append({**rows[0], "score": None, "status": "seen"})
    rows.append({**rows[0], "score": None, "status": "dismissed"})
    ws.add("responses", rows)
    [r] = ws.query({"kind": "nps"})["rows"]
    assert (r["n"], r["skipped"], r["seen"], r["dismissed"]) == (3, 1, 1, 1)
    assert r["estimate"] == pytest.approx(100 * (2 - 1) / 3)
    assert "answered" in ws.query({"kind": "nps"})["denominator"]


def test_csat_top2_box_and_scale(ws: cxlens.Workspace) -> None:
    answers = [5, 4, 4, 3, 1, 2, 5, 5]
    ws.add("responses", [{"survey": "s", "question": "csat", "question_type": "csat", "score": a}
                         for a in answers])
    [r] = ws.query({"kind": "csat"})["rows"]
    assert r["top_box"] == 5 and r["n"] == 8
    ref = csat(ProportionStat(8, 5))
    assert (r["estimate"], r["ci_low"], r["ci_high"]) == pytest.approx((ref.estimate, *ref.ci))
    [r3] = ws.query({"kind": "csat", "top_box": 1})["rows"]
    assert r3["top_box"] == 3


def test_ces_scales_are_never_mixed(ws: cxlens.Workspace) -> None:
    ws.add("responses", [{"survey": "s", "question": "ces5", "question_type": "ces", "score": 4, "scale_max": 5},
                         {"survey": "s", "question": "ces7", "question_type": "ces", "score": 6,
                          "scale_max": 7}])
    with pytest.raises(QueryError, match="not comparable"):
        ws.query({"kind": "ces"})
    rows = ws.query({"kind": "ces", "by": ["scale_max"]})["rows"]
    assert [(r["scale_max"], r["estimate"]) for r in rows] == [(5, 4.0), (7, 6.0)]
    [one] = ws.query({"kind": "ces", "question": "ces7"})["rows"]
    assert one["scale"] == [1, 7]


def test_compare_previous_period_with_correction(ws: cxlens.Workspace) -> None:
    jan = [10] * 60 + [0] * 40
    feb = [10] * 30 + [0] * 70
    mar = [10] * 31 + [0] * 69
    ws.add("responses", _nps_rows(jan, month=1) + _nps_rows(feb, month=2) + _nps_rows(mar, month=3))
    res = ws.query({"kind": "nps", "period": "month", "compare": "previous_period"})
    jan_r, feb_r, mar_r = res["rows"]
    assert "change" not in jan_r
    ref = nps_difference(NpsCounts(30, 0, 70), NpsCounts(60, 0, 40))
    assert feb_r["change"] == pytest.approx(ref.estimate)
    assert feb_r["p_value"] == pytest.approx(ref.p_value)
    # Holm over two tests: the smaller p doubles
    assert feb_r["p_value_adjusted"] == pytest.approx(min(1, 2 * ref.p_value))
    assert feb_r["significant"] is True and mar_r["significant"] is False
    with pytest.raises(QueryError, match="needs a period"):
        ws.query({"kind": "nps", "compare": "previous_period"})


def test_order_of_rows_does_not_matter_and_estimate_in_range(ws: cxlens.Workspace) -> None:
    rng = random.Random(11)
    rows = [r for s in ("a", "b", "c") for r in _nps_rows([rng.randint(0, 10) for _ in range(40)], stage=s)]
    shuffled = rows[:]
    rng.shuffle(shuffled)
    other = cxlens.Workspace()
    ws.add("responses", rows)
    other.add("responses", shuffled)
    q = {"kind": "nps", "by": ["stage"]}
    assert ws.query(q) == other.query(q)
    for r in ws.query(q)["rows"]:
        assert -100 <= r["estimate"] <= 100
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"]


def test_warnings_say_why_an_answer_is_empty_or_odd(ws: cxlens.Workspace) -> None:
    assert ws.query({"kind": "nps"})["warnings"] == ["no nps answers are stored (question_type 'nps')"]
    ws.add("responses", _nps_rows([10, 9, 3]))
    [w] = ws.query({"kind": "nps", "question": "nope"})["warnings"]
    assert "no nps answer matches" in w and "nps (survey s)" in w
    [w] = ws.query({"kind": "nps", "by": ["stgae"]})["warnings"]
    assert "'stgae'" in w
    assert ws.query({"kind": "nps", "by": ["stage"]})["warnings"] == []
    ws.add("responses", [{"survey": "s", "question": "ease", "question_type": "rating", "score": v,
                          "scale_min": 1, "scale_max": 5, "timestamp": "2024-01-10T12:00:00Z"} for v in (4, 5)])
    [w] = ws.query({"kind": "rating", "question": "ease", "box": [5, 7]})["warnings"]
    assert "value(s) 7 lie outside the scale 1-5" in w


def test_cli_scores_date_flags_and_warnings(tmp_path) -> None:
    from typer.testing import CliRunner

    from cxlens.cli.main import app

    db = tmp_path / "s.duckdb"
    with cxlens.Workspace(db) as w:
        w.add("responses", _nps_rows([10, 10], month=1) + _nps_rows([0], month=2))
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(db), "nps", "--to", "2024-01-10", "--json"])
    assert r.exit_code == 0, r.output
    import json

    [row] = json.loads(r.stdout)["rows"]
    assert row["n"] == 2  # the answers at noon of the --to day count
    r = runner.invoke(app, ["--db", str(db), "nps", "--question", "nope"])
    assert r.exit_code == 0 and "warning:" in r.stdout and "no nps answer matches" in r.stdout


def test_a_change_without_a_p_value_is_not_adjusted_or_counted() -> None:
    """Two periods whose answers do not vary: Welch's t has no p-value, so the change is not tested, and its
    adjusted p-value is null (it was NaN, which JSON cannot carry and which never equals itself)."""
    ws = cxlens.Workspace()
    ws.add("responses", [{"survey": "s", "question": "ces", "question_type": "ces", "score": s,
                          "timestamp": t} for s, t in [(3, "2024-02-19"), (3, "2024-02-20"),
                                                       (6, "2024-02-26"), (6, "2024-02-27"),
                                                       (6, "2024-02-28")]])
    [_, second] = ws.query({"kind": "ces", "period": "week", "compare": "previous_period"})["rows"]
    assert second["change"] == 3.0 and second["p_value"] is None
    assert second["p_value_adjusted"] is None and second["significant"] is False
