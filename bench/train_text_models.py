"""Retrain the text heads bundled with cxlens (src/cxlens/text/heads) from the bundled labelled sets.

    python bench/train_text_models.py [--out DIR] [--no-embeddings]

Deterministic: the same library versions reproduce the same weights. See cxlens.text.train.
"""

from __future__ import annotations

import argparse
import time

from cxlens.text.train import train_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output folder (default: the package's heads folder)")
    ap.add_argument("--no-embeddings", action="store_true", help="train only the TF-IDF heads")
    a = ap.parse_args()
    t0 = time.perf_counter()
    paths = train_all(a.out, embeddings=False if a.no_embeddings else None)
    print(f"wrote {len(paths)} heads in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
