"""Benchmark: support-log mining and key drivers at scale (synthetic, seeded).

Not a test. Builds N synthetic tickets (products, issues, channels, 180 days, templated complaints with
noise words so that recurring clusters exist) and a survey of M submissions with 8 rated attributes, then
times the ``tickets`` query sections and the ``drivers`` query (both decompositions, 1,000 bootstrap
resamples) and reports peak memory (max RSS).

    python bench/bench_voice.py                       # 100k tickets, 20k survey submissions
    python bench/bench_voice.py --tickets 1e4 --survey 2e3
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import cxlens

TEMPLATES = [
    "the app crashes when I open the payment screen",
    "I was charged twice for the same order and no refund arrived",
    "password reset email never arrives so I cannot log in",
    "delivery is late again and tracking shows no update",
    "the invoice shows the wrong amount and support does not answer",
]
NOISE = [f"w{i}" for i in range(5000)]


def make_tickets(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    ts = t0 + rng.integers(0, 180 * 86_400 * 1_000_000, n)
    tmpl = pa.array(TEMPLATES).take(pa.array(rng.integers(0, len(TEMPLATES), n)))
    noise = [pa.array(NOISE).take(pa.array(rng.integers(0, len(NOISE), n))) for _ in range(6)]
    templated = rng.random(n) < 0.3  # 30% recurring complaints, 70% unrelated text
    free = pc.binary_join_element_wise(*noise, " ")
    text = pc.if_else(pa.array(templated), pc.binary_join_element_wise(tmpl, noise[0], " "), free)
    return pa.table({
        "ticket_id": pa.array(np.arange(n).astype(str)),
        "opened_at": pa.array(ts, pa.timestamp("us")),
        "product": pa.array([f"product_{i}" for i in range(12)]).take(pa.array(rng.zipf(1.6, n) % 12)),
        "category": pa.array([f"issue_{i}" for i in range(60)]).take(pa.array(rng.integers(0, 60, n))),
        "channel": pa.array(["web", "phone", "email", "chat"]).take(pa.array(rng.integers(0, 4, n))),
        "timely": pa.array(rng.random(n) < 0.97),
        "closed_at": pa.array(ts + (rng.gamma(2, 12, n) * 3600e6).astype(np.int64), pa.timestamp("us")),
        "text": text,
    })


def make_survey(m: int, seed: int = 8) -> pa.Table:
    rng = np.random.default_rng(seed)
    attrs = rng.integers(1, 6, (m, 8)).astype(float)
    y = np.clip(np.round(attrs @ np.linspace(0.05, 0.6, 8) - 4 + rng.normal(0, 1, m)), 0, 10)
    rid = np.repeat(np.arange(m).astype(str), 9)
    q = np.tile(np.array(["nps", *[f"attr_{i}" for i in range(8)]]), m)
    score = np.column_stack([y, attrs]).ravel()
    return pa.table({"survey": pa.array(np.full(m * 9, "rel")), "response_id": pa.array(rid),
                     "question": pa.array(q), "question_type": pa.array(np.where(q == "nps", "nps", "rating")),
                     "score": pa.array(score), "scale_min": pa.array(np.where(q == "nps", 0, 1)),
                     "scale_max": pa.array(np.where(q == "nps", 10, 5))})


def timed(label: str, fn, results: dict) -> object:
    t = time.perf_counter()
    out = fn()
    results[label] = round(time.perf_counter() - t, 3)
    print(f"{label:<40} {results[label]:8.3f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=float, default=100_000)
    ap.add_argument("--survey", type=float, default=20_000)
    args = ap.parse_args()
    n, m = int(args.tickets), int(args.survey)
    res: dict[str, object] = {"tickets": n, "survey_submissions": m}
    ws = cxlens.Workspace()
    timed("add tickets", lambda: ws.add("tickets", make_tickets(n)), res)
    timed("volume + timely + resolution", lambda: ws.query(
        {"kind": "tickets", "by": ["product"], "include": ["volume", "timely", "resolution"]}), res)
    timed("trend + spikes (week x product)", lambda: ws.query(
        {"kind": "tickets", "by": ["product"], "period": "week", "include": ["trend"]}), res)
    cl = timed("recurring clusters (all texts)", lambda: ws.query(
        {"kind": "tickets", "include": ["clusters"], "text_limit": n, "cluster_threshold": 0.6}), res)
    c = cl["clusters"]  # type: ignore[index]
    res["clusters_found"] = c["clusters"]
    res["clustered_texts"] = c["clustered_texts"]
    res["largest_clusters"] = [r["count"] for r in c["rows"][:5]]
    timed("add survey", lambda: ws.add("responses", make_survey(m)), res)
    d = timed("drivers (8 attributes, 1,000 bootstraps)", lambda: ws.query(
        {"kind": "drivers", "survey": "rel", "outcome": "nps", "n_boot": 1000}), res)
    res["drivers_r2"] = round(d["r2"], 4)  # type: ignore[index]
    res["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
