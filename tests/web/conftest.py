"""Fixtures for the web tests: a real uvicorn server on the demo data, a second origin for the widget page,
and Playwright pointed at Debian's Chromium (never `playwright install`)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_chromium() -> None:
    """Skip outside CI when the browser is missing; in CI (CI=true) a missing browser is a failure."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing in CI: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); browser tests skipped outside CI")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    need_chromium()  # before Playwright tries to launch anything
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@dataclass
class Server:
    url: str
    db: Path
    read_key: str
    ingest_key: str
    proc: subprocess.Popen


def start_server(db: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """``uvicorn --factory cxlens.api.app:create_app`` on 127.0.0.1:port; waits until /api/health answers."""
    full = {**os.environ, "CXLENS_DB": str(db), "PYTHONUNBUFFERED": "1", **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "cxlens.api.app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + proc.stdout.read().decode(errors="replace"))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cxlens import Workspace
    from cxlens.datasets import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Workspace(path) as ws:
        load_demo(ws)
    return path


@pytest.fixture(scope="session")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    need_chromium()
    from cxlens import Workspace
    from cxlens.api.keys import KeyRing
    from cxlens.api.surveys import SurveyDefinition, SurveyStore

    db = tmp_path_factory.mktemp("srv") / "web.duckdb"
    shutil.copy(demo_db, db)
    with Workspace(db) as ws:
        ring = KeyRing(ws.store)
        read, _ = ring.create("read", "browser test")
        ingest, _ = ring.create("ingest", "widget test")
        SurveyStore(ws.store).create(SurveyDefinition(
            id="nps-web", question="How likely are you to recommend cxlens to a friend or colleague?",
            follow_up="What is the main reason for your score?", targeting={"url_contains": "/checkout"},
            once_per_days=90))
        SurveyStore(ws.store).create(SurveyDefinition(
            id="ces-signup", question_type="ces", question="How easy was it to create your account?",
            targeting={"event": "signup_done"}, once_per_days=30))
    port, widget_port = free_port(), free_port()
    proc = start_server(db, port, {"CXLENS_CORS_ORIGINS": f"http://127.0.0.1:{widget_port}", "CXLENS_FLUSH_MS": "5"})
    srv = Server(f"http://127.0.0.1:{port}", db, read, ingest, proc)
    srv.widget_port = widget_port  # type: ignore[attr-defined]
    yield srv
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def widget_site(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A customer's site on another origin (port) embedding the widget snippet."""
    root = tmp_path_factory.mktemp("site")
    (root / "checkout.html").write_text(f"""<!doctype html><html><head><title>Shop checkout</title>
<link rel="icon" href="data:,"></head>
<body style="font-family:sans-serif"><h1>Checkout</h1><p>Thanks for your order.</p>
<script>window.cxlensQueue = [["identify", "customer-42"]];</script>
<script src="{server.url}/widget.js" data-key="{server.ingest_key}" data-survey="nps-web" async></script>
</body></html>""", encoding="utf-8")
    (root / "signup.html").write_text(f"""<!doctype html><html><head><title>Sign up</title>
<link rel="icon" href="data:,"></head>
<body style="font-family:sans-serif"><h1>Create your account</h1>
<script>window.cxlensQueue = [["identify", "customer-43"]];</script>
<script src="{server.url}/widget.js" data-key="{server.ingest_key}" data-survey="ces-signup" async></script>
</body></html>""", encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(handler.func):  # type: ignore[misc,name-defined]
        def log_message(self, *a: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", server.widget_port),  # type: ignore[attr-defined]
                                            functools.partial(Quiet, directory=str(root)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.widget_port}"  # type: ignore[attr-defined]
    httpd.shutdown()
