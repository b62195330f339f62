"""Every real source format imports through detection with the expected row counts (issue: spine, point 5).

Counts come from each dataset's SOURCE.md and ../shared/docs/golden-figures.md ("Count" rows).
Tests reading ../shared skip with a reason when it is absent; PostHog/Segment fixtures live in tests/ingest/data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cxlens
from cxlens.cli.main import app
from cxlens.errors import ImportValidationError

DATA = Path(__file__).parent / "data"


def one(ws: cxlens.Workspace, sql: str) -> dict:
    [row] = ws.sql(sql).to_pylist()
    return row


def test_nps_verbatims(ws, shared_data) -> None:
    r = ws.import_file("responses", shared_data / "surveys/nps_verbatims_textsummary/text_data_verbatim.csv")
    assert r.preset == "nps_verbatims" and r.rows_read == 2385 and r.rows_rejected == 0
    row = one(ws, "SELECT count(*) FILTER (question='nps') AS n, count(*) FILTER (question='nps' AND "
                  "score IS NULL) AS missing, count(*) FILTER (question='nps' AND status='skipped') AS skipped "
                  "FROM responses")
    assert row == {"n": 2385, "missing": 32, "skipped": 32}
    stages = dict(ws.sql("SELECT touchpoint, count(*) AS n FROM responses WHERE question='nps' GROUP BY 1"
                         ).to_pandas().values)
    assert stages == {"First Payment": 1150, "Order": 971, "Equipment Received": 234, "Service in Use": 30}
    span = one(ws, "SELECT CAST(min(timestamp) AS DATE) AS lo, CAST(max(timestamp) AS DATE) AS hi FROM responses")
    assert (str(span["lo"]), str(span["hi"])) == ("2017-12-11", "2018-06-20")


def test_nhs_fft(ws, shared_data) -> None:
    r = ws.import_file("responses", shared_data / "surveys/nhs_fft_pxtextmining/v6framework_230831.csv")
    assert r.preset == "nhs_fft" and r.rows_read == 7908 and r.distinct["response_id"] == 4466
    row = one(ws, "SELECT count(*) FILTER (question='fft') AS ratings, "
                  "count(*) FILTER (question_type='text') AS comments FROM responses")
    # golden-figures.md says 7,406 non-blank FFT answers: that is pandas' count, which reads the six answers
    # "None" as missing and counts the twelve answers " " as text. Here "None" is an answer (nothing to
    # improve) and whitespace is blank: 7,412 non-empty - 12 whitespace-only = 7,400.
    assert row == {"ratings": 4466, "comments": 7400}
    # golden-figures.md: one answer per respondent, answers 1-5 only (n = 4,227): 85.3% positive (1-2),
    # 9.9% negative (4-5); NEAS 86.7%, NHFT 82.2%
    share = one(ws, "SELECT count(*) AS n, round(100 * avg(CASE WHEN score <= 2 THEN 1 ELSE 0 END), 1) AS pos, "
                    "round(100 * avg(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 1) AS neg FROM responses "
                    "WHERE question='fft' AND status='answered'")
    assert share == {"n": 4227, "pos": 85.3, "neg": 9.9}
    by_trust = dict(ws.sql("SELECT properties->>'$.trust' AS t, round(100 * avg(CASE WHEN score <= 2 THEN 1 "
                           "ELSE 0 END), 1) AS pos FROM responses WHERE question='fft' AND status='answered' "
                           "GROUP BY 1").to_pandas().values)
    assert by_trust == {"NEAS": 86.7, "NHFT": 82.2}
    # mixed d/m and m/d dates all resolve into the collection period (2021-2022), none left empty
    span = one(ws, "SELECT count(*) FILTER (timestamp IS NULL) AS missing, min(timestamp) AS lo, "
                   "max(timestamp) AS hi FROM responses")
    assert span["missing"] == 0
    assert span["lo"].year >= 2021 and span["hi"].year <= 2022


def test_fft_date_rule_reads_unambiguous_dates_both_ways() -> None:
    import pyarrow as pa

    from cxlens.ingest.presets.surveys import fft_dates

    raw = pa.table({
        "Date": ["01/10/2021", "10/17/2021", "10/05/2021", "25/10/2021", "11/03/2021"],
        "Trust": ["NEAS"] * 5, "Service type 1": ["S&C"] * 5,
        "Comment ID": ["S&C 1", "S&C 2", "S&C 3", "S&C 4", "S&C 5"],
    })
    # 10/17 can only be m/d and 25/10 only d/m. The ambiguous ones take the reading nearer their unambiguous
    # neighbours in comment order: 01/10 -> 1 Oct (not 10 Jan), 10/05 -> 5 Oct (not 10 May),
    # 11/03 after 25 Oct -> 3 Nov (not 11 Mar).
    assert fft_dates(raw).to_pylist() == ["2021-10-01", "2021-10-17", "2021-10-05", "2021-10-25", "2021-11-03"]


@pytest.mark.parametrize(("name", "rows"), [("cfpb_complaints_2023-04_sample.csv", 3999),
                                            ("cfpb_complaints_2016-2020_sample.csv", 268)])
def test_cfpb_both_header_styles(ws, shared_data, name: str, rows: int) -> None:
    r = ws.import_file("tickets", shared_data / "support_tickets/cfpb_complaints" / name)
    assert r.preset == "cfpb" and r.rows_imported == {"tickets": rows}
    row = one(ws, "SELECT count(DISTINCT ticket_id) AS ids, count(*) FILTER (opened_at IS NULL) AS no_date, "
                  "count(*) FILTER (timely IS NULL) AS no_timely FROM tickets")
    assert row == {"ids": rows, "no_date": 0, "no_timely": 0}


def test_cfpb_figures(ws, shared_data) -> None:
    ws.import_file("tickets", shared_data / "support_tickets/cfpb_complaints/cfpb_complaints_2023-04_sample.csv")
    # SOURCE.md: 3,289 still "In progress", 141 with a narrative, channel Web 3,888 / Phone 75
    row = one(ws, "SELECT count(*) FILTER (status='open') AS open, count(text) AS narratives, "
                  "count(*) FILTER (channel='Web') AS web, count(*) FILTER (channel='Phone') AS phone FROM tickets")
    assert row == {"open": 3289, "narratives": 141, "web": 3888, "phone": 75}
    span = one(ws, "SELECT max(opened_at) AS hi FROM tickets")
    assert str(span["hi"])[:10] == "2023-04-27"


def test_bitext_three_splits(ws, shared_data) -> None:
    files = sorted((shared_data / "support_tickets/bitext_intent_detection").glob("*.csv"))
    r = ws.import_file("tickets", files)
    assert r.preset == "bitext" and r.rows_imported == {"tickets": 8100}
    splits = dict(ws.sql("SELECT properties->>'$.split' AS s, count(*) AS n FROM tickets GROUP BY 1"
                         ).to_pandas().values)
    assert splits == {"train": 6480, "validation": 810, "test": 810}
    assert one(ws, "SELECT count(DISTINCT sub_category) AS intents, count(DISTINCT category) AS cats "
                   "FROM tickets") == {"intents": 27, "cats": 11}


def test_maalej_json_with_trailing_commas_and_csv(ws, shared_data) -> None:
    folder = shared_data / "app_reviews/maalej_app_review_classification"
    r = ws.import_file("reviews", sorted(folder.glob("*.json")))
    assert r.preset == "maalej" and r.rows_imported == {"reviews": 3734}
    labels = dict(ws.sql("SELECT properties->>'$.label' AS l, count(*) AS n FROM reviews GROUP BY 1"
                         ).to_pandas().values)
    assert labels == {"Bug": 370, "Feature": 295, "Rating": 2462, "UserExperience": 607}
    stars = [r["n"] for r in ws.sql("SELECT rating, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1").to_pylist()]
    assert stars == [344, 214, 273, 641, 2262]
    other = cxlens.Workspace()
    r2 = other.import_file("reviews", folder / "maalej_reviews_converted.csv")  # bare CRs inside fields
    assert r2.rows_imported == {"reviews": 3734}


def test_otto_sessions(ws, shared_data) -> None:
    r = ws.import_file("events", shared_data / "clickstream/otto_sample/otto_train_sample.jsonl")
    assert r.preset == "otto" and r.rows_read == 20 and r.rows_imported == {"events": 862}
    assert r.distinct == {"distinct_id": 20}
    kinds = dict(ws.sql("SELECT event, count(*) AS n FROM events GROUP BY 1").to_pandas().values)
    assert kinds == {"clicks": 800, "carts": 52, "orders": 10}
    span = one(ws, "SELECT epoch_ms(min(timestamp)) AS lo, epoch_ms(max(timestamp)) AS hi FROM events")
    assert span == {"lo": 1659304800025, "hi": 1661723997885}


def test_uci_shoppers(ws, shared_data) -> None:
    r = ws.import_file("sessions", shared_data / "clickstream/uci_online_shoppers_intention/"
                       "online_shoppers_intention.csv")
    assert r.preset == "uci_shoppers" and r.rows_imported == {"sessions": 12330}
    # golden-figures.md: 1,908 of 12,330 sessions converted (15.47%); visitor types 10,551 / 1,694 / 85
    assert one(ws, "SELECT count(*) FILTER (converted) AS c, round(100 * avg(CAST(converted AS INT)), 2) AS pct "
                   "FROM sessions") == {"c": 1908, "pct": 15.47}
    vt = dict(ws.sql("SELECT properties->>'$.visitortype' AS v, count(*) AS n FROM sessions GROUP BY 1"
                     ).to_pandas().values)
    assert vt == {"Returning_Visitor": 10551, "New_Visitor": 1694, "Other": 85}


def test_cdnow_master_and_sample(ws, shared_data) -> None:
    folder = shared_data / "transactions/cdnow_lifetimes"
    r = ws.import_file("transactions", folder / "CDNOW_master.txt")
    assert r.preset == "cdnow_master" and r.rows_imported == {"transactions": 69659}
    assert r.distinct == {"distinct_id": 23570}
    assert one(ws, "SELECT round(sum(amount), 2) AS total FROM transactions") == {"total": 2500315.63}
    other = cxlens.Workspace()
    r2 = other.import_file("transactions", folder / "CDNOW_sample.txt")
    assert r2.preset == "cdnow_sample" and r2.rows_imported == {"transactions": 6919}
    assert r2.distinct == {"distinct_id": 2357}


def test_vr_sus_text_labels(ws, shared_data) -> None:
    r = ws.import_file("responses", shared_data / "usability/vr_queue_sus/sus.csv")
    assert r.preset == "sus_wide" and r.distinct == {"response_id": 30} and r.rows_imported == {"responses": 300}
    assert one(ws, "SELECT min(score) AS lo, max(score) AS hi, count(*) FILTER (score IS NULL) AS missing "
                   "FROM responses") == {"lo": 1.0, "hi": 5.0, "missing": 0}


def test_sus_unknown_label_names_row_and_column(tmp_path: Path, ws) -> None:
    header = "Participant ID," + ",".join(f"sus{i}" for i in range(1, 11))
    rows = [f"p{i}," + ",".join(["Strongly agree"] * 10) for i in range(1, 4)]
    rows[1] = "p2," + ",".join(["Agree"] * 9 + ["Kinda"])
    f = tmp_path / "sus.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ImportValidationError) as e:
        ws.import_file("responses", f)
    assert e.value.row == 2 and e.value.column == "sus10" and e.value.value == "kinda"
    assert ws.count("responses") == 0


def test_openshift_tasks(ws, shared_data) -> None:
    r = ws.import_file("tasks", shared_data / "usability/openshift_sum_benchmark/final-combined-data.csv")
    assert r.preset == "task_table" and r.rows_imported == {"tasks": 132}
    assert r.distinct == {"participant": 33}
    assert one(ws, "SELECT count(DISTINCT task) AS tasks, count(DISTINCT variant) AS versions FROM tasks") == {
        "tasks": 4, "versions": 2}


def test_posthog_json_and_csv_exports(ws) -> None:
    r = ws.import_file("events", DATA / "posthog_export.json")
    assert r.preset == "posthog" and r.rows_imported == {"events": 3}
    rows = ws.sql("SELECT event_id, CAST(timestamp AS VARCHAR) AS ts, properties->>'$.plan' AS plan, "
                  "properties->>'$.posthog_person_id' AS pid FROM events ORDER BY event_id").to_pylist()
    assert rows[1]["ts"] == "2024-05-01 08:04:30.5"  # +02:00 converted to UTC
    assert rows[1]["plan"] == "pro" and rows[0]["event_id"].endswith("0001") and rows[0]["pid"]
    r = ws.import_file("events", DATA / "posthog_export.csv")
    assert r.preset == "posthog" and r.rows_imported == {"events": 2}
    assert one(ws, "SELECT properties->>'$.$browser' AS b FROM events WHERE event='signup' AND "
                   "distinct_id='anon-2'") == {"b": "Firefox"}


def test_segment_calls(ws) -> None:
    r = ws.import_file("events", DATA / "segment_calls.jsonl")
    assert r.preset == "segment" and r.rows_read == 4 and r.rows_imported == {"events": 3}  # identify left out
    rows = ws.sql("SELECT distinct_id, event, event_id FROM events ORDER BY timestamp").to_pylist()
    assert rows == [{"distinct_id": "a-1", "event": "$pageview", "event_id": "m-1"},
                    {"distinct_id": "u-1", "event": "Order Completed", "event_id": "m-2"},
                    {"distinct_id": "u-1", "event": "$screen", "event_id": "m-3"}]


@pytest.mark.parametrize(("kind", "path", "count"), [
    ("events", "clickstream/otto_sample/otto_train_sample.jsonl", 862),
    ("tickets", "support_tickets/cfpb_complaints/cfpb_complaints_2016-2020_sample.csv", 268),
    ("transactions", "transactions/cdnow_lifetimes/CDNOW_sample.txt", 6919),
    ("sessions", "clickstream/uci_online_shoppers_intention/online_shoppers_intention.csv", 12330),
])
def test_through_the_cli(tmp_path: Path, shared_data, kind: str, path: str, count: int) -> None:
    db = tmp_path / "cx.duckdb"
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(db), "import", kind, str(shared_data / path)])
    assert r.exit_code == 0, r.output
    info = json.loads(runner.invoke(app, ["--db", str(db), "info", "--json"]).stdout)
    assert info[kind] == count
