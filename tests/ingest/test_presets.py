"""Every built-in preset: real shared files import through detection (no ``preset=``) with the expected row
and distinct counts and the golden figures, checked with plain SQL on the stored tables.

Counts come from each dataset's SOURCE.md and ../shared/docs/golden-figures.md; tests reading ../shared skip
with a reason when it is absent. PostHog / Segment fixtures in tests/ingest/data follow the documented export
shapes (PostHog batch/file exports, the events API and CSV exporter; the Segment Spec).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import cxlens
from cxlens.errors import ImportValidationError
from cxlens.ingest.presets import PRESETS
from cxlens.ingest.presets.base import SKIPPED_KEY
from cxlens.ingest.presets.surveys import fft_dates
from cxlens.ingest.readers import read_table

DATA = Path(__file__).parent / "data"
FFT = "surveys/nhs_fft_pxtextmining/v6framework_230831.csv"
CFPB = "support_tickets/cfpb_complaints"
MAALEJ = "app_reviews/maalej_app_review_classification"
UCI = "clickstream/uci_online_shoppers_intention/online_shoppers_intention.csv"
CDNOW = "transactions/cdnow_lifetimes"


def one(ws: cxlens.Workspace, sql: str) -> dict[str, Any]:
    [row] = ws.sql(sql).to_pylist()
    return row


def pairs(ws: cxlens.Workspace, sql: str) -> dict[Any, Any]:
    return {r["k"]: r["n"] for r in ws.sql(sql).to_pylist()}


# -- surveys -------------------------------------------------------------------------------------------

def test_nps_verbatims(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("responses", shared_data / "surveys/nps_verbatims_textsummary/text_data_verbatim.csv")
    assert r.preset == "nps_verbatims" and r.rows_read == 2385 and r.rows_rejected == 0
    row = one(ws, "SELECT count(*) FILTER (question='nps') AS n, count(*) FILTER (question='nps' AND "
                  "score IS NULL) AS missing, count(*) FILTER (question='nps' AND status='skipped') AS skipped "
                  "FROM responses")
    assert row == {"n": 2385, "missing": 32, "skipped": 32}
    assert pairs(ws, "SELECT touchpoint AS k, count(*) AS n FROM responses WHERE question='nps' GROUP BY 1") == {
        "First Payment": 1150, "Order": 971, "Equipment Received": 234, "Service in Use": 30}
    span = one(ws, "SELECT CAST(min(timestamp) AS DATE) AS lo, CAST(max(timestamp) AS DATE) AS hi FROM responses")
    assert (str(span["lo"]), str(span["hi"])) == ("2017-12-11", "2018-06-20")


def test_nhs_fft(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("responses", shared_data / FFT)
    assert r.preset == "nhs_fft" and r.rows_read == 7908 and r.distinct == {"response_id": 4466}
    row = one(ws, "SELECT count(*) FILTER (question='fft') AS ratings, count(DISTINCT response_id) FILTER "
                  "(question='fft') AS respondents, count(*) FILTER (question='fft' AND status='skipped') AS "
                  "skipped, count(*) FILTER (question_type='text') AS comments FROM responses")
    # golden-figures.md says 7,406 non-blank answers: pandas' count, which reads the six answers "None" as
    # missing and keeps the twelve whitespace-only ones. Here "None" is an answer and whitespace is blank:
    # 7,412 non-empty - 12 = 7,400. Codes 6/7 (not ratings) on the first row of 239 respondents: skipped.
    assert row == {"ratings": 4466, "respondents": 4466, "skipped": 239, "comments": 7400}
    # "Did not answer" is the survey tool's placeholder (1,189 rows, each labelled "Labelling not possible",
    # none with a sentiment label, counted with pandas on the raw file): a skipped text answer without text
    ph = one(ws, "SELECT count(*) AS n, count(text) AS with_text, count(*) FILTER (properties->>'$.placeholder_text'"
                 " = 'Did not answer') AS kept, count(properties->>'$.sentiment_label') AS labelled FROM responses "
                 "WHERE question_type='text' AND status='skipped'")
    assert ph == {"n": 1189, "with_text": 0, "kept": 1189, "labelled": 0}
    # golden-figures.md: one answer per respondent, answers 1-5 only (n = 4,227): 85.3% positive (1-2),
    # 9.9% negative (4-5); NEAS 86.7%, NHFT 82.2%
    share = one(ws, "SELECT count(*) AS n, round(100 * avg(CASE WHEN score <= 2 THEN 1 ELSE 0 END), 1) AS pos, "
                    "round(100 * avg(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 1) AS neg FROM responses "
                    "WHERE question='fft' AND score BETWEEN 1 AND 5")
    assert share == {"n": 4227, "pos": 85.3, "neg": 9.9}
    assert pairs(ws, "SELECT properties->>'$.trust' AS k, round(100 * avg(CASE WHEN score <= 2 THEN 1 ELSE 0 END), "
                     "1) AS n FROM responses WHERE question='fft' AND status='answered' GROUP BY 1") == {
        "NEAS": 86.7, "NHFT": 82.2}
    assert pairs(ws, "SELECT CAST(properties->>'$.fft_code' AS INT) AS k, count(*) AS n FROM responses "
                     "WHERE question='fft' AND status='skipped' GROUP BY 1") == {6: 14, 7: 225}
    assert pairs(ws, "SELECT question AS k, count(*) AS n FROM responses WHERE question_type='text' GROUP BY 1") == {
        "fft_why": 2309, "how_could_we_improve": 2282, "what_was_good": 1207, "what_could_we_do_better": 1106,
        "please_describe_any_things_about_the_111_service_that_you_were_particularly_satisfied_and_or_"
        "dissatisfied_with": 496}
    # topics are a JSON list, the human sentiment label a number (empty when unlabelled)
    labels = one(ws, "SELECT count(*) FILTER (json_type(properties->'$.topics') = 'ARRAY') AS lists, "
                     "count(*) FILTER (json_contains(properties->'$.topics', "
                     "'\"Positive experience & gratitude\"')) AS pos, "
                     "count(properties->>'$.sentiment_label') AS labelled, "
                     "max(CAST(properties->>'$.sentiment_label' AS INT)) AS top FROM responses "
                     "WHERE question_type='text'")
    assert labels["lists"] == 7400 and labels["pos"] > 1000 and labels["labelled"] == 6170 and labels["top"] == 5
    # mixed d/m and m/d dates: none left empty, all in the collection period, one date per respondent
    span = one(ws, "SELECT count(*) FILTER (timestamp IS NULL) AS missing, CAST(min(timestamp) AS DATE) AS lo, "
                   "CAST(max(timestamp) AS DATE) AS hi, (SELECT count(*) FROM (SELECT response_id FROM responses "
                   "GROUP BY 1 HAVING count(DISTINCT timestamp) > 1)) AS split FROM responses")
    assert (span["missing"], str(span["lo"]), str(span["hi"]), span["split"]) == (0, "2021-04-01", "2022-09-30", 0)


def _fft(dates: list[str], ids: list[str], service: str = "See and Convey",
         respondents: list[str] | None = None) -> pa.Table:
    cols = {"Date": dates, "Trust": ["NEAS"] * len(dates), "Service type 1": [service] * len(dates),
            "Comment ID": ids}
    if respondents:
        cols["Respondent ID"] = respondents
    return pa.table(cols)


def test_fft_dates_neighbours_in_comment_order() -> None:
    # 10/17 can only be m/d and 25/10 only d/m. Ambiguous dates take the reading nearer their certain
    # neighbours in comment-number order: 01/10 -> 1 Oct (not 10 Jan), 10/05 -> 5 Oct (not 10 May), 11/03
    # after 25 Oct -> 3 Nov. The number is the one before " - Q<n>", not the first one in the id.
    raw = _fft(["01/10/2021", "10/17/2021", "10/05/2021", "25/10/2021", "11/03/2021"],
               [f"NEAS 111 {i} - Q1" for i in (1, 2, 3, 4, 5)])
    assert fft_dates(raw).to_pylist() == ["2021-10-01", "2021-10-17", "2021-10-05", "2021-10-25", "2021-11-03"]


def test_fft_dates_day_first_without_month_first_evidence() -> None:
    # no certain m/d row in the group: ambiguous dates are d/m, whatever the neighbours
    raw = _fft(["25/10/2021", "11/07/2021", "29/10/2021"], ["NHFT 1 - Q1", "NHFT 2 - Q1", "NHFT 3 - Q1"],
               service="Forensic")
    assert fft_dates(raw).to_pylist() == ["2021-10-25", "2021-07-11", "2021-10-29"]


def test_fft_dates_one_date_per_respondent() -> None:
    # the Q2 row writes the respondent's date month-first; its certain Q1 row fixes both readings
    raw = _fft(["13/10/2021", "10/13/2021", "03/10/2021", "10/03/2021", "10/20/2021"],
               ["S&C 7 - Q1", "S&C 7 - Q2", "S&C 8 - Q1", "S&C 8 - Q2", "S&C 9 - Q1"],
               respondents=["S&C 7", "S&C 7", "S&C 8", "S&C 8", "S&C 9"])
    assert fft_dates(raw).to_pylist() == ["2021-10-13", "2021-10-13", "2021-10-03", "2021-10-03", "2021-10-20"]


def test_fft_unreadable_date_names_its_row(tmp_path: Path, ws: cxlens.Workspace) -> None:
    head = "Comment ID,Trust,Respondent ID,Date,Service type 1,Service type 2,FFT categorical answer," \
           "FFT question,FFT answer,Person identifiable info?,Comment sentiment,Staff continuity"
    f = tmp_path / "fft.csv"
    f.write_text("\n".join([head, "NEAS 1 - Q1,NEAS,NEAS 1,25/10/2021,111,,1,FFT Why?,Kind staff,,1,1",
                            "NEAS 2 - Q1,NEAS,NEAS 2,sometime,111,,2,FFT Why?,Fine,,2,"]) + "\n")
    with pytest.raises(ImportValidationError) as e:
        ws.import_file("responses", f)
    assert (e.value.row, e.value.column, e.value.value) == (2, "timestamp", "sometime")
    assert ws.count("responses") == 0


def test_vr_sus_text_labels_and_golden_mean(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("responses", shared_data / "usability/vr_queue_sus/sus.csv")
    assert r.preset == "sus_wide" and r.rows_read == 30 and r.distinct == {"response_id": 30}
    assert r.rows_imported == {"responses": 300}
    assert one(ws, "SELECT min(score) AS lo, max(score) AS hi, count(*) FILTER (score IS NULL) AS missing, "
                   "count(DISTINCT question) AS items FROM responses") == {
        "lo": 1.0, "hi": 5.0, "missing": 0, "items": 10}
    # golden-figures.md: SUS mean 71.67 (odd items r - 1, even items 5 - r, sum x 2.5), n = 30
    sus = one(ws, "WITH s AS (SELECT response_id, 2.5 * sum(CASE WHEN CAST(right(question, 2) AS INT) % 2 = 1 "
                  "THEN score - 1 ELSE 5 - score END) AS sus FROM responses WHERE survey='sus' GROUP BY 1) "
                  "SELECT count(*) AS n, round(avg(sus), 2) AS mean, min(sus) AS lo, max(sus) AS hi FROM s")
    assert sus == {"n": 30, "mean": 71.67, "lo": 37.5, "hi": 97.5}


def test_sus_numbers_with_item_headers(tmp_path: Path, ws: cxlens.Workspace) -> None:
    f = tmp_path / "sus_numbers.csv"
    f.write_text("participant," + ",".join(f"Q{i}" for i in range(1, 11)) + "\n"
                 "a,5,1,5,1,5,1,5,1,5,1\nb,3,3,3,3,3,3,3,3,3,\n")
    r = ws.import_file("responses", f)
    assert r.preset == "sus_wide" and r.rows_imported == {"responses": 20}
    assert pairs(ws, "SELECT response_id AS k, 2.5 * sum(CASE WHEN CAST(right(question, 2) AS INT) % 2 = 1 "
                     "THEN score - 1 ELSE 5 - score END) AS n FROM responses WHERE status='answered' GROUP BY 1"
                 ) == {"a": 100.0, "b": 45.0}
    assert one(ws, "SELECT count(*) AS n FROM responses WHERE status='skipped'") == {"n": 1}


def test_sus_unknown_label_names_row_and_column(tmp_path: Path, ws: cxlens.Workspace) -> None:
    header = "Participant ID," + ",".join(f"sus{i}" for i in range(1, 11))
    rows = [f"p{i}," + ",".join(["Strongly agree"] * 10) for i in range(1, 4)]
    rows[1] = "p2," + ",".join(["Agree"] * 9 + ["Kinda"])
    f = tmp_path / "sus.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ImportValidationError) as e:
        ws.import_file("responses", f)
    assert (e.value.row, e.value.column, e.value.value) == (2, "sus10", "Kinda")
    assert ws.count("responses") == 0


# -- tickets -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rows", "open_", "narratives", "lo", "hi"), [
    ("cfpb_complaints_2023-04_sample.csv", 3999, 3289, 141, None, "2023-04-27"),
    ("cfpb_complaints_2016-2020_sample.csv", 268, 1, 101, "2016-07-13", "2020-06-29"),
])
def test_cfpb_both_header_styles(ws: cxlens.Workspace, shared_data: Path, name: str, rows: int, open_: int,
                                 narratives: int, lo: str | None, hi: str) -> None:
    r = ws.import_file("tickets", shared_data / CFPB / name)
    assert r.preset == "cfpb" and r.rows_imported == {"tickets": rows}
    row = one(ws, "SELECT count(DISTINCT ticket_id) AS ids, count(*) FILTER (opened_at IS NULL) AS no_date, "
                  "count(*) FILTER (timely IS NULL) AS no_timely, count(*) FILTER (status='open') AS open, "
                  "count(text) AS narratives, CAST(min(opened_at) AS DATE) AS lo, CAST(max(opened_at) AS DATE) AS hi, "
                  "count(*) FILTER (properties->>'$.company' IS NULL) AS no_company, "
                  "count(*) FILTER (NOT regexp_full_match(properties->>'$.date_sent_to_company', "
                  "'\\d{4}-\\d{2}-\\d{2}')) AS odd_sent FROM tickets")
    assert {k: row[k] for k in ("ids", "no_date", "no_timely", "open", "narratives", "no_company", "odd_sent")} == {
        "ids": rows, "no_date": 0, "no_timely": 0, "open": open_, "narratives": narratives, "no_company": 0,
        "odd_sent": 0}
    assert str(row["hi"]) == hi and (lo is None or str(row["lo"]) == lo)


def test_cfpb_figures(ws: cxlens.Workspace, shared_data: Path) -> None:
    ws.import_file("tickets", shared_data / CFPB / "cfpb_complaints_2023-04_sample.csv")
    # golden-figures.md: channel Web 3,888 / Phone 75; 59 issues; 229 companies; 99.8% timely
    assert one(ws, "SELECT count(*) FILTER (channel='Web') AS web, count(*) FILTER (channel='Phone') AS phone, "
                   "count(DISTINCT category) AS issues, count(DISTINCT properties->>'$.company') AS companies, "
                   "round(100 * avg(CAST(timely AS INT)), 1) AS timely FROM tickets") == {
        "web": 3888, "phone": 75, "issues": 59, "companies": 229, "timely": 99.8}
    other = cxlens.Workspace()
    other.import_file("tickets", shared_data / CFPB / "cfpb_complaints_2016-2020_sample.csv")
    assert pairs(other, "SELECT response AS k, count(*) AS n FROM tickets GROUP BY 1") == {
        "Closed with explanation": 215, "Closed with non-monetary relief": 40, "Closed with monetary relief": 10,
        "Untimely response": 2, "In progress": 1}
    other.close()


def test_bitext_three_splits(ws: cxlens.Workspace, shared_data: Path) -> None:
    files = sorted((shared_data / "support_tickets/bitext_intent_detection").glob("*.csv"))
    r = ws.import_file("tickets", files)
    assert r.preset == "bitext" and r.rows_read == 8100 and r.rows_imported == {"tickets": 8100}
    assert pairs(ws, "SELECT properties->>'$.split' AS k, count(*) AS n FROM tickets GROUP BY 1") == {
        "train": 6480, "validation": 810, "test": 810}
    row = one(ws, "SELECT count(DISTINCT sub_category) AS intents, count(DISTINCT category) AS cats, count(text) AS "
                  "texts, count(channel) AS channels, max(CAST(properties->>'$.end_offset' AS INT)) > 0 AS offsets "
                  "FROM tickets")
    assert row == {"intents": 27, "cats": 11, "texts": 8100, "channels": 0, "offsets": True}


# -- reviews -------------------------------------------------------------------------------------------

_REVIEW_KEY = ("review_id, rating, title, text, source, app, timestamp, properties->>'$.label', "
               "properties->>'$.source_file', properties->>'$.source_row_id', properties->>'$.date_raw'")


def test_maalej_json_with_trailing_commas(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("reviews", sorted((shared_data / MAALEJ).glob("*.json")))
    assert r.preset == "maalej" and r.rows_read == 3734 and r.rows_imported == {"reviews": 3734}
    assert pairs(ws, "SELECT properties->>'$.label' AS k, count(*) AS n FROM reviews GROUP BY 1") == {
        "Bug": 370, "Feature": 295, "Rating": 2462, "UserExperience": 607}
    assert [x["n"] for x in ws.sql("SELECT rating, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1").to_pylist()] \
        == [344, 214, 273, 641, 2262]
    assert pairs(ws, "SELECT properties->>'$.label' AS k, round(avg(rating), 2) AS n FROM reviews GROUP BY 1") == {
        "Bug": 2.15, "Feature": 2.88, "Rating": 4.48, "UserExperience": 4.61}
    row = one(ws, "SELECT count(DISTINCT review_id) AS ids, count(*) FILTER (title IS NULL) AS no_title, "
                  "count(app) AS apps, count(timestamp) AS dated, count(properties->>'$.date_raw') AS time_only, "
                  "CAST(min(timestamp) AS DATE) AS lo, count(properties->>'$.stemmed') AS stemmed FROM reviews")
    # golden: reviewId repeats 530 times; title null 634 + empty 1,062; appId present for 1,788
    assert row == {"ids": 3204, "no_title": 1696, "apps": 1788, "dated": 459, "time_only": 175,
                   "lo": row["lo"], "stemmed": 0}
    assert 2012 <= row["lo"].year <= 2014
    # the CSV of the same reviews (bare CRs inside fields) gives the same rows
    r2 = ws.import_file("reviews", shared_data / MAALEJ / "maalej_reviews_converted.csv")
    assert r2.preset == "maalej" and r2.rows_imported == {"reviews": 3734}
    unmatched = one(ws, f"SELECT count(*) AS n FROM (SELECT {_REVIEW_KEY}, count(*) AS c FROM reviews "
                        "GROUP BY ALL) WHERE c % 2 <> 0")
    assert unmatched == {"n": 0}


# -- events --------------------------------------------------------------------------------------------

def test_otto_sessions(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("events", shared_data / "clickstream/otto_sample/otto_train_sample.jsonl")
    assert r.preset == "otto" and r.rows_read == 20 and r.rows_imported == {"events": 862}
    assert r.distinct == {"distinct_id": 20}
    assert pairs(ws, "SELECT event AS k, count(*) AS n FROM events GROUP BY 1") == {
        "clicks": 800, "carts": 52, "orders": 10}
    span = one(ws, "SELECT epoch_ms(min(timestamp)) AS lo, epoch_ms(max(timestamp)) AS hi, "
                   "count(properties->>'$.aid') AS aids FROM events")
    assert span == {"lo": 1659304800025, "hi": 1661723997885, "aids": 862}


def test_posthog_json_export(ws: cxlens.Workspace) -> None:
    r = ws.import_file("events", DATA / "posthog_export.json")
    assert r.preset == "posthog" and r.rows_imported == {"events": 3} and r.distinct == {"distinct_id": 2}
    rows = ws.sql("SELECT event_id, CAST(timestamp AS VARCHAR) AS ts, properties->>'$.plan' AS plan, "
                  "properties->>'$.posthog_person_id' AS pid FROM events ORDER BY event_id").to_pylist()
    assert rows[1]["ts"] == "2024-05-01 08:04:30.5"  # +02:00 converted to UTC
    assert rows[1]["plan"] == "pro" and rows[0]["event_id"].endswith("0001") and rows[0]["pid"]


def test_posthog_csv_with_flattened_properties(ws: cxlens.Workspace) -> None:
    r = ws.import_file("events", DATA / "posthog_export.csv")
    assert r.preset == "posthog" and r.rows_imported == {"events": 2}
    rows = ws.sql("SELECT event, distinct_id, properties FROM events ORDER BY timestamp").to_pylist()
    props = [json.loads(x["properties"]) for x in rows]
    # properties.distinct_id shares its name with the canonical column: it stays a property
    assert props[0] == {"$browser": "Firefox", "$current_url": "https://example.com/", "distinct_id": "anon-2"}
    assert props[1]["plan"] == "team" and [x["distinct_id"] for x in rows] == ["anon-2", "anon-2"]


def test_posthog_events_query_csv(ws: cxlens.Workspace) -> None:
    # CSV export of an events query with *: the event's fields prefixed "*.", plus plain repeated columns
    r = ws.import_file("events", DATA / "posthog_events_query.csv")
    assert r.preset == "posthog" and r.rows_imported == {"events": 3} and r.distinct == {"distinct_id": 2}
    rows = ws.sql("SELECT event, event_id, CAST(timestamp AS VARCHAR) AS ts, properties FROM events "
                  "ORDER BY timestamp").to_pylist()
    assert [x["event"] for x in rows] == ["$pageview", "$autocapture", "$pageview"]
    assert rows[0]["event_id"].endswith("0021") and rows[0]["ts"] == "2024-05-04 10:00:00.25"
    props = json.loads(rows[1]["properties"])
    assert props["$browser"] == "Safari" and props["$lib"] == "web" and props["elements_chain"].startswith("a.nav")


def test_posthog_batch_export_jsonl(ws: cxlens.Workspace) -> None:
    r = ws.import_file("events", DATA / "posthog_batch_export.jsonl")
    assert r.preset == "posthog" and r.rows_imported == {"events": 2}
    assert one(ws, "SELECT properties->>'$.person_properties.email' AS email, "
                   "CAST(properties->>'$.amount' AS DOUBLE) AS amount FROM events WHERE event='checkout'") == {
        "email": "c@example.com", "amount": 19.0}


def test_segment_calls(ws: cxlens.Workspace) -> None:
    r = ws.import_file("events", DATA / "segment_calls.jsonl")
    # identify and group calls carry no event: skipped (6 source rows, 4 events)
    assert r.preset == "segment" and r.rows_read == 6 and r.rows_imported == {"events": 4}
    rows = ws.sql("SELECT distinct_id, event, event_id, CAST(timestamp AS VARCHAR) AS ts, properties FROM events "
                  "ORDER BY event_id").to_pylist()
    assert [(x["distinct_id"], x["event"], x["event_id"]) for x in rows] == [
        ("a-1", "$pageview", "m-1"), ("u-1", "Order Completed", "m-2"), ("u-1", "$screen", "m-3"),
        ("a-2", "Signed Up", "m-5")]
    assert rows[3]["ts"] == "2024-05-01 10:00:00"  # originalTimestamp (+02:00) when timestamp is absent
    page, order = json.loads(rows[0]["properties"]), json.loads(rows[1]["properties"])
    assert page == {"path": "/pricing", "context": {"ip": "203.0.113.7", "userAgent": "Mozilla/5.0"},
                    "name": "Pricing", "anonymous_id": "a-1"}  # no nulls from other lines, no integrations
    assert order == {"revenue": 42.5, "currency": "EUR", "anonymous_id": "a-1", "user_id": "u-1"}
    # the skipped calls are counted for the import report
    seg = PRESETS["segment"]
    raw = read_table(DATA / "segment_calls.jsonl", seg.read)
    raw = raw.append_column("_row", pa.array(range(1, raw.num_rows + 1)))
    out = seg.transform(raw, DATA / "segment_calls.jsonl")["events"]
    assert json.loads(out.schema.metadata[SKIPPED_KEY]) == {"identify": 1, "group": 1}


def test_segment_unknown_type_names_its_line(tmp_path: Path, ws: cxlens.Workspace) -> None:
    f = tmp_path / "calls.jsonl"
    f.write_text('{"type": "track", "event": "A", "userId": "u", "timestamp": "2024-01-01T00:00:00Z"}\n'
                 '{"type": "trak", "event": "B", "userId": "u", "timestamp": "2024-01-01T00:00:01Z"}\n')
    with pytest.raises(ImportValidationError) as e:
        ws.import_file("events", f)
    assert (e.value.row, e.value.column, e.value.value) == (2, "type", "trak")


# -- sessions, transactions, tasks ---------------------------------------------------------------------

def test_uci_shoppers(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("sessions", shared_data / UCI)
    assert r.preset == "uci_shoppers" and r.rows_imported == {"sessions": 12330}
    assert r.distinct == {"session_id": 12330}
    # golden-figures.md: 1,908 of 12,330 sessions converted (15.47%); visitor types 10,551 / 1,694 / 85
    assert one(ws, "SELECT count(*) FILTER (converted) AS c, round(100 * avg(CAST(converted AS INT)), 2) AS pct "
                   "FROM sessions") == {"c": 1908, "pct": 15.47}
    assert pairs(ws, "SELECT properties->>'$.visitor_type' AS k, count(*) AS n FROM sessions GROUP BY 1") == {
        "Returning_Visitor": 10551, "New_Visitor": 1694, "Other": 85}
    # one page, no measured time, no purchase = bounce; unknown when the page counts are missing or zero
    row = one(ws, "SELECT count(*) FILTER (bounced) AS bounced, count(*) FILTER (bounced IS NULL) AS unknown, "
                  "count(*) FILTER (pageviews IS NULL) AS no_pages, min(duration_s) AS shortest, "
                  "count(DISTINCT properties->>'$.month') AS months, "
                  "sum(CAST(properties->>'$.product_related_pages' AS INT)) > 0 AS typed FROM sessions")
    assert row == {"bounced": 546, "unknown": 19, "no_pages": 14, "shortest": 0.0, "months": 10, "typed": True}


def test_cdnow_master_and_sample(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("transactions", shared_data / CDNOW / "CDNOW_master.txt")
    assert r.preset == "cdnow_master" and r.rows_imported == {"transactions": 69659}
    assert r.distinct == {"distinct_id": 23570}
    # golden-figures.md: total $2,500,315.63, 1997-01-01 to 1998-06-30; ids keep their zero padding
    assert one(ws, "SELECT round(sum(amount), 2) AS total, CAST(min(timestamp) AS DATE) AS lo, "
                   "CAST(max(timestamp) AS DATE) AS hi, min(distinct_id) AS first FROM transactions") == {
        "total": 2500315.63, "lo": one(ws, "SELECT DATE '1997-01-01' AS d")["d"],
        "hi": one(ws, "SELECT DATE '1998-06-30' AS d")["d"], "first": "00001"}
    r2 = ws.import_file("transactions", shared_data / CDNOW / "CDNOW_sample.txt")
    assert r2.preset == "cdnow_sample" and r2.rows_imported == {"transactions": 6919}
    assert r2.distinct == {"distinct_id": 2357}
    # the sample's distinct_id is the master id: every sampled customer is one of the master's customers
    row = one(ws, "SELECT count(DISTINCT CAST(properties->>'$.sample_id' AS INT)) AS sample_ids, "
                  "count(DISTINCT distinct_id) AS customers FROM transactions")
    assert row == {"sample_ids": 2357, "customers": 23570}


def test_openshift_tasks(ws: cxlens.Workspace, shared_data: Path) -> None:
    r = ws.import_file("tasks", shared_data / "usability/openshift_sum_benchmark/final-combined-data.csv")
    assert r.preset == "task_table" and r.rows_imported == {"tasks": 132} and r.distinct == {"participant": 33}
    assert one(ws, "SELECT count(DISTINCT task) AS tasks, count(DISTINCT study) AS studies, min(study) AS study, "
                   "count(*) FILTER (completed) AS done FROM tasks") == {
        "tasks": 4, "studies": 1, "study": "final-combined-data", "done": 91}
    # golden-figures.md: version 1 has 20 participants, version 2 has 13; task 3 completed 4/20 and 4/13
    assert pairs(ws, "SELECT variant AS k, count(DISTINCT participant) AS n FROM tasks GROUP BY 1") == {
        "1": 20, "2": 13}
    assert pairs(ws, "SELECT variant AS k, count(*) FILTER (completed) AS n FROM tasks WHERE task='3' GROUP BY 1") == {
        "1": 4, "2": 4}


# -- CLI -----------------------------------------------------------------------------------------------

BITEXT = "support_tickets/bitext_intent_detection/Bitext_Sample_Customer_Service_{}_Dataset.csv"


# Every file of issue 3, point 5, through `cxlens import` (preset detected): (kind, files, preset, source rows,
# stored rows, distinct counts). Source rows and distinct counts are the issue's / golden-figures.md's counts;
# stored rows follow the data model (one answer per row: a verbatim row is an nps and a text answer).
EVERY_FILE = [
    ("responses", ["surveys/nps_verbatims_textsummary/text_data_verbatim.csv"], "nps_verbatims", 2385, 4770,
     {"response_id": 2385}),
    ("responses", [FFT], "nhs_fft", 7908, 11866, {"response_id": 4466}),
    ("tickets", [f"{CFPB}/cfpb_complaints_2023-04_sample.csv"], "cfpb", 3999, 3999, None),
    ("tickets", [f"{CFPB}/cfpb_complaints_2016-2020_sample.csv"], "cfpb", 268, 268, None),
    ("tickets", [BITEXT.format(s) for s in ("Training", "Validation", "Testing")], "bitext", 8100, 8100, None),
    ("reviews", [f"{MAALEJ}/{n}.json" for n in ("Bug", "Feature", "Rating", "UserExperience")], "maalej", 3734,
     3734, None),
    ("reviews", [f"{MAALEJ}/maalej_reviews_converted.csv"], "maalej", 3734, 3734, None),
    ("events", ["clickstream/otto_sample/otto_train_sample.jsonl"], "otto", 20, 862, None),
    ("sessions", [UCI], "uci_shoppers", 12330, 12330, {"session_id": 12330}),
    ("transactions", [f"{CDNOW}/CDNOW_master.txt"], "cdnow_master", 69659, 69659, {"distinct_id": 23570}),
    ("transactions", [f"{CDNOW}/CDNOW_sample.txt"], "cdnow_sample", 6919, 6919, {"distinct_id": 2357}),
    ("responses", ["usability/vr_queue_sus/sus.csv"], "sus_wide", 30, 300, {"response_id": 30}),
    ("tasks", ["usability/openshift_sum_benchmark/final-combined-data.csv"], "task_table", 132, 132,
     {"participant": 33}),
]


@pytest.mark.parametrize(("kind", "paths", "preset", "read", "stored", "distinct"), EVERY_FILE,
                         ids=[f"{e[2]}-{Path(e[1][0]).name}" for e in EVERY_FILE])
def test_every_listed_file_through_the_cli(tmp_path: Path, shared_data: Path, kind: str, paths: list[str],
                                           preset: str, read: int, stored: int,
                                           distinct: dict[str, int] | None) -> None:
    from typer.testing import CliRunner

    from cxlens.cli.main import app

    db = tmp_path / "cx.duckdb"
    runner = CliRunner()
    r = runner.invoke(app, ["--db", str(db), "import", kind, *[str(shared_data / p) for p in paths], "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["preset"] == preset and report["rows_read"] == read and report["rows_rejected"] == 0
    if distinct is not None:
        assert {k: report["distinct"][k] for k in distinct} == distinct
    info = json.loads(runner.invoke(app, ["--db", str(db), "info", "--json"]).stdout)
    assert info[kind] == stored
