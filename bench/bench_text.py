"""Benchmark: sentiment and themes for N open-text comments (default 100,000) on this machine.

    python bench/bench_text.py [--rows 100000] [--embed-rows N] [--stages vader,tfidf,embedding,nmf,query]

The comments are real: the NHS FFT v6 comments and the textsummary NPS verbatims from ../shared/data (or
the FFT copy bundled with cxlens), replicated in order to N rows. Each stage runs in its own process, so
its peak memory (ru_maxrss) is its own; "rss +" is the peak above the process after loading the texts.

Stages: VADER compound on every row; the TF-IDF sentiment head; MiniLM embeddings of ``--embed-rows`` rows
(each distinct text once, as the product does); NMF themes (10) with summary; and the query path on
a workspace (import, ``sentiment`` query that scores each distinct text once and stores the scores,
``themes`` query with VADER sentiment from the stored scores).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _texts(rows: int) -> list[str]:
    import pandas as pd

    from cxlens.text._data import read_fft, shared_paths

    p = shared_paths(SHARED)
    fft, _ = read_fft(p["fft"] if p["fft"].exists() else None)
    parts = [fft["text"]]
    if p["textsummary"].exists():
        v = pd.read_csv(p["textsummary"], dtype=str, keep_default_na=False)
        col = next(c for c in v.columns if "VERBATIM" in c.upper() or "COMMENT" in c.upper() or "TEXT" in c.upper())
        parts.append(v[col][v[col].str.strip() != ""])
    base = pd.concat(parts, ignore_index=True).tolist()
    reps = -(-rows // len(base))
    return (base * reps)[:rows]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _stage(name: str, rows: int, embed_rows: int, q: mp.Queue) -> None:
    texts = _texts(rows)
    import numpy as np  # noqa: F401

    base = _rss_mb()
    t0 = time.perf_counter()
    note = ""
    if name == "vader":
        from cxlens.text import sentiment

        sentiment(texts, "vader")
        n = len(texts)
    elif name == "tfidf":
        from cxlens.text import sentiment

        sentiment(texts, "tfidf")
        n = len(texts)
    elif name == "embedding":
        from cxlens.text.features import embed

        sub = texts[:embed_rows]
        embed(sub[:10])  # model load, not timed below
        base = _rss_mb()
        t0 = time.perf_counter()
        embed(sub)
        n = len(sub)
        note = f"{len(set(sub)):,} distinct texts embedded (each once); model load excluded"
    elif name == "nmf":
        from cxlens.text.themes import discover_themes, theme_summary

        m = discover_themes(texts, 10)
        theme_summary(m, texts)
        n = len(texts)
        note = f"10 themes, {m.info['n_terms']:,} terms"
    elif name == "query":
        import pyarrow as pa

        import cxlens

        ws = cxlens.Workspace()
        k = len(texts)
        ws.add("responses", pa.table({
            "survey": pa.repeat(pa.scalar("fft"), k), "question": pa.repeat(pa.scalar("why"), k),
            "question_type": pa.repeat(pa.scalar("text"), k), "status": pa.repeat(pa.scalar("answered"), k),
            "response_id": pa.array([f"r{i}" for i in range(k)]), "text": pa.array(texts),
            "timestamp": pa.array(np_dates(k)),
        }))
        t1 = time.perf_counter()
        ws.query({"kind": "sentiment", "source": "responses", "period": "month"})
        t2 = time.perf_counter()
        ws.query({"kind": "themes", "source": "responses", "n_themes": 10, "period": "month"})
        t3 = time.perf_counter()
        n = k
        note = (f"import {t1 - t0:.1f} s, sentiment query {t2 - t1:.1f} s "
                f"({len(set(texts)):,} distinct texts scored), themes query {t3 - t2:.1f} s")
    else:
        raise SystemExit(f"unknown stage {name}")
    dt = time.perf_counter() - t0
    q.put((name, n, dt, _rss_mb(), _rss_mb() - base, note))


def np_dates(k: int) -> list:
    import numpy as np

    start = np.datetime64("2021-04-01T00:00:00")
    return list((start + (np.arange(k) * (540 * 86400 // max(k, 1))).astype("timedelta64[s]")).astype(object))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--embed-rows", type=int, default=None, help="rows to embed (default: --rows)")
    ap.add_argument("--stages", default="vader,tfidf,embedding,nmf,query")
    a = ap.parse_args()
    embed_rows = a.embed_rows or a.rows
    import os

    print(f"# bench_text: {a.rows:,} comments; {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"{platform.machine()}")
    print(f"{'stage':<10} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'rss + MB':>8}  note")
    ctx = mp.get_context("spawn")
    for name in a.stages.split(","):
        q: mp.Queue = ctx.Queue()
        p = ctx.Process(target=_stage, args=(name, a.rows, embed_rows, q))
        p.start()
        p.join()
        if p.exitcode != 0:
            print(f"{name:<10} failed (exit {p.exitcode})")
            continue
        stage, n, dt, peak, plus, note = q.get()
        print(f"{stage:<10} {n:>9,} {dt:>8.1f} {n / dt:>9,.0f} {peak:>8,.0f} {plus:>8,.0f}  {note}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
