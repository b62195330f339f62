"""Rendering of ``cxlens eval text`` results (rich tables; the figures come from cxlens.text.evaluate)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from cxlens.cli.main import out

__all__ = ["PUBLISHED", "render_eval"]

PUBLISHED = {
    "vader_tweets": "published r = 0.881 (Hutto & Gilbert, ICWSM 2014)",
    "uci": "published BoW + LR: yelp 0.796, amazon 0.796, imdb 0.749 (Real Python, N. Janakiev)",
    "fft_topics": "published TF-IDF + SVC: micro F1 0.71, macro F1 0.64, exact 0.463 (pxtextmining, larger "
                  "non-public training set)",
    "fft_sentiment": "published DistilBERT: accuracy 0.70, macro F1 0.65 (pxtextmining, larger training set)",
    "maalej": "published best SVM TF-IDF: accuracy 0.69, mean F1 0.35 (app_review_analysis BFRU)",
}
"""Reference figures shown next to ours, with their sources (display only: nothing is compared to them here)."""


def _skipped(name: str, block: dict[str, Any]) -> bool:
    if block.get("status") == "skipped":
        out.print(f"[yellow]{name}: skipped[/] ({block['reason']})", highlight=False)
        return True
    return False


def _f(v: float | None, d: int = 3) -> str:
    return "–" if v is None else f"{v:.{d}f}"


def render_eval(res: dict[str, Any]) -> None:
    """Print every block of an :func:`cxlens.text.evaluate` result."""
    v = res.get("vader")
    if v and all(v[k].get("status") == "skipped" for k in ("tweets", "amazon_snippets")):
        _skipped("VADER", {"status": "skipped", "reason": v["tweets"]["reason"]})
    elif v and not _skipped("VADER", v):
        t = Table(title="VADER compound vs mean human rating (Pearson r)")
        for c in ("set", "n", "r"):
            t.add_column(c, justify="left" if c == "set" else "right")
        for name in ("tweets", "amazon_snippets"):
            b = v[name]
            if b.get("status") == "ok":
                t.add_row(name, f"{b['n']:,}", _f(b["pearson_r"]))
            else:
                t.add_row(name, "–", f"skipped: {b['reason']}")
        out.print(t)
        out.print(f"[dim]{PUBLISHED['vader_tweets']}[/]")
    u = res.get("uci")
    if u and not _skipped("UCI sentences", u):
        t = Table(title="UCI sentiment sentences: accuracy on the same 25% test split (random_state=1000)")
        for c in ("source", "reading", "n", "BoW + LR", "MiniLM + LR", "gain"):
            t.add_column(c, justify="left" if c in ("source", "reading") else "right")
        for src, r in u["sources"].items():
            for reading, b in r.items():
                emb = b.get("embedding_logreg")
                t.add_row(src, reading.replace("_", " "), f"{b['n']:,}", _f(b["bow_logreg"]), _f(emb),
                          "–" if emb is None else f"{emb - b['bow_logreg']:+.3f}")
        out.print(t)
        out.print(f"[dim]{PUBLISHED['uci']}[/]")
        if "note" in u:
            out.print(f"[yellow]{u['note']}[/]")
    ft = res.get("fft_topics")
    if ft and not _skipped("NHS FFT topics", ft):
        t = Table(title=f"NHS FFT v6 topics, multi-label, held-out 25% ({ft['n_test']:,} comments; "
                        f"trained on {ft['n_train']:,})")
        for c in ("protocol", "features", "micro F1", "macro F1", "exact match"):
            t.add_column(c, justify="left" if c in ("protocol", "features") else "right")
        t.add_row("comments only, split by text", ft["features"], _f(ft["micro_f1"]), _f(ft["macro_f1"]),
                  _f(ft["exact_match"]))
        if (old := ft.get("rows_with_placeholders")):
            t.add_row(f"every row incl. {ft['n_placeholders']:,} 'Did not answer', random split", ft["features"],
                      _f(old["micro_f1"]), _f(old["macro_f1"]), _f(old["exact_match"]))
        out.print(t)
        out.print(f"[dim]{PUBLISHED['fft_topics']}[/]")
    fs = res.get("fft_sentiment")
    if fs and not _skipped("NHS FFT sentiment", fs):
        t = Table(title=f"NHS FFT comment sentiment vs human label, held-out 25% ({fs['n_test']:,} comments)")
        for c in ("model", "accuracy (1-5)", "macro F1 (1-5)", "accuracy (3)", "macro F1 (3)"):
            t.add_column(c, justify="left" if c == "model" else "right")
        for name, b in fs["models"].items():
            t.add_row(name, _f(b["accuracy"]), _f(b["macro_f1"]), _f(b["accuracy_3class"]), _f(b["macro_f1_3class"]))
        out.print(t)
        out.print(f"[dim]{PUBLISHED['fft_sentiment']}[/]")
    m = res.get("maalej")
    if m and not _skipped("Maalej app reviews", m):
        t = Table(title=f"Maalej app reviews, 4 classes, held-out 25% grouped by comment ({m['n_test']:,})")
        for c in ("model", "accuracy", "macro F1"):
            t.add_column(c, justify="left" if c == "model" else "right")
        for name, b in m["models"].items():
            t.add_row(name, _f(b["accuracy"]), _f(b["macro_f1"]))
        out.print(t)
        out.print(f"[dim]{PUBLISHED['maalej']}[/]")
    b = res.get("bitext")
    if b and not _skipped("Bitext intents", b):
        t = Table(title=f"Bitext intents ({b['n_intents']} intents): train {b['n_train']:,}, test {b['n_test']:,}")
        for c in ("model", "intent accuracy", "category accuracy"):
            t.add_column(c, justify="left" if c == "model" else "right")
        for name, r in b["models"].items():
            t.add_row(name, _f(r["intent_accuracy"]), _f(r["category_accuracy"]))
        out.print(t)
    out.print(f"[dim]{res.get('seconds', 0):.0f} s; data: {res.get('shared_dir')}[/]")
