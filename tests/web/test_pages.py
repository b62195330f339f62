"""Dashboard pages in-process: HTML and JSON twins on the demo data, filters, login cookie, the page registry
(a new page plugs into the navigation), the self-contained report export and `cxlens report`."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxlens import Workspace
from cxlens.api import Settings, create_app
from cxlens.web import PAGES, register_page
from cxlens.web.report import render_report


@pytest.fixture(scope="module")
def app_client(demo_db: Path) -> Iterator[tuple[TestClient, str]]:
    ws = Workspace(demo_db, read_only=True)
    app = create_app(Settings(auth="keys"), workspace=ws)
    with Workspace() as keyws:  # read-only demo: keep the key in a separate in-memory ring
        from cxlens.api.keys import KeyRing

        ring = KeyRing(keyws.store)
        token, _ = ring.create("read")
        app.state.keys = ring
        with TestClient(app, raise_server_exceptions=False) as c:
            yield c, token
    ws.close()


def test_every_page_and_its_json_twin(app_client: tuple[TestClient, str]) -> None:
    c, token = app_client
    h = {"X-Api-Key": token}
    for slug in PAGES:
        data = c.get(f"/{slug}.json", headers=h).json()
        assert data["page"] == slug and data["blocks"], slug
        assert c.get(f"/{slug}?format=json", headers=h).json()["blocks"] == data["blocks"]
        html = c.get(f"/{slug}", headers=h)
        assert html.status_code == 200 and f"<h1>{PAGES[slug].title}</h1>" in html.text
        for p in PAGES.values():  # navigation comes from the registry
            assert f'href="/{p.slug}"' in html.text


def test_overview_scorecard_on_the_demo_data(app_client: tuple[TestClient, str]) -> None:
    c, token = app_client
    data = c.get("/overview.json", headers={"X-Api-Key": token}).json()
    tiles = {t["label"]: t for b in data["blocks"] if b["type"] == "tiles" for t in b["tiles"]}
    # the SUS tile is the engine's figure for the bundled VR-queue SUS sample (README: 71.7, CI 66.0-77.3)
    assert tiles["SUS"]["text"] == "71.7" and tiles["SUS"]["interval_text"] == "66.0 … 77.3"
    assert tiles["Tickets"]["value"] == 268 and tiles["Reviews"]["value"] == 3734
    assert tiles["NPS"]["value"] is None  # the demo has no NPS answers: "no data", not a made-up number
    # the rating tile is the main rating question (NHS FFT; its last month, 2022-09: mean 1.53 over n = 219),
    # not a mean over FFT and the ten SUS items, which share no scale direction
    fft = tiles["Rating (fft)"]
    assert fft["period"] == "2022-09-01" and fft["n"] == 219 and fft["value"] == pytest.approx(1.53, abs=0.005)
    surveys = c.get("/surveys.json", headers={"X-Api-Key": token}).json()
    table = next(b for b in surveys["blocks"] if b["title"] == "Rating by survey and question")
    assert table["columns"][:2] == ["survey", "question"]


def test_filters_reach_the_queries(app_client: tuple[TestClient, str]) -> None:
    c, token = app_client
    h = {"X-Api-Key": token}
    full = c.get("/surveys.json", headers=h).json()
    cut = c.get("/surveys.json?from=2022-01-01&to=2022-03-31&segment=trust=NEAS&by=trust", headers=h).json()
    band = next(b for b in cut["blocks"] if b["type"] == "chart" and b["title"].startswith("Rating"))
    assert band["chart"]["x"] == ["2022-01-01", "2022-02-01", "2022-03-01"]
    assert [s["name"] for s in band["chart"]["series"]] == ["NEAS"]
    assert (band["chart"]["y_min"], band["chart"]["y_max"]) == (1, 5)  # the FFT scale bounds the axis
    q = band["query"]
    assert q["date_range"]["from"].startswith("2022-01-01") and q["filters"][0]["value"] == "NEAS"
    assert cut["filters"] == {"from": "2022-01-01", "to": "2022-03-31", "segment": "trust=NEAS", "by": "trust"}
    assert full["blocks"] != cut["blocks"]


def test_login_sets_a_cookie_and_pages_redirect_without_it(app_client: tuple[TestClient, str]) -> None:
    c, token = app_client
    c.cookies.clear()
    r = c.get("/overview", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert c.post("/login", data={"key": "wrong"}, follow_redirects=False).status_code == 401
    r = c.post("/login", data={"key": token, "next": "/voice"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/voice"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/voice").status_code == 200
    c.cookies.clear()


def test_a_new_page_plugs_into_the_navigation(app_client: tuple[TestClient, str]) -> None:
    c, token = app_client

    @register_page("journeys", "Journey map", order=70)
    def journeys(ctx):  # type: ignore[no-untyped-def]
        r = ctx.query({"kind": "count", "table": "events", "by": ["event"]})
        return {"blocks": [{"type": "table", "title": "steps", "columns": ["event", "count"],
                            "rows": [[x["event"], x["count"]] for x in r["rows"]]}]}

    try:
        html = c.get("/overview", headers={"X-Api-Key": token}).text
        assert re.search(r'href="/journeys"[^>]*>Journey map</a>', html)
        assert c.get("/journeys.json", headers={"X-Api-Key": token}).json()["blocks"][0]["rows"][0][0] == "clicks"
    finally:
        del PAGES["journeys"]


def test_report_is_self_contained(app_client: tuple[TestClient, str]) -> None:
    c, _ = app_client
    html = render_report(c.app)
    assert not re.search(r'<script[^>]+src=|<link[^>]+stylesheet', html)  # nothing to fetch
    assert "echarts" in html and html.count('class="page-data"') == len(PAGES)
    for p in PAGES.values():
        assert f'id="page-{p.slug}"' in html


@pytest.mark.slow
def test_cli_report(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "cxlens", "--db", str(demo_db), "report", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1_000_000 and "<h1>Usability</h1>" in out.read_text(encoding="utf-8")


def test_widget_js_is_served_and_dependency_free(app_client: tuple[TestClient, str]) -> None:
    c, _ = app_client
    r = c.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert len(r.content) < 20_000 and "import " not in r.text and "require(" not in r.text
    assert "/api/responses" in r.text and "dismissed" in r.text


def test_scripts_are_ascii_so_any_host_page_encoding_works(app_client: tuple[TestClient, str]) -> None:
    # a host page without <meta charset> decodes scripts as windows-1252; non-ASCII would turn into mojibake
    c, _ = app_client
    for url in ("/widget.js", "/static/dashboard.js"):
        assert c.get(url).content.isascii(), url


def test_page_date_filter_includes_the_whole_last_day() -> None:
    """?to=2024-01-31 means up to the end of that day, for instant ranges as for day ranges; answers at noon
    of the last day count (they did not before), and the score rollup still answers (whole days)."""
    from datetime import datetime

    from cxlens.web.registry import PageContext

    with Workspace() as ws:
        ws.add("responses", [{"survey": "s", "question": "nps", "question_type": "nps", "score": 10,
                              "timestamp": f"2024-01-{d:02d}T12:00:00Z"} for d in (1, 15, 31)])
        ctx = PageContext(run=ws.query, date_from=datetime(2024, 1, 15), date_to=datetime(2024, 1, 31))
        res = ws.query(ctx.scoped({"kind": "nps"}))
        assert res["rows"][0]["n"] == 2 and res["source"] == "rollup"
        ctx = PageContext(run=ws.query, date_to=datetime(2024, 1, 31, 11, 0))  # an instant stays an instant
        assert ws.query(ctx.scoped({"kind": "nps"}))["rows"][0]["n"] == 2


def test_behaviour_shows_session_conversion_with_its_interval(app_client: tuple[TestClient, str]) -> None:
    """UCI Online Shoppers Purchasing Intention (Sakar et al. 2019; golden-figures.md, clickstream): 1,908 of
    12,330 sessions end in revenue, 15.47%; by visitor type 10,551 returning, 1,694 new and 85 other sessions."""
    c, token = app_client
    h = {"X-Api-Key": token}
    [b] = [b for b in c.get("/behaviour.json", headers=h).json()["blocks"] if b["title"].startswith("Session conv")]
    [s] = b["chart"]["series"]
    assert b["chart"]["x"] == ["all sessions"] and s["data"][0] == pytest.approx(100 * 1908 / 12330)
    assert s["low"][0] < s["data"][0] < s["high"][0] and "12,330 sessions" in b["note"]
    [b] = [b for b in c.get("/behaviour.json?by=visitor_type", headers=h).json()["blocks"]
           if b["title"].startswith("Session conv")]
    assert b["chart"]["x"] == ["Returning_Visitor", "New_Visitor", "Other"]
    assert b["title"].endswith("by visitor_type")


def test_a_read_only_workspace_refuses_ingest_with_a_clear_error(app_client: tuple[TestClient, str]) -> None:
    c, _ = app_client
    ring = c.app.state.keys
    token, _ = ring.create("ingest")
    r = c.post("/api/events", json=[{"distinct_id": "u", "event": "e", "timestamp": "2024-05-01T00:00:00Z"}],
               headers={"X-Api-Key": token})
    assert r.status_code == 400 and "read-only" in r.json()["error"]["message"]
