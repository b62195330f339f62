"""Query kinds sentiment and themes on inline workspace data; scores stored in text_scores (migration 2)."""

from __future__ import annotations

import pytest

from cxlens.errors import CxlensError, QueryError
from cxlens.text.storage import list_taxonomies, load_taxonomy, save_taxonomy, text_hash
from cxlens.text.taxonomy import Taxonomy

COMMENTS = {
    "r1": (0, "The courier lost my parcel and support never answered"),
    "r2": (2, "Terrible delivery, parcel late again"),
    "r3": (10, "Friendly staff, great service"),
    "r4": (9, "Great service and friendly staff"),
    "r5": (5, "Parcel arrived broken, courier rude"),
    "r6": (10, "Great app, friendly staff"),
}


def _load(ws) -> None:
    rows = []
    for i, (rid, (score, text)) in enumerate(COMMENTS.items()):
        ts = f"2024-0{1 + i % 2}-1{i}T10:00:00Z"
        rows.append({"survey": "s", "question": "nps", "question_type": "nps", "response_id": rid,
                     "score": score, "status": "answered", "timestamp": ts})
        rows.append({"survey": "s", "question": "why", "question_type": "text", "response_id": rid,
                     "text": text, "status": "answered", "timestamp": ts, "touchpoint": "web" if i % 2 else "app"})
    rows.append({"survey": "s", "question": "why", "question_type": "text", "response_id": "r7", "text": "  ",
                 "status": "answered"})
    ws.add("responses", rows)


def test_sentiment_query_groups_and_caches(ws) -> None:
    _load(ws)
    r = ws.query({"kind": "sentiment", "source": "responses", "by": ["touchpoint"], "period": "month",
                  "examples": 1})
    assert r["n"] == 6  # the blank text is left out
    assert sum(x["n"] for x in r["rows"]) == 6
    for x in r["rows"]:
        assert -1 <= x["mean_score"] <= 1
        assert x["positive"] + x["neutral"] + x["negative"] == x["n"]
        assert x["share_positive_ci"][0] <= x["share_positive"] <= x["share_positive_ci"][1]
    stored = ws.sql("SELECT count(*) AS n, min(method) AS m, min(source_table) AS s FROM text_scores").to_pylist()[0]
    assert stored == {"n": 6, "m": "vader", "s": "responses"}
    keys = set(ws.sql("SELECT row_key FROM text_scores").column(0).to_pylist())
    assert keys == {f"{rid}:why" for rid in COMMENTS}
    r2 = ws.query({"kind": "sentiment", "source": "responses", "by": ["touchpoint"], "period": "month"})
    assert ws.sql("SELECT count(*) FROM text_scores").column(0)[0].as_py() == 6  # cached, not scored again
    assert [x["mean_score"] for x in r2["rows"]] == pytest.approx([x["mean_score"] for x in r["rows"]])


def test_stored_hash_matches_python_md5(ws) -> None:
    import hashlib

    _load(ws)
    ws.query({"kind": "sentiment", "source": "responses"})
    text = COMMENTS["r3"][1]
    h = ws.sql("SELECT text_hash FROM text_scores WHERE row_key = 'r3:why'").column(0)[0].as_py()
    assert h == hashlib.md5(text.encode()).hexdigest() == text_hash(__import__("pyarrow").array([text]))[0].as_py()


def test_sentiment_on_reviews_with_filters(ws) -> None:
    ws.add("reviews", [{"review_id": "a", "rating": 1, "text": "Awful, crashes", "app": "x"},
                       {"review_id": "b", "rating": 5, "text": "Love it, wonderful", "app": "x"},
                       {"review_id": "c", "rating": 5, "text": "Great", "app": "y"}])
    r = ws.query({"kind": "sentiment", "source": "reviews", "method": "tfidf",
                  "filters": [{"key": "app", "value": "x"}], "by": ["rating"]})
    assert [(x["rating"], x["n"]) for x in r["rows"]] == [(1, 1), (5, 1)]
    assert r["rows"][0]["mean_score"] < 0 < r["rows"][1]["mean_score"]
    assert r["version"] == "sentiment_tfidf-1"


def test_themes_query_nps_comparison_and_filter(ws) -> None:
    _load(ws)
    r = ws.query({"kind": "themes", "source": "responses", "n_themes": 2, "compare": "nps", "period": "month"})
    assert r["method"] == "nmf" and r["n"] == 6
    assert sum(t["size"] for t in r["themes"]) + r["unassigned"] == 6
    c = r["comparison"]
    assert c["compare"] == ["detractor", "promoter"] and c["groups"] == {"detractor": 3, "promoter": 3}
    assert all(0 <= x["p_value"] <= x["p_value_adjusted"] <= 1 for x in c["rows"])
    one = r["themes"][0]["theme"]
    f = ws.query({"kind": "themes", "source": "responses", "n_themes": 2, "theme": [one]})
    assert [t["theme"] for t in f["themes"]] == [one]
    with pytest.raises(QueryError, match="unknown theme"):
        ws.query({"kind": "themes", "source": "responses", "n_themes": 2, "theme": ["nope"]})


def test_themes_with_stored_taxonomy(ws) -> None:
    _load(ws)
    tax = Taxonomy.from_dict({"name": "cx", "themes": [{"name": "delivery", "keywords": ["parcel", "courier"]},
                                                       {"name": "staff", "keywords": ["staff"]}]})
    assert save_taxonomy(ws.store, tax) == 2
    assert save_taxonomy(ws.store, tax) == 2  # replaced, not duplicated
    assert list_taxonomies(ws.store)[0]["themes"] == 2
    assert load_taxonomy(ws.store, "cx") == tax
    r = ws.query({"kind": "themes", "source": "responses", "taxonomy": "cx", "compare": "nps"})
    sizes = {t["theme"]: t["size"] for t in r["themes"]}
    assert sizes == {"delivery": 3, "staff": 3}
    rows = {x["label"]: x for x in r["comparison"]["rows"]}
    assert rows["delivery"]["shares"] == {"detractor": 1.0, "promoter": 0.0}
    with pytest.raises(CxlensError, match="no taxonomy named"):
        ws.query({"kind": "themes", "source": "responses", "taxonomy": "missing"})


def test_query_errors(ws) -> None:
    _load(ws)
    with pytest.raises(QueryError, match="source"):
        ws.query({"kind": "sentiment", "source": "events"})
    with pytest.raises(QueryError, match="responses"):
        ws.query({"kind": "sentiment", "source": "reviews", "question": "q"})
    with pytest.raises(QueryError, match="needs source 'responses'"):
        ws.query({"kind": "themes", "source": "reviews", "compare": "nps"})


def test_empty_selection(ws) -> None:
    r = ws.query({"kind": "sentiment", "source": "tickets"})
    assert r["n"] == 0 and r["rows"] == []
    with pytest.raises(QueryError, match="at least 2"):
        ws.query({"kind": "themes", "source": "tickets"})


def test_progress_hook_reports_scoring(ws) -> None:
    from cxlens.text.progress import progress_hook

    _load(ws)
    seen: list[tuple[str, int, int]] = []
    with progress_hook(lambda stage, done, total: seen.append((stage, done, total))):
        ws.query({"kind": "sentiment", "source": "responses"})
        ws.query({"kind": "sentiment", "source": "responses"})  # all cached: nothing to score
    assert seen[0][1:] == (0, 6) and seen[-1][1:] == (6, 6)
    assert all("scoring 6 texts" in s for s, _, _ in seen)
    with progress_hook(lambda stage, done, total: seen.append((stage, done, total))):
        ws.query({"kind": "themes", "source": "responses", "n_themes": 2, "sentiment_method": None})
    assert seen[-1] == ("finding 2 themes (nmf)", 1, 1)
